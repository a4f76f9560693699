"""The verdicts on operations in doubt, in process: a create an earlier run left in doubt holds
its account while it may still land, goes ahead once the settle time passed without it, and a
harmless one (an update) is resolved at once. The signal and kill cases, with real processes,
are in tests/reliability/test_in_doubt.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.api.retry import RetrySettings
from orchestrator.apply.doubt import Verdict, judge
from orchestrator.contract.vocabulary import OpStatus
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.state.store import InDoubt, StateStore
from tests.harness import client_for, run, stored, write_playbook
from tests.harness.stores import sqlite_store

PLAYBOOK = """\
version: 1
groups:
  one:
    accounts: [fashion_nova]
entries:
  - groups: one
    first_comment:
      schedules:
        - targets: [doubtbrand]
          comments: ["First!"]
"""
ARGS = {"targets": [{"username": "doubtbrand"}], "comments": ["First!"], "comment_mode": "random",
        "is_active": True}


def _doubt(since: float = 1000.0) -> InDoubt:
    return InDoubt(1, 1, 1, "first_comment", "create", ARGS, OpStatus.IN_DOUBT, since)


@pytest.mark.parametrize(("duplicates", "found", "now", "verdict"), [
    (False, None, 1000.0, Verdict.HARMLESS),  # an update, a pause: repeating it is harmless
    (True, True, 1000.0, Verdict.TOOK_EFFECT),
    (True, False, 1059.0, Verdict.HOLD),  # younger than the settle time: it may still land
    (True, False, 1060.0, Verdict.DID_NOT),
    (True, None, 5000.0, Verdict.HOLD),  # the read-back failed: not knowing is not "not made"
])
def test_the_verdict(duplicates: bool, found: bool | None, now: float, verdict: Verdict) -> None:
    assert judge(_doubt(), duplicates, found, now, settle=60.0) is verdict


async def _left_in_doubt(store: StateStore, name: str = "create", args: dict | None = None) -> int:
    """A run that sent ``name`` of fashion_nova's first comment and never heard back."""
    run_id = await store.start_run("apply", None, [1])
    op = await store.op_started(run_id, 1, "first_comment", name, args or ARGS)
    store.op_finished(op, "cancelled before its answer came", OpStatus.IN_DOUBT)
    await store.finish_run(run_id, "interrupted", {})
    return op


async def _schedules(control) -> list[dict]:  # noqa: ANN001
    return [s for s in await stored(control, "first_comment_schedules", account_id=1)
            if {t["username"] for t in s["targets"]} == {"doubtbrand"}]


async def test_a_recent_create_in_doubt_holds_its_account_and_writes_nothing(emu: LocalEmulator, control,  # noqa: ANN001
                                                                             tmp_path: Path) -> None:
    pb = write_playbook(tmp_path / "pb", PLAYBOOK)
    store = sqlite_store(tmp_path / "state.db")
    try:
        op = await _left_in_doubt(store)
        async with client_for(emu) as client:
            outcome = await run(client, [pb], history=store)
        assert outcome.exit_code == 4, outcome.message
        assert [(h.username, h.kind) for h in outcome.held] == [("fashion_nova", "first_comment")]
        assert "may still take effect on the server" in outcome.held[0].message
        assert "held: a create sent earlier may still take effect; run apply --resume after" in outcome.message
        assert outcome.plan.empty and not await _schedules(control)
        assert [d.id for d in await store.in_doubt()] == [op]  # still in doubt
        # Nothing else to do, so no run is recorded: the interrupted one is still what --resume picks up.
        assert outcome.run_id is None
        assert (await store.unfinished()).id == 1  # type: ignore[union-attr]
    finally:
        await store.close()


async def test_a_create_in_doubt_past_the_settle_time_did_not_take_effect_and_goes_ahead(
        emu: LocalEmulator, control, tmp_path: Path) -> None:  # noqa: ANN001
    pb = write_playbook(tmp_path / "pb", PLAYBOOK)
    store = sqlite_store(tmp_path / "state.db")
    try:
        op = await _left_in_doubt(store)
        async with client_for(emu, retry=RetrySettings(settle=0)) as client:
            outcome = await run(client, [pb], history=store)
        assert outcome.exit_code == 0, outcome.message
        assert len(await _schedules(control)) == 1
        assert await store.in_doubt() == []
        (journaled,) = [o for o in await store.operations(1) if o["id"] == op]
        assert journaled["status"] == "resolved"
    finally:
        await store.close()


async def test_a_create_in_doubt_that_took_effect_is_done_and_not_planned_again(emu: LocalEmulator, control,  # noqa: ANN001
                                                                                tmp_path: Path) -> None:
    pb = write_playbook(tmp_path / "pb", PLAYBOOK)
    store = sqlite_store(tmp_path / "state.db")
    try:
        async with client_for(emu) as client:
            await client.first_comment.create_schedule(1, ARGS["targets"], ARGS["comments"])  # it landed
            await _left_in_doubt(store)
            outcome = await run(client, [pb], history=store)
        assert outcome.exit_code == 0 and outcome.plan.empty, outcome.message
        assert len(await _schedules(control)) == 1
        assert [o["status"] for o in await store.operations(1)] == ["done"]
    finally:
        await store.close()


async def test_an_update_in_doubt_is_resolved_at_once_without_a_hold(emu: LocalEmulator, tmp_path: Path) -> None:
    pb = write_playbook(tmp_path / "pb", PLAYBOOK)
    store = sqlite_store(tmp_path / "state.db")
    try:
        await _left_in_doubt(store, "update", {"schedule_id": 1, "fields": {"comments": ["x"]}})
        async with client_for(emu) as client:
            outcome = await run(client, [pb], history=store)
        assert outcome.exit_code == 0 and not outcome.held, outcome.message
        assert await store.in_doubt() == []
    finally:
        await store.close()
