"""The engine's one event stream: every view (display, logs, metrics, status page) follows it.

An apply in two waves emits, in order: reading; the start of its writes (with the run's
outcome); per wave, applying, each operation as it starts and as it ends, verifying, the wave
verified; and last the run's end with its exit code. A subscriber
that raises is logged and the run goes on.
"""

from __future__ import annotations

from orchestrator.apply.events import (
    Events,
    OperationDone,
    OperationFailed,
    OperationStarted,
    PhaseStarted,
    RunEnded,
    WaveVerified,
    WritesStarted,
)
from orchestrator.apply.run import ApplyOptions, apply
from orchestrator.contract import Limit
from orchestrator.playbook import load
from tests.harness import PLAYBOOKS, client_for, executor_for


async def test_an_apply_tells_its_phases_operations_waves_and_end_in_order(emu) -> None:
    seen: list[object] = []
    events = Events()
    events.subscribe(seen.append)
    events.subscribe(lambda event: 1 / 0)  # a broken view: logged, and nothing else changes
    async with client_for(emu) as client:
        outcome = await apply(client, load([str(PLAYBOOKS)]), ApplyOptions(waves=[Limit(1), Limit(100, percent=True)]),
                              executor=executor_for(client, events=events))
    assert outcome.exit_code == 0, outcome.message
    names = [e.phase.name if isinstance(e, PhaseStarted) else
             "operations" if isinstance(e, OperationStarted | OperationDone) else type(e).__name__ for e in seen]
    collapsed = [n for i, n in enumerate(names) if i == 0 or n != names[i - 1]]
    assert collapsed == ["reading", "WritesStarted", "applying", "operations", "verifying", "WaveVerified",
                         "applying", "operations", "verifying", "WaveVerified", "RunEnded"]
    [writes] = [e for e in seen if isinstance(e, WritesStarted)]
    assert writes.outcome is outcome  # the run's own, which it then returned
    started: set[int] = set()
    for e in seen:  # every operation is told started before it is told done
        if isinstance(e, OperationStarted):
            started.add(id(e.op))
        elif isinstance(e, OperationDone):
            assert id(e.op) in started, e.op
    done = [e for e in seen if isinstance(e, OperationDone)]
    assert len(done) == sum(n for (_k, _op, result), n in outcome.execution.results.items() if result == "done")
    assert not any(isinstance(e, OperationFailed) for e in seen)
    waves = [e for e in seen if isinstance(e, WaveVerified)]
    assert [(w.number, w.failed, w.unverified) for w in waves] == [(1, 0, 0), (2, 0, 0)]
    assert seen[-1] == RunEnded(0, outcome.message, None)


def test_unsubscribing_stops_the_events() -> None:
    seen: list[object] = []
    events = Events()
    stop = events.subscribe(seen.append)
    events.emit(RunEnded(0, "a"))
    stop()
    events.emit(RunEnded(0, "b"))
    assert seen == [RunEnded(0, "a")]
