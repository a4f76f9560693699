"""Per-account backoff: an account whose changes fail cycle after cycle is retried after
exponentially longer waits and reported meanwhile; the other accounts go on; a success
forgets it."""

from __future__ import annotations

from pathlib import Path

from orchestrator.state.drift import BackoffPolicy
from orchestrator.emulator.faults import FaultConfig
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.reconcile.loop import EXIT_OK, EXIT_PARTIAL
from tests.harness.reconcile import VirtualTime, client_for, reconciler, write_book, writes


def test_the_delay_doubles_up_to_a_cap() -> None:
    policy = BackoffPolicy(base=60, cap=600)
    assert [policy.delay(n) for n in range(1, 7)] == [60, 120, 240, 480, 600, 600]


async def test_a_failing_account_is_backed_off_and_the_rest_go_on(tmp_path: Path) -> None:
    emu = LocalEmulator("demo")
    book = write_book(tmp_path)
    now = [1_000_000.0]
    time = VirtualTime()
    async with client_for(emu, time=time) as client:
        loop = reconciler(emu, client, book, tmp_path, mode="fix")
        loop.clock = loop.history.clock = lambda: now[0]
        # Every settings PATCH fails on the server: the fashion accounts' settings cannot be fixed.
        emu.state.faults = FaultConfig(seed=1, methods=["PATCH"], error_rate=1.0, error_statuses={500: 1.0})

        first = await loop.cycle()
        assert first.exit_code == EXIT_PARTIAL
        failed = {r.account_id for r in first.drift if r.outcome == "failed"}
        assert failed and all(r.kind == "reactions" for r in first.drift if r.outcome == "failed")
        fixed = {r.account_id for r in first.drift if r.outcome == "fixed"}
        assert fixed - failed, "the accounts that do not fail are fixed in the same cycle"
        entries = (await loop.history.backoffs())
        assert set(entries) == failed and {e.failures for e in entries.values()} == {1}
        assert {e.next_try for e in entries.values()} == {now[0] + 60}

        emu.state.counters.reset()
        second = await loop.cycle()  # within the delay: not hammered
        assert second.exit_code == EXIT_PARTIAL
        assert not [w for w in writes(emu) if w[0] == "PATCH"]
        assert {r.account_id for r in second.drift if r.outcome == "backed_off"} == failed
        assert all("next try at" in (r.reason or "") for r in second.drift if r.outcome == "backed_off")

        now[0] += 61  # past the first delay: tried again, fails again, waits twice as long
        third = await loop.cycle()
        assert {r.account_id for r in third.drift if r.outcome == "failed"} == failed
        assert {e.failures for e in (await loop.history.backoffs()).values()} == {2}
        assert {e.next_try for e in (await loop.history.backoffs()).values()} == {now[0] + 120}

        emu.state.faults = FaultConfig()  # the server is fixed
        now[0] += 121
        fourth = await loop.cycle()
        assert fourth.exit_code == EXIT_OK, fourth.summary()
        assert {r.account_id for r in fourth.drift if r.outcome == "fixed"} == failed
        assert (await loop.history.backoffs()) == {}
        await loop.history.close()
