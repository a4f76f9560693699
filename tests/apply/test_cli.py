"""The command line's exit codes, against a uvicorn-served emulator over real HTTP: 0 applied
(or nothing to do), 1 error (bad playbook, unknown account, stale saved plan, no --yes off a
terminal), 3 blocked by policy, 4 partial. Runs that must change nothing are checked on the
server's request counters. And no API key (nor a proxy password) in the history or the report."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from orchestrator.cli.app import app
from tests.harness import PLAYBOOKS, Served, write_playbook
from tests.harness.stores import SyncStore

pytestmark = pytest.mark.uvicorn
runner = CliRunner()


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no stray orchestrator.yaml or .orchestrator/ is read or written


def cli(served: Served, *args: str, **env: str):
    return runner.invoke(app, list(args), env=served.env(**env))


def apply_args(tmp_path: Path, *paths: Path | str, extra: tuple[str, ...] = ()) -> list[str]:
    return ["apply", *map(str, paths), "--yes", "--state-db", str(tmp_path / "state.db"), *extra]


def test_exit_0_when_applied_and_verified_then_when_nothing_is_left_to_do(served, tmp_path):
    result = cli(served, *apply_args(tmp_path, PLAYBOOKS))
    assert result.exit_code == 0, result.output
    assert "applied and verified" in result.stdout
    result = cli(served, *apply_args(tmp_path, PLAYBOOKS))
    assert result.exit_code == 0, result.output
    assert "nothing to do: the installation matches the playbooks" in result.stdout
    result = cli(served, "plan", str(PLAYBOOKS), "--detailed-exitcode")
    assert result.exit_code == 0, result.output
    history = cli(served, "history", "--state-db", str(tmp_path / "state.db"))
    assert history.exit_code == 0 and "apply succeeded" in history.stdout


def test_exit_1_for_a_bad_playbook_and_nothing_is_sent(served, tmp_path):
    pb = write_playbook(tmp_path / "pb",
                        "version: 1\ngroups:\n  all:\n    all: true\nentries:\n"
                        "  - groups: all\n    reactions:\n      settings:\n        likes_speed: fast\n")
    result = cli(served, *apply_args(tmp_path, pb))
    assert result.exit_code == 1
    assert f"{pb}:9:" in result.stderr and "likes_speed" in result.stderr
    assert served.state.counters.counts == {}  # not even a read


def test_exit_1_for_an_unknown_account_and_nothing_is_written(served, tmp_path):
    pb = write_playbook(tmp_path / "pb", "version: 1\ngroups:\n  flagships:\n    accounts: [fashion_nvoa]\n"
                                         "entries:\n  - groups: flagships\n    reactions:\n      state: active\n")
    result = cli(served, *apply_args(tmp_path, pb))
    assert result.exit_code == 1, result.output
    assert "fashion_nvoa" in result.stderr and "does not exist" in result.stderr and "fashion_nova" in result.stderr
    assert served.writes() == []


def test_apply_refuses_without_yes_when_not_on_a_terminal(served, tmp_path):
    result = cli(served, "apply", str(PLAYBOOKS), "--state-db", str(tmp_path / "state.db"))
    assert result.exit_code == 1
    assert "not on a terminal: pass --yes" in result.stderr
    assert served.writes() == []


def test_exit_1_for_a_resume_with_nothing_to_resume(served, tmp_path):
    result = cli(served, *apply_args(tmp_path, PLAYBOOKS, extra=("--resume",)))
    assert result.exit_code == 1, result.output
    assert "there is no unfinished apply to resume" in result.stderr
    assert served.writes() == []


def test_exit_3_when_blocked_by_policy_and_nothing_is_written(served, tmp_path):
    pb = write_playbook(tmp_path / "pb", "version: 1\ngroups:\n  everyone:\n    all: true\n"
                                         "entries:\n  - groups: everyone\n    reactions:\n      state: paused\n")
    result = cli(served, *apply_args(tmp_path, pb))
    assert result.exit_code == 3, result.output
    assert "max_pauses" in result.stdout and "--allow pause:reactions" in result.stdout
    assert served.writes() == []
    # acknowledged for the group, the same run goes through
    result = cli(served, *apply_args(tmp_path, pb, extra=("--allow", "pause:everyone")))
    assert result.exit_code == 0, result.output


def test_exit_4_when_some_accounts_fail(served, tmp_path):
    # fashion_nova's live followers_max (300) makes the server refuse followers_min 500 (422)
    headers = {"Authorization": f"Bearer {served.keys['alice']}"}
    r = httpx.patch(f"{served.api}/reactions/schedules/1/settings", json={"followers_max": 300}, headers=headers)
    assert r.status_code == 200, r.text
    pb = write_playbook(tmp_path / "pb", "version: 1\ngroups:\n  fashion:\n    usernames: fashion_*\n"
                                         "entries:\n  - groups: fashion\n    reactions:\n      settings:\n"
                                         "        followers_min: 500\n")
    report = tmp_path / "report.json"
    result = cli(served, *apply_args(tmp_path, pb, extra=("--report", str(report))))
    assert result.exit_code == 4, result.output
    assert "failed fashion_nova" in result.stdout
    data = json.loads(report.read_text())
    assert data["exit_code"] == 4 and data["status"] == "partial"
    assert [(f["username"], f["operation"]) for f in data["failures"]] == [("fashion_nova", "update_settings")]
    assert data["operations"]["reactions"]["update_settings"] == {"done": 7, "failed": 1}


def test_exit_1_when_the_playbook_changed_since_the_saved_plan(served, tmp_path):
    pb = write_playbook(tmp_path / "pb", "version: 1\ngroups:\n  fashion:\n    usernames: fashion_*\n"
                                         "entries:\n  - groups: fashion\n    reactions:\n      settings:\n"
                                         "        likes_speed: 5\n")
    saved = tmp_path / "plan.json"
    result = cli(served, "plan", str(pb), "--out", str(saved))
    assert result.exit_code == 0, result.output
    pb.write_text(pb.read_text().replace("likes_speed: 5", "likes_speed: 4"))
    result = cli(served, *apply_args(tmp_path, pb, extra=("--plan", str(saved))))
    assert result.exit_code == 1, result.output
    assert "the playbooks changed since this plan was made" in result.stderr
    assert served.writes() == []


def test_no_api_key_or_proxy_password_in_the_history_or_the_report(served, tmp_path):
    password = "s3cr3t-Pa55"
    pb = write_playbook(tmp_path / "pb",
                        "version: 1\ngroups:\n  flagships:\n    accounts: [fashion_nova]\n"
                        "entries:\n  - groups: flagships\n    account:\n      proxy: {env: NOVA_PROXY}\n"
                        "    reactions:\n      settings:\n        likes_speed: 5\n")
    report = tmp_path / "report.json"
    result = cli(served, *apply_args(tmp_path, pb, extra=("--report", str(report))),
                 NOVA_PROXY=f"socks5://agent:{password}@203.0.113.9:1080")
    assert result.exit_code == 0, result.output
    proxy = httpx.get(f"{served.api}/accounts/1", headers={"Authorization": f"Bearer {served.keys['alice']}"})
    assert password in proxy.text  # it really was applied, so it really passed through the run

    key = served.keys["alice"]
    files = [report, *tmp_path.glob("state.db*")]
    assert len(files) >= 2
    for path in files:
        raw = path.read_bytes()
        assert key.encode() not in raw and key[4:].encode() not in raw, path
        assert password.encode() not in raw, path
    assert key not in result.output and password not in result.output
    history = SyncStore(tmp_path / "state.db", served.api)
    try:
        (run,) = history.runs()
        assert run.status == "succeeded"
        assert {op["name"] for op in history.operations(run.id)} == {"proxy_secret", "update_settings"}
    finally:
        history.close()
