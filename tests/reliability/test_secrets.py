"""Secrets never shown, whichever side they come from.

- a ``custom_proxy: {env: X}`` is resolved before diffing, shown masked, sent as the string;
- ``{file: ...}`` is confined to the playbook's directory unless allowed;
- a proxy carrying credentials that the server holds (set in the web panel) is masked as the
  "before" of a change in text, Markdown, JSON, saved plans and apply's output;
- canaries (the API key, a proxy password from the playbook's side, another from the server's)
  go through every command and error path at ``--log-level debug``: stdout, stderr, the saved
  plan, the report, the journal and the history hold none of them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from orchestrator import playbook
from orchestrator.apply.run import ApplyOptions, apply
from orchestrator.render import render_json, render_markdown, render_text
from orchestrator.planning.planner import build_plan
from tests.harness import Served, client_for, executor_for, failures_of, stored, write_playbook
from tests.conftest import world
from tests.harness.hostile import cli

CANARY_PASSWORD = "canary-pw-7f3e9a"  # ours: in the environment, behind {env: ...}
SERVER_PASSWORD = "server-pw-c4b1d2"  # theirs: set on the server, read back by plan
OUR_PROXY = f"http://ops:{CANARY_PASSWORD}@10.9.8.7:3128"
SERVER_PROXY = f"socks5://panel:{SERVER_PASSWORD}@10.1.1.1:1080"

CUSTOM_PROXY_PLAYBOOK = """\
version: 1
groups:
  one:
    accounts: [fashion_nova]
entries:
  - groups: one
    reactions:
      settings:
        custom_proxy: {env: CANARY_PROXY}
"""
ACCOUNT_PROXY_PLAYBOOK = """\
version: 1
groups:
  one:
    accounts: [fashion_nova]
entries:
  - groups: one
    account:
      proxy: 10.2.2.2:8080
"""


async def _set_server_proxy(emu, account_id: int = 1) -> None:
    async with emu.http("alice") as alice:
        r = await alice.post(f"/accounts/{account_id}/change-proxy", json={"proxy": SERVER_PROXY})
        assert r.status_code < 300, r.text
        r = await alice.patch(f"/reactions/schedules/{account_id}/settings", json={"custom_proxy": SERVER_PROXY})
        assert r.status_code < 300, r.text


async def test_an_env_reference_in_a_setting_is_resolved_masked_and_sent_as_text(tmp_path, monkeypatch):
    monkeypatch.setenv("CANARY_PROXY", OUR_PROXY)
    emu = world()
    book = playbook.load([str(write_playbook(tmp_path, CUSTOM_PROXY_PLAYBOOK))])
    async with client_for(emu) as client:
        planned = await build_plan(client, book)
        (c,) = planned.plan.changes
        assert (c.path, c.after) == ("settings.custom_proxy", "*** ({env: CANARY_PROXY})")
        for text in (render_text(planned.plan), render_markdown(planned.plan), render_json(planned.plan)):
            assert CANARY_PASSWORD not in text and "{env: CANARY_PROXY}" in text
        outcome = await apply(client, book, ApplyOptions(), executor=executor_for(client))
        assert outcome.exit_code == 0, failures_of(outcome)
        again = await build_plan(client, book)
    assert again.plan.empty
    async with emu.control() as control:
        (schedule,) = await stored(control, "reactions_schedules", account_id=1)
    assert schedule["settings"]["custom_proxy"] == OUR_PROXY  # the string, not {"env": ...}


async def test_credentials_the_server_holds_are_masked_in_every_rendering(tmp_path, monkeypatch):
    monkeypatch.setenv("CANARY_PROXY", OUR_PROXY)
    emu = world()
    await _set_server_proxy(emu)
    for text in (CUSTOM_PROXY_PLAYBOOK, ACCOUNT_PROXY_PLAYBOOK):
        book = playbook.load([str(write_playbook(tmp_path, text))])
        async with client_for(emu) as client:
            planned = await build_plan(client, book)
        assert planned.plan.changes, text
        for rendered in (render_text(planned.plan), render_markdown(planned.plan), render_json(planned.plan)):
            assert SERVER_PASSWORD not in rendered and "panel" not in rendered, rendered


@pytest.mark.parametrize("ref", ["/etc/hostname", "../outside.txt", "~/.ssh/id_rsa", "sub/../../outside.txt"])
def test_a_secret_file_outside_the_playbook_directory_is_refused(tmp_path, ref):
    text = CUSTOM_PROXY_PLAYBOOK.replace("{env: CANARY_PROXY}", f'{{file: "{ref}"}}')
    pb = write_playbook(tmp_path / "pb", text)
    problems = playbook.validate([str(pb)])
    assert problems and "outside the playbook's directory" in str(problems[0])


def test_a_symlink_out_of_the_playbook_directory_is_refused_when_read(tmp_path):
    from orchestrator.contract import SecretRef

    outside = tmp_path / "outside.txt"
    outside.write_text(OUR_PROXY)
    (tmp_path / "pb").mkdir()
    (tmp_path / "pb" / "link.txt").symlink_to(outside)
    with pytest.raises(LookupError, match="outside the playbook's directory"):
        SecretRef(file="link.txt").resolve(tmp_path / "pb", environ={})
    allowed = {"SHARINGTOOLS_SECRET_FILES_ANYWHERE": "1"}
    assert SecretRef(file="link.txt").resolve(tmp_path / "pb", environ=allowed) == OUR_PROXY


# -- canaries through the command line ---------------------------------------------------
def _leaks(text: str, canaries: list[str]) -> list[str]:
    return [c for c in canaries if c in text]


BOTH_PLAYBOOK = CUSTOM_PROXY_PLAYBOOK + """\
    account:
      proxy: 10.2.2.2:8080
