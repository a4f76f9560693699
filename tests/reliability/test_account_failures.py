"""One account's failure stays with it: a read whose retries run out (before the plan, or in
verify after the writes) leaves that account failed, the rest of the fleet is applied, the run
ends partial (exit 4) with its summary, report and history (never "running")."""

from __future__ import annotations

from orchestrator.apply.events import Events, OperationDone, OperationFailed
from orchestrator.api.retry import RetrySettings
from orchestrator.apply.run import EXIT_PARTIAL, ApplyOptions, apply
from tests.harness.stores import sqlite_store
from orchestrator.planning.planner import build_plan
from tests.harness import client_for, executor_for, failures_of, load_playbook, stored
from tests.conftest import world
from tests.harness.hostile import Rule, hostile_client

PLAYBOOK = """\
version: 1
groups:
  fashion:
    usernames: "fashion_*"
entries:
  - groups: fashion
    reactions:
      settings:
        likes_speed: 2
"""
FAST = RetrySettings(attempts=3, deadline=30)
ACCOUNT = 3  # fashion_* are accounts 1-8
ACCOUNT_READS = rf"GET /api/v1/reactions/schedules/{ACCOUNT}(/|$)"


async def _speeds(emu) -> dict[int, int]:
    async with emu.control() as control:
        return {s["account_id"]: s["settings"]["likes_speed"] for s in await stored(control, "reactions_schedules")
                if s["account_id"] <= 8}


async def test_a_failing_read_leaves_one_account_out_of_the_plan(tmp_path):
    emu = world()
    book = load_playbook(tmp_path, PLAYBOOK)
    async with hostile_client(emu, [Rule(ACCOUNT_READS, 503, b'{"success":false,"message":"down"}')],
                              retry=FAST) as client:
        planned = await build_plan(client, book)
    assert [p.account_id for p in planned.read_failures] == [ACCOUNT]
    assert "could not read Reactions Pro" in str(planned.read_failures[0])
    planned_accounts = {c.account_id for c in planned.plan.changes}
    assert ACCOUNT not in planned_accounts and len(planned_accounts) >= 5


async def test_apply_goes_on_without_the_account_whose_read_fails(tmp_path):
    emu = world()
    book = load_playbook(tmp_path, PLAYBOOK)
    history = sqlite_store(tmp_path / "state.db")
    async with hostile_client(emu, [Rule(ACCOUNT_READS, 500, b"<html><body>Bad gateway</body></html>",
                                         content_type="text/html")], retry=FAST) as client:
        outcome = await apply(client, book, ApplyOptions(), history=history, executor=executor_for(client))
        report = outcome.report(client)
    assert outcome.exit_code == EXIT_PARTIAL, failures_of(outcome)
    assert [(f.account_id, f.step) for f in outcome.execution.failures] == [(ACCOUNT, "read")]
    speeds = await _speeds(emu)
    assert speeds[ACCOUNT] != 2 and all(v == 2 for a, v in speeds.items() if a != ACCOUNT), speeds
    (run,) = await history.runs(1)
    assert run.status == "partial" and run.report is not None
    assert run.report["failures"][0]["account_id"] == ACCOUNT == report["failures"][0]["account_id"]


async def test_a_verify_read_that_fails_reports_that_account_and_finishes_the_run(tmp_path):
    """The reads fail only once the writes began: the writes are done, verify cannot re-read
    account 3, which is reported failed; the run is partial, recorded, and not "running"."""
    emu = world()
    book = load_playbook(tmp_path, PLAYBOOK)
    history = sqlite_store(tmp_path / "state.db")
    rules: list[Rule] = []

    def after_first_write(event) -> None:
        if isinstance(event, OperationDone | OperationFailed) and not rules:
            rules.append(Rule(ACCOUNT_READS, 503, b"not json at all"))

    events = Events()
    events.subscribe(after_first_write)
    async with hostile_client(emu, rules, retry=FAST) as client:
        outcome = await apply(client, book, ApplyOptions(), history=history,
                              executor=executor_for(client, events=events))
    assert outcome.exit_code == EXIT_PARTIAL, failures_of(outcome)
    assert [(f.account_id, f.step) for f in outcome.execution.failures] == [(ACCOUNT, "verify")]
    assert all(v == 2 for v in (await _speeds(emu)).values())
    (run,) = await history.runs(1)
    assert run.status == "partial" and run.report["failures"][0]["operation"] == "verify"


async def test_the_fleet_converges_when_the_failing_account_answers_again(tmp_path):
    emu = world()
    book = load_playbook(tmp_path, PLAYBOOK)
    async with hostile_client(emu, [Rule(ACCOUNT_READS, 503)], retry=FAST) as client:
        first = await apply(client, book, ApplyOptions(), executor=executor_for(client))
    async with client_for(emu) as client:
        second = await apply(client, book, ApplyOptions(), executor=executor_for(client))
    assert (first.exit_code, second.exit_code) == (EXIT_PARTIAL, 0), failures_of(second)
    assert set((await _speeds(emu)).values()) == {2}
