"""How fast the client sends: a fixed ceiling, and an adaptive rate that backs off on 429.

The ceiling is the configured requests per second, enforced by aiolimiter's leaky bucket.

Under it sits an adaptive token bucket following AWS's "adaptive" retry mode (itself TCP
CUBIC): on a throttle the rate drops to ``beta`` times the rate measured at that moment;
afterwards it grows along a cubic curve back towards that point and then beyond it, so a
server that lowered its limit is found again gently and a misconfigured client settles
just under the server's limit instead of hammering it. aiolimiter has no variable fill
rate, which is why this part is written here rather than taken from a library.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable

import anyio
from aiolimiter import AsyncLimiter

BETA = 0.7  # multiplicative decrease on a throttle
SCALE = 0.4  # CUBIC's C: how fast the rate grows back
MIN_RATE = 0.5  # requests per second, the floor
WINDOW = 1.0  # seconds over which the send rate is measured
# One decrease per this many seconds: the requests already in flight when the first 429
# arrives meet the same full bucket, and cutting once for each of them (as a naive
# implementation does) would collapse the rate. TCP decreases once per round trip likewise.
DECREASE_GUARD = 0.5
# The ceiling refills in slices this long, so a fresh client bursts rate/10, not a full second's worth.
CEILING_SLICE = 0.1


class AdaptiveRateLimiter:
    def __init__(
        self,
        max_rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if max_rate <= 0:
            raise ValueError("rate must be positive")
        self.max_rate = max_rate
        self._clock = clock
        self._sleep = sleep  # with ``clock``, injectable so tests can run on virtual time
        self._ceiling = AsyncLimiter(max(1.0, max_rate * CEILING_SLICE), CEILING_SLICE)
        self._lock = anyio.Lock()
        # adaptive bucket (inactive until the first throttle)
        self._enabled = False
        self._fill_rate = max_rate
        self._capacity = max(1.0, max_rate * CEILING_SLICE)
        self._tokens = 0.0
        self._last_refill = clock()
        # CUBIC state
        self._last_max_rate = max_rate
        self._last_throttle = clock()
        self._k = 0.0
        # measured rate: answers *not* throttled in the last WINDOW seconds, which is what the
        # server accepted, so the rate remembered at a throttle approximates the server's limit
        self._answers: deque[float] = deque()
        self._started = clock()
        self._measured = 0.0
        self.throttles = 0

    @property
    def current_rate(self) -> float:
        """The rate the client currently allows itself, in requests per second."""
        return min(self._fill_rate, self.max_rate) if self._enabled else self.max_rate

    async def acquire(self) -> None:
        """Wait until one request may be sent."""
        await self._ceiling.acquire()
        if not self._enabled:
            return
        async with self._lock:  # one waiter at a time keeps the bucket fair and simple
            while True:
                self._refill()
                # A tolerance, and a floor on the wait: sleeping exactly the deficit can leave the
                # bucket a rounding error short of a token, forever on a clock that only moves
                # when slept on.
                if self._tokens >= 1 - 1e-9:
                    self._tokens = max(0.0, self._tokens - 1)
                    return
                await self._sleep(max((1 - self._tokens) / self._fill_rate, 1e-4))

    def on_response(self, throttled: bool) -> None:
        """Feed back one answer: ``throttled`` for a 429, False for any other answer."""
        now = self._clock()
        self._update_measured(now, throttled)
        if throttled:
            self.throttles += 1
            if self._enabled and now - self._last_throttle < DECREASE_GUARD:
                return
            rate = self._measured if not self._enabled else min(self._measured, self._fill_rate)
            self._last_max_rate = max(rate, MIN_RATE)
            self._k = (self._last_max_rate * (1 - BETA) / SCALE) ** (1 / 3)
            self._last_throttle = now
            self._set_fill(self._last_max_rate * BETA)
            self._enabled = True
        elif self._enabled:
            cubic = SCALE * (now - self._last_throttle - self._k) ** 3 + self._last_max_rate
            self._set_fill(min(cubic, 2 * max(self._measured, MIN_RATE)))

    def _set_fill(self, rate: float) -> None:
        self._refill()
        self._fill_rate = max(MIN_RATE, min(rate, self.max_rate))
        # A small bucket paces requests evenly: a full second's worth of tokens, saved up while
        # workers honoured a Retry-After, would go out as one burst and be throttled again.
        self._capacity = max(1.0, self._fill_rate * CEILING_SLICE)
        self._tokens = min(self._tokens, self._capacity)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._last_refill) * self._fill_rate)
        self._last_refill = now

    def _update_measured(self, now: float, throttled: bool) -> None:
        if not throttled:
            self._answers.append(now)
        while self._answers and self._answers[0] < now - WINDOW:
            self._answers.popleft()
        span = min(WINDOW, max(now - self._started, WINDOW / 2))
        self._measured = len(self._answers) / span
