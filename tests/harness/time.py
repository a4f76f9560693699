"""Virtual time for the client: one clock for every test that must not wait."""

from __future__ import annotations

import anyio
import anyio.lowlevel


class VirtualTime:
    """Time that passes only when something sleeps on it. Given to the client as ``sleep`` and
    ``clock``, its retry waits and its adaptive rate limiter cost no real time (the executor
    does not wait: it never retries what the client gave up on): a test then checks what the
    code does (how often, in which order), never how long it takes. ``slept`` keeps every wait
    asked for."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await anyio.lowlevel.checkpoint()