"""


@pytest.mark.uvicorn
def test_canaries_never_appear_in_any_output_or_store(served: Served, tmp_path: Path):
    import httpx

    key = served.keys["alice"]
    canaries = [key, key[4:], CANARY_PASSWORD, SERVER_PASSWORD]
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=served.api, headers=headers) as http:  # the web panel sets a proxy with credentials
        assert http.post("/accounts/1/change-proxy", json={"proxy": SERVER_PROXY}).status_code < 300
        assert http.patch("/reactions/schedules/1/settings", json={"custom_proxy": SERVER_PROXY}).status_code < 300
    pb = write_playbook(tmp_path / "pb", BOTH_PLAYBOOK)
    db, plan_file, report = tmp_path / "state.db", tmp_path / "plan.json", tmp_path / "report.json"
    env = served.env(CANARY_PROXY=OUR_PROXY)
    debug = ("--log-level", "debug", "--log-format", "json")
    outputs = []
    for args in (
        ("validate", str(pb)),
        ("plan", str(pb), "--format", "text"),
        ("plan", str(pb), "--format", "markdown"),
        ("plan", str(pb), "--format", "json", "--out", str(plan_file)),
        ("apply", str(pb), "--plan", str(plan_file), "--yes", "--state-db", str(db), "--report", str(report)),
        ("apply", str(pb), "--yes", "--state-db", str(db), "--report", str(report)),
        ("history", "--state-db", str(db)),
        ("api", "GET", "accounts/1"),
        ("api", "GET", "reactions/schedules/1/settings"),
    ):
        result = cli(*debug, *args, env=env)
        assert "Traceback" not in result.stderr, result.stderr[-2000:]
        outputs.append((args, result.stdout + result.stderr))
    # error paths: a wrong key, an unreachable server, a missing secret, a bad saved plan
    bad_key = "sht_" + "0" * 64
    for extra_env, args in (
        ({"SHARINGTOOLS_API_KEY": bad_key}, ("plan", str(pb))),
        ({"SHARINGTOOLS_BASE_URL": "http://127.0.0.1:9/api/v1"}, ("plan", str(pb))),
        ({"CANARY_PROXY": ""}, ("plan", str(pb))),
        ({}, ("apply", str(pb), "--plan", str(report), "--yes", "--state-db", str(db))),
    ):
        result = cli(*debug, *args, env={**env, "SHARINGTOOLS_RETRY_ATTEMPTS": "1", **extra_env})
        assert "Traceback" not in result.stderr, result.stderr[-2000:]
        outputs.append((args, result.stdout + result.stderr))
    for args, text in outputs:
        assert not _leaks(text, canaries), (args, _leaks(text, canaries), text[-1500:])
    for path in (plan_file, report):
        assert not _leaks(path.read_text(), canaries), path
    with sqlite3.connect(db) as conn:
        stored_text = "\n".join(str(row) for table in ("runs", "operations")
                                for row in conn.execute(f"SELECT * FROM {table}"))  # noqa: S608 - fixed names
    assert stored_text and not _leaks(stored_text, canaries)
    with httpx.Client(base_url=served.api, headers=headers) as http:  # ... and the secret reached the server, as text
        assert http.get("/reactions/schedules/1/settings").json()["data"]["settings"]["custom_proxy"] == OUR_PROXY


TWO_SECRET_FILES_PLAYBOOK = """\
version: 1
groups:
  nova:
    accounts: [fashion_nova]
  muse:
    accounts: [fashion_muse]
entries:
  - groups: nova
    reactions:
      settings:
        custom_proxy: {file: nova.secret}
  - groups: muse
    reactions:
      settings:
        custom_proxy: {file: muse.secret}
"""


@pytest.mark.uvicorn
def test_a_secret_file_that_is_not_utf8_is_that_accounts_problem(served: Served, tmp_path: Path):
    pb = write_playbook(tmp_path / "pb", TWO_SECRET_FILES_PLAYBOOK)
    (pb.parent / "nova.secret").write_bytes(b"\xff\xfe" + "http://u:pw@10.0.0.1:1".encode("utf-16-le"))
    (pb.parent / "muse.secret").write_text("http://u:muse-pw-2b@10.0.0.2:3128\n")
    result = cli("plan", str(pb), env=served.env())
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    [problem] = [line for line in result.stderr.splitlines() if line.startswith("problem:")]
    assert "fashion_nova" in problem and "nova.secret is not UTF-8 text (byte 0): save it as UTF-8" in problem
    assert "fashion_muse" in result.stdout and "fashion_nova" not in result.stdout  # the other account is planned
    assert "muse-pw-2b" not in result.stdout + result.stderr
