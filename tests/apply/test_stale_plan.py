"""Saved plans (``plan --out`` / ``apply --plan``): an account whose live state changed since
the plan is skipped and reported as a conflict while the rest is applied (exit 4: partial);
a changed playbook refuses the whole plan before any write."""

from __future__ import annotations

import json

import pytest

from orchestrator import playbook
from orchestrator.apply.run import ApplyError, ApplyOptions, apply
from orchestrator.plan import Plan
from orchestrator.render import render_json
from orchestrator.planning.planner import build_plan
from tests.harness import client_for, executor_for, failures_of, stored, write_playbook, writes

PLAYBOOK = """\
version: 1
groups:
  fashion:
    usernames: fashion_*
entries:
  - groups: fashion
    reactions:
      settings:
        likes_speed: 5
      targets:
        - hashtag: stalecheck
"""
FASHION = range(1, 9)


def _saved(plan: Plan) -> Plan:
    """What ``plan --out`` writes and ``apply --plan`` reads back."""
    return Plan.from_json(json.loads(render_json(plan)))


async def _schedules(control) -> dict[int, dict]:
    return {s["account_id"]: s for s in await stored(control, "reactions_schedules", user_id=1)}


async def test_an_account_changed_since_the_plan_is_skipped_as_a_conflict(emu, alice, control, tmp_path):
    pb = write_playbook(tmp_path / "pb", PLAYBOOK)
    book = playbook.load([str(pb)])
    async with client_for(emu) as client:
        saved = _saved((await build_plan(client, book)).plan)
        assert {c.account_id for c in saved.changes} == set(FASHION)

        # someone pauses fashion_nova in the web panel after the plan was reviewed
        assert (await alice.post("/reactions/schedules/1/pause")).status_code == 200
        before = (await _schedules(control))[1]
        await control.post("/requests/reset")

        outcome = await apply(client, book, ApplyOptions(saved_plan=saved), executor=executor_for(client))
    assert outcome.conflicts == [1]
    assert outcome.exit_code == 4, failures_of(outcome)
    assert outcome.execution.failures == [] and outcome.unverified == []
    assert 1 not in outcome.execution.touched and outcome.execution.touched == set(FASHION) - {1}

    after = await _schedules(control)
    assert after[1] == before  # the conflicting account: nothing written
    for account_id in set(FASHION) - {1}:  # the rest of the plan: applied
        assert after[account_id]["settings"]["likes_speed"] == 5
        assert ("hashtag", "stalecheck") in {(t["type"], t["value"]) for t in after[account_id]["targets"]}


async def test_a_saved_plan_applies_exactly_when_nothing_changed(emu, control, tmp_path):
    pb = write_playbook(tmp_path / "pb", PLAYBOOK)
    book = playbook.load([str(pb)])
    async with client_for(emu) as client:
        saved = _saved((await build_plan(client, book)).plan)
        outcome = await apply(client, book, ApplyOptions(saved_plan=saved), executor=executor_for(client))
        assert outcome.exit_code == 0 and outcome.conflicts == [], failures_of(outcome)
        assert (await build_plan(client, book)).plan.empty


async def test_a_changed_playbook_refuses_the_whole_plan(emu, control, tmp_path):
    pb = write_playbook(tmp_path / "pb", PLAYBOOK)
    async with client_for(emu) as client:
        saved = _saved((await build_plan(client, playbook.load([str(pb)]))).plan)
        pb.write_text(PLAYBOOK.replace("likes_speed: 5", "likes_speed: 4"))
        await control.post("/requests/reset")
        with pytest.raises(ApplyError) as refused:
            await apply(client, playbook.load([str(pb)]), ApplyOptions(saved_plan=saved), executor=executor_for(client))
    assert refused.value.lines == [
        "error: the playbooks changed since this plan was made: run plan again and review it"
    ]
    assert await writes(control) == []
