"""Bulk coalescing, counted on the emulator: pausing 300 accounts costs a handful of bulk
calls and no single pause; when a bulk call fails (the emulator's fault filter, scoped to the
bulk endpoints), its accounts fall back to the per-account endpoint and the run still converges."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.api.retry import RetrySettings
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.apply.run import ApplyOptions, ApplyOutcome
from orchestrator.kinds import KindRegistry, Operation
from orchestrator.kinds.reactions import ReactionsKind
from tests.harness import (
    client_for,
    count,
    executor_for,
    failures_of,
    request_rows,
    run,
    stored,
    write_playbook,
    writes,
)

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
        assert {(w["method"], w["route"]) for w in await writes(control)} <= {("POST", BULK),
                                                                               ("POST", BULK_LATER_REVISION)}
        assert not any(s["is_active"] for s in await stored(control, "reactions_schedules"))


# The bulk endpoints (both paths a server may answer) fail; single pauses are untouched.
BULK_FAILS = {"error_rate": 1.0, "error_statuses": {"500": 1}, "methods": ["POST"], "path_regex": "/bulk/pause$"}


@pytest.mark.parametrize(("faults", "singles"), [
    # every bulk call fails, even after the client's retries: every account falls back
    (BULK_FAILS, ACCOUNTS),
    # one bulk call of the two (200 + 100 accounts) fails: only its accounts fall back
    ({**BULK_FAILS, "times": 1}, 200),
], ids=["every-bulk-call-fails", "one-bulk-call-fails"])
async def test_accounts_a_bulk_call_does_not_do_fall_back_to_single_calls(tmp_path, faults, singles):
    emu = await _world_all_active()
    async with emu.control() as control:
        (await control.put("/faults", json=faults)).raise_for_status()
    pb = write_playbook(tmp_path / "pb", PAUSE_ALL)
    # One attempt per call, so `times: 1` fails exactly one bulk call (the client's own retries
    # are the client's tests); the executor sends bulk calls in chunks of 200.
    async with client_for(emu, retry=RetrySettings(attempts=1)) as client:
        outcome = await run(client, [pb], ApplyOptions(allow=["pause:scale"]))
    assert outcome.exit_code == 0, failures_of(outcome)
    assert outcome.execution.failures == []
    async with emu.control() as control:
        assert await count(control, "POST", SINGLE) == singles
        assert not any(s["is_active"] for s in await stored(control, "reactions_schedules"))
        failed_bulk = [r for r in await request_rows(control) if r["injected"]]
        assert {(r["route"], r["status"]) for r in failed_bulk} <= {(BULK, 500), (BULK_LATER_REVISION, 500)}
        assert sum(r["count"] for r in failed_bulk) == (1 if "times" in faults else 2)


class BulkCoversHalf(ReactionsKind):
    """A bulk answer that leaves out every other account (as a server skips ids it does not
    know). No fault of the emulator's rewrites an answer, so this one seam is a kind handed
    to the executor through its registry."""

    async def execute_bulk(self, client: SharingtoolsClient, bulk: str, ops: Sequence[Operation]) -> set[int]:
        return await super().execute_bulk(client, bulk, ops[::2])


async def test_accounts_a_bulk_answer_leaves_out_fall_back_to_single_calls(tmp_path):
    emu = await _world_all_active()
    pb = write_playbook(tmp_path / "pb", PAUSE_ALL)
    kinds = KindRegistry.default().with_handler(BulkCoversHalf())
    async with client_for(emu) as client:
        outcome = await run(
            client, [pb], ApplyOptions(allow=["pause:scale"]), executor=executor_for(client, kinds=kinds)
        )
    assert outcome.exit_code == 0, failures_of(outcome)
    async with emu.control() as control:
        assert await count(control, "POST", SINGLE) == ACCOUNTS // 2
        assert not any(s["is_active"] for s in await stored(control, "reactions_schedules"))
