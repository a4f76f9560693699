"""One account's problem stays with that account: an account a playbook names that was deleted
(gone from the live list), and an account without the Repost Pro schedule a kind needs, are
named with what to do; every other account is planned and applied. ``plan`` exits 0 (1 with
``--strict``), ``apply`` ends partial (4). A typo of an account name stays an error, unless an
earlier apply saw that account live (then it was deleted)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli.app import app
from orchestrator.emulator.modules.repost.models import REPOST
from tests.harness import Served, write_playbook

pytestmark = pytest.mark.uvicorn
runner = CliRunner()

PLAYBOOK = """\
version: 1
groups:
  flagships: {accounts: [fashion_nova, fashion_luxe]}
  fitness: {usernames: "fitness_*"}
entries:
  - name: Flagships like faster
    groups: flagships
    reactions:
      settings: {likes_speed: 5}
  - name: Fitness reposts credit the creator
    groups: fitness
    repost:
      settings: {caption: "Credit: the creator. {{original_caption}}"}
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def cli(served: Served, *args: str):
    return runner.invoke(app, list(args), env=served.env())


def account_id(served: Served, username: str) -> int:
    return served.state.store.table("accounts").find_one(username=username)["id"]


def delete_account(served: Served, username: str) -> None:
    """The account is deleted in the panel (the API has no endpoint for it)."""
    served.state.store.table("accounts").delete(account_id(served, username))


def remove_repost_schedule(served: Served, username: str) -> None:
    schedules = REPOST.schedules(served.state.store)
    schedules.delete(schedules.find_one(account_id=account_id(served, username))["id"])


def test_a_deleted_account_and_a_missing_schedule_stay_with_their_accounts(served: Served, tmp_path: Path) -> None:
    book = write_playbook(tmp_path / "pb", PLAYBOOK)
    delete_account(served, "fashion_nova")
    remove_repost_schedule(served, "fitness_lift")

    plan = cli(served, "plan", str(book), "--format", "json")
    assert plan.exit_code == 0, plan.output
    problems = plan.stderr.strip().splitlines()
    assert len(problems) == 2, problems
    assert any(p.startswith("problem: fashion_nova: no such account on the server any more (named in group "
                            "`flagships` at ") and "remove it from the group" in p for p in problems), problems
    assert any(p.startswith("problem: fitness_lift · repost: has no Repost Pro schedule") and "web panel" in p
               for p in problems), problems
    planned = {(c["username"], c["kind"]) for c in json.loads(plan.stdout)["changes"]}
    assert ("fashion_luxe", "reactions") in planned
    assert {u for u, k in planned if k == "repost"} == {
        "fitness_core", "fitness_flex", "fitness_pulse", "fitness_stride", "fitness_burn", "fitness_yoga"}

    md = cli(served, "plan", str(book), "--format", "markdown")  # a pull-request comment names them too
    assert md.exit_code == 0 and "**2 problems** (those accounts are left out; the others are planned):" in md.stdout
    assert "- fashion_nova: no such account" in md.stdout and "- fitness_lift · repost: has no Repost Pro" in md.stdout

    strict = cli(served, "plan", str(book), "--strict")
    assert strict.exit_code == 1 and "2 problems (--strict)" in strict.stderr

    state_db = str(tmp_path / "state.db")
    applied = cli(served, "apply", str(book), "--yes", "--state-db", state_db, "--report", "run.json")
    assert applied.exit_code == 4, applied.output
    assert "problem fashion_nova: no such account" in applied.stdout
    assert "problem fitness_lift · repost: has no Repost Pro schedule" in applied.stdout
    assert "partial: 2 accounts could not be planned; the others were applied and verified" in applied.stdout
    report = json.loads((tmp_path / "run.json").read_text())
    assert len(report["problems"]) == 2 and report["failures"] == [] and report["unverified"] == []
    # The others converged: nothing is left to do for them, and the two problems remain.
    again = cli(served, "plan", str(book), "--format", "json", "--state-db", state_db)
    assert again.exit_code == 0 and json.loads(again.stdout)["changes"] == []
    assert len(again.stderr.strip().splitlines()) == 2


def test_a_typo_is_an_error_but_an_account_an_apply_saw_is_gone(served: Served, tmp_path: Path) -> None:
    """``fashion_luxe`` is one letter from the live ``fashion_muse``: without history, a missing
    ``fashion_luxe`` reads as a typo (fatal, nothing planned). Once an apply has seen it live, it
    is an account deleted since: a problem of its own."""
    book = write_playbook(tmp_path / "pb", PLAYBOOK)
    state_db = str(tmp_path / "state.db")
    first = cli(served, "apply", str(book), "--yes", "--state-db", state_db)
    assert first.exit_code == 0, first.output
    delete_account(served, "fashion_luxe")

    fresh = cli(served, "plan", str(book), "--state-db", str(tmp_path / "none.db"))
    assert fresh.exit_code == 1 and fresh.stdout == ""
    assert "account `fashion_luxe` does not exist (group `flagships`); did you mean `fashion_muse`?" in fresh.stderr

    known = cli(served, "plan", str(book), "--state-db", state_db)
    assert known.exit_code == 0, known.output
    assert known.stderr.startswith("problem: fashion_luxe: no such account on the server any more")
    assert not (tmp_path / "none.db").exists()  # plan never creates the database
