"""The reconcile loop and entry windows, in virtual time: between cycles it sleeps until the
next window boundary when that comes before ``--every`` (without jitter), records why each
cycle ran, names the windows in its metrics, and tries a window's failed cycle again soon."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import generate_latest

from orchestrator.emulator.faults import FaultConfig
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.reconcile.loop import EXIT_ERROR, WINDOW_RETRY, CycleReport, Reconciler, ReconcileOptions
from orchestrator.reconcile.metrics import ReconcileMetrics
from tests.harness import VirtualTime, client_for
from tests.harness.stores import sqlite_store
from tests.harness.reconcile import write_book

START = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
OPENS, CLOSES = START + timedelta(minutes=5), START + timedelta(minutes=15)


def _book(tmp_path: Path):
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    return write_book(tmp_path, f"""\
version: 1
groups:
  fashion: {{usernames: "fashion_*"}}
entries:
  - name: Baseline
    groups: fashion
    reactions: {{state: active, settings: {{likes_speed: 2}}}}
  - name: Flash sale
    groups: fashion
    when: {{from: {OPENS.strftime(stamp)}, until: {CLOSES.strftime(stamp)}}}
    reactions:
      settings: {{likes_speed: 4}}
      targets: [{{hashtag: flashsale}}]
""")


def _loop(emu: LocalEmulator, client, tmp_path: Path, time: VirtualTime) -> Reconciler:
    return Reconciler(client, _book(tmp_path), ReconcileOptions(every=3600, jitter=0.1),
                      history=sqlite_store(tmp_path / "state.db"), metrics=ReconcileMetrics(), clock=time.clock)


async def test_the_loop_wakes_at_each_boundary_and_says_why(tmp_path: Path) -> None:
    emu = LocalEmulator("demo")
    time = VirtualTime()
    time.now = START.timestamp()
    waits: list[float] = []
    woke: list[float] = []
    reports: list[CycleReport] = []
    gauges: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await time.sleep(seconds)
        woke.append(time.now)

    async with client_for(emu, time=time) as client:
        loop = _loop(emu, client, tmp_path, time)

        async def seen(report: CycleReport) -> None:
            reports.append(report)
            metrics = generate_latest(loop.metrics.registry).decode()
            gauges.append(next(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
                               if line.startswith('orchestrator_window_active{entry="Flash sale"}')))

        await loop.run(max_cycles=4, on_cycle=seen, sleep=sleep, signals=False)
        await loop.history.close()
    # Woken at the opening and the closing exactly (no jitter), then after --every (jittered)
    # once none is ahead (the cycles themselves take virtual time: the rate limiter waits on it).
    assert woke[:2] == [OPENS.timestamp(), CLOSES.timestamp()] and 3240 <= waits[2] <= 3960
    assert [(r.cause.reason, [(e.entry, e.event) for e in r.cause.events]) for r in reports] == [
        ("start", []), ("window", [("Flash sale", "open")]), ("window", [("Flash sale", "close")]), ("schedule", [])]
    assert gauges == [0.0, 1.0, 0.0, 0.0]
    assert [r.exit_code for r in reports] == [0, 0, 0, 0], [r.message for r in reports]
    # The window's cycle added the target and the closing one took it back.
    assert [{(row.action, row.path) for row in r.drift if row.kind == "reactions" and row.account_id == 1}
            for r in reports[1:3]] == [{("update", "settings.likes_speed"), ("add", "targets[hashtag:flashsale]")},
                                       {("update", "settings.likes_speed"), ("remove", "targets[hashtag:flashsale]")}]
    assert reports[1].summary()["cause"] == {"reason": "window", "windows": [
        {"entry": "Flash sale", "event": "open", "at": "2026-11-26T12:05:00Z"}]}


async def test_a_failed_window_cycle_is_tried_again_soon(tmp_path: Path) -> None:
    emu = LocalEmulator("demo")
    time = VirtualTime()
    time.now = START.timestamp()
    waits: list[float] = []
    reports: list[CycleReport] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await time.sleep(seconds)

    async with client_for(emu, time=time) as client:
        loop = _loop(emu, client, tmp_path, time)

        async def seen(report: CycleReport) -> None:
            reports.append(report)
            # The server goes away for the window's first cycle, and comes back.
            emu.state.faults = FaultConfig(seed=1, drop_rate=1.0) if len(reports) == 1 else FaultConfig()

        await loop.run(max_cycles=3, on_cycle=seen, sleep=sleep, signals=False)
        await loop.history.close()
    assert [r.exit_code for r in reports][:2] == [0, EXIT_ERROR]
    assert waits[1] == WINDOW_RETRY  # not an hour: the campaign's start is still to be made
    assert reports[2].cause.reason == "window" and reports[2].exit_code == 0
    assert any(row.path == "targets[hashtag:flashsale]" and row.outcome == "fixed" for row in reports[2].drift)
