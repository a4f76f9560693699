"""Plan and apply keep a number of tasks set by the client's concurrency, not by the fleet:
the reads, the operations and their fall-backs are taken by a few workers
(``orchestrator.api.fanout``) rather than one waiting task per account. One task per account was
most of an apply's memory at 10,000 accounts, and took it past 1.5 GB at 100,000."""

from __future__ import annotations

import asyncio

import anyio
import anyio.lowlevel

from orchestrator.emulator.testing import LocalEmulator
from orchestrator.apply.run import EXIT_OK, ApplyOptions, apply
from orchestrator.planning.planner import build_plan
from tests.harness import client_for, load_playbook

ACCOUNTS = 600
CONCURRENCY = 8
PLAYBOOK = """\
version: 1
groups:
  scale:
    usernames: "*_s*"
policy:
  max_settings_updates: 100%
  max_activations: 100%
entries:
  - groups: scale
    reactions:
      state: active
      settings:
        likes_speed: 4
      targets:
        - hashtag: bounded
"""


class PeakTasks:
    """The most asyncio tasks alive at once while the block runs (sampled at every turn of the loop)."""

    def __init__(self) -> None:
        self.peak = 0
        self._done = anyio.Event()

    async def watch(self) -> None:
        while not self._done.is_set():  # bounded: the block's end sets it
            self.peak = max(self.peak, len(asyncio.all_tasks()))
            await anyio.lowlevel.checkpoint()

    def stop(self) -> None:
        self._done.set()


async def test_tasks_stay_bounded_by_the_concurrency_whatever_the_fleet(tmp_path):
    emu = LocalEmulator(f"accounts={ACCOUNTS}")
    book = load_playbook(tmp_path, PLAYBOOK)
    bound = 4 * CONCURRENCY + 16  # the workers (twice the concurrency), list read-ahead, the loop's own
    async with client_for(emu, concurrency=CONCURRENCY) as client:
        planning, applying = PeakTasks(), PeakTasks()
        async with anyio.create_task_group() as tg:
            tg.start_soon(planning.watch)
            planned = await build_plan(client, book)
            planning.stop()
        async with anyio.create_task_group() as tg:
            tg.start_soon(applying.watch)
            outcome = await apply(client, book, ApplyOptions())
            applying.stop()
    # the work was all done: every scale account read, changed and verified
    assert len(planned.plan.fingerprints) >= ACCOUNTS * 0.9
    assert outcome.exit_code == EXIT_OK, outcome.message
    assert sum(n for (_, op, status), n in outcome.execution.results.items() if status == "done") >= ACCOUNTS
    assert planning.peak <= bound, planning.peak
    assert applying.peak <= bound, applying.peak
