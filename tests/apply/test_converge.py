"""End to end in process: the example playbooks applied to the demo world converge, a second
plan is empty, and the run with every one of its operations is in the history."""

from __future__ import annotations

from collections import Counter

from orchestrator import playbook
from orchestrator.apply.run import ApplyOptions, apply, operations_of
from tests.harness.stores import sqlite_store
from orchestrator.render import render_text
from orchestrator.planning.planner import build_plan
from tests.harness import PLAYBOOKS, client_for, executor_for, failures_of


async def test_example_playbooks_converge_and_the_run_is_journaled(emu, tmp_path):
    book = playbook.load([str(PLAYBOOKS)])
    history = sqlite_store(tmp_path / "state.db")
    try:
        async with client_for(emu) as client:
            before = await build_plan(client, book)
            assert before.ok and not before.plan.empty
            planned_ops = operations_of(before.plan.changes)

            outcome = await apply(client, book, ApplyOptions(), history=history, executor=executor_for(client))
            assert outcome.exit_code == 0, failures_of(outcome)
            assert outcome.message == "applied and verified"
            assert outcome.execution.failures == [] and outcome.unverified == [] and outcome.conflicts == []
            assert outcome.plan.changes == before.plan.changes  # it applied what plan showed
            # groups.yaml asks for waves [1, 10%, 100%]: each one ran and verified, none halted
            assert len(outcome.waves) == 3 and not any(w.halted or w.failed or w.unverified for w in outcome.waves)

            again = await build_plan(client, book)
            assert again.ok
            assert again.plan.empty, render_text(again.plan)

        runs = await history.runs()
        assert [r.id for r in runs] == [outcome.run_id]
        run = runs[0]
        assert run.command == "apply" and run.status == "succeeded" and run.finished is not None
        assert set(run.accounts) == {c.account_id for c in before.plan.changes}
        assert run.report is not None and run.report["exit_code"] == 0
        assert run.report["plan"]["total"] == len(before.plan.changes)

        journal = await history.operations(run.id)
        assert {op["status"] for op in journal} == {"done"}
        # one journal entry per operation (a bulk call journals each account's share), nothing else
        assert Counter((op["account_id"], op["kind"], op["name"]) for op in journal) == Counter(
            (op.account_id, str(op.kind), op.name) for op in planned_ops)
    finally:
        await history.close()
