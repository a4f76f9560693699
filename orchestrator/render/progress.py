"""What a terminal shows while an apply runs, and the lines it prints when it is not a terminal.

The display tells the truth: the phase (reading, applying wave k of n, verifying), the
requests per second measured from the client's own counters, the 429s and retries the
transport counted, operations done and failed, and an ETA from the remaining operations at
the rate the limiter allows now. It is redrawn by rich's refresh thread from those counters,
so it moves even while a phase makes no operation progress (reads, verification). Off a
terminal it prints one plain line per phase and one every ``every`` seconds.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.text import Text

from orchestrator.apply.events import Event, OperationDone, OperationFailed, Phase, PhaseStarted

WINDOW = 5.0  # seconds of history the req/s figure is measured over


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class RunDisplay:
    """A live status line (``start``/``stop`` around what may print) fed by phases and operations."""

    def __init__(self, console: Console, transport: Any, *, live: bool,
                 plain: Callable[[str], None] | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self.transport = transport
        self.clock = clock
        self.plain = plain or (lambda line: None)
        self.phase = Phase("starting")
        self.done = 0
        self.failed = 0
        self.started = clock()
        self.phase_started = self.started
        self._samples: deque[tuple[float, int]] = deque()
        self._live = (
            Live(self, console=console, transient=True, refresh_per_second=4, auto_refresh=True) if live else None
        )
        self._running = False

    # -- what the run reports ----------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        """A subscriber of the run's `Events`: phases and operations move the display."""
        if isinstance(event, PhaseStarted):
            self.on_phase(event.phase)
        elif isinstance(event, OperationDone):
            self.on_operation("done")
        elif isinstance(event, OperationFailed):
            self.on_operation("failed")

    def on_phase(self, phase: Phase) -> None:
        self.phase = phase
        self.phase_started = self.clock()
        if phase.name == "applying":
            self.done = self.failed = 0
        if self._live is None:
            self.plain(self.line())

    def on_operation(self, event: str) -> None:
        if event == "failed":
            self.failed += 1
        else:
            self.done += 1

    def tick(self) -> None:
        """A plain status line now (off a terminal, called every few seconds)."""
        if self._live is None:
            self.plain(self.line())

    # -- the live display ---------------------------------------------------------------------
    def start(self) -> None:
        if self._live is not None and not self._running:
            self._live.start()
            self._running = True

    def stop(self) -> None:
        """Stop drawing (before anything else prints, such as the plan and the prompt)."""
        if self._live is not None and self._running:
            self._live.stop()
            self._running = False

    # -- figures --------------------------------------------------------------------------------
    def counters(self) -> dict[str, Any]:
        stats = self.transport.stats
        # rich redraws from its own thread: copy the counter in one step (no Python code runs
        # inside dict(), so the event loop cannot change it midway).
        requests = dict(stats.requests)
        total = sum(requests.values())
        now = self.clock()
        self._samples.append((now, total))
        while len(self._samples) > 2 and now - self._samples[0][0] > WINDOW:
            self._samples.popleft()
        t0, n0 = self._samples[0]
        rate = (total - n0) / (now - t0) if now - t0 > 0.2 else 0.0
        return {"requests": total, "rate": rate, "throttled": requests.get("429", 0),
                "retries": stats.retries, "limit": self.transport.limiter.current_rate}

    def eta(self, limit: float) -> float | None:
        if self.phase.name != "applying" or not self.phase.operations:
            return None
        remaining = max(0, self.phase.operations - self.done - self.failed)
        return remaining / max(limit, 0.1)

    def title(self) -> str:
        p = self.phase
        if p.name == "applying":
            return f"applying wave {p.wave} of {p.waves}"
        if p.name == "verifying":
            return f"verifying wave {p.wave} of {p.waves}"
        return p.name

    def line(self) -> str:
        c = self.counters()
        parts = [self.title()]
        if self.phase.name == "applying":
            parts.append(f"{self.done + self.failed}/{self.phase.operations} operations, {self.failed} failed")
        parts += [f"{c['requests']} requests", f"{c['rate']:.1f} req/s (limit {c['limit']:.0f})",
                  f"{c['throttled']} throttled (429)", f"{c['retries']} retries",
                  f"elapsed {_clock(self.clock() - self.started)}"]
        eta = self.eta(c["limit"])
        if eta is not None:
            parts.append(f"ETA {_clock(eta)}")
        return " · ".join(parts)

    def __rich__(self) -> Group:
        text = Text(self.line())
        if self.phase.name == "applying" and self.phase.operations:
            bar = ProgressBar(total=self.phase.operations, completed=self.done + self.failed, width=40)
            return Group(bar, text)
        return Group(text)
