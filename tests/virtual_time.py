"""Virtual time for the client and the executor: one clock for every test that must not wait."""

from __future__ import annotations

import anyio


class VirtualTime:
    """Time that passes only when something sleeps on it. Given to the client as ``sleep`` and
    ``clock`` (and to the executor as ``sleep``), its retry waits, its adaptive rate limiter and
    the executor's backoff cost no real time: a test then checks what the code does (how often,
    in which order), never how long it takes. ``slept`` keeps every wait asked for."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await anyio.sleep(0)
