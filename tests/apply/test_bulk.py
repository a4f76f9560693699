"""Bulk coalescing, counted on the emulator: pausing 300 accounts costs a handful of bulk
calls and no single pause; when a bulk call fails, or its answer leaves accounts out, those
accounts fall back to the per-account endpoint and the run still converges."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import ServerError
from orchestrator.contract import Kind
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.engine.apply import ApplyOptions, ApplyOutcome
from orchestrator.kinds import KINDS, Operation
from orchestrator.kinds.reactions import ReactionsKind
from tests.apply.conftest import client_for, count, failures_of, run, stored, write_playbook, writes

ACCOUNTS = 300
PAUSE_ALL = """\
version: 1
groups:
  scale:
    usernames: "*_s0*"
entries:
  - name: Everyone takes a break
    groups: scale
    reactions:
      state: paused
"""
BULK = "/reactions/bulk/pause"
BULK_LATER_REVISION = "/reactions/schedules/bulk/pause"
SINGLE = "/reactions/schedules/{account_id}/pause"


async def _world_all_active() -> LocalEmulator:
    emu = LocalEmulator(f"accounts={ACCOUNTS}")
    async with emu.http() as alice, emu.control() as control:
        # every schedule active, so that the playbook pauses all 300
        assert (await alice.post("/reactions/bulk/activate")).status_code == 200
        assert all(s["is_active"] for s in await stored(control, "reactions_schedules"))
        await control.post("/requests/reset")
    return emu


async def _apply_pause(emu: LocalEmulator, tmp_path) -> ApplyOutcome:
    pb = write_playbook(tmp_path / "pb", PAUSE_ALL)
    async with client_for(emu) as client:
        outcome = await run(client, [pb], ApplyOptions(allow=["pause:scale"]))
    return outcome


async def test_pausing_300_accounts_costs_a_handful_of_bulk_calls(tmp_path):
    emu = await _world_all_active()
    outcome = await _apply_pause(emu, tmp_path)
    assert outcome.exit_code == 0, failures_of(outcome)
    assert outcome.plan.summary()["by_kind"] == {"reactions": {"pause": ACCOUNTS}}
    async with emu.control() as control:
        bulk = await count(control, "POST", BULK) + await count(control, "POST", BULK_LATER_REVISION)
        assert await count(control, "POST", SINGLE) == 0
        assert 1 <= bulk <= 5, bulk
        assert outcome.execution.bulk_calls == bulk
        # the bulk calls were the only writes
        assert {(w["method"], w["route"]) for w in await writes(control)} <= {("POST", BULK), ("POST", BULK_LATER_REVISION)}
        assert not any(s["is_active"] for s in await stored(control, "reactions_schedules"))


class BulkFails(ReactionsKind):
    """The bulk endpoint answers 500 every time (a test of the engine, not of the client)."""

    async def execute_bulk(self, client: SharingtoolsClient, bulk: str, ops: Sequence[Operation]) -> set[int]:
        raise ServerError("Internal Server Error", method="POST", path="reactions/bulk/pause", status=500)


class BulkCoversHalf(ReactionsKind):
    """The bulk answer leaves out every other account (as a server skips ids it does not know)."""

    async def execute_bulk(self, client: SharingtoolsClient, bulk: str, ops: Sequence[Operation]) -> set[int]:
        return await super().execute_bulk(client, bulk, ops[::2])


@pytest.mark.parametrize(("handler", "singles"), [(BulkFails, ACCOUNTS), (BulkCoversHalf, ACCOUNTS // 2)])
async def test_accounts_a_bulk_call_does_not_do_fall_back_to_single_calls(tmp_path, monkeypatch, handler, singles):
    emu = await _world_all_active()
    monkeypatch.setitem(KINDS, Kind.REACTIONS, handler())
    outcome = await _apply_pause(emu, tmp_path)
    assert outcome.exit_code == 0, failures_of(outcome)
    assert outcome.execution.failures == []
    async with emu.control() as control:
        assert await count(control, "POST", SINGLE) == singles
        assert not any(s["is_active"] for s in await stored(control, "reactions_schedules"))
