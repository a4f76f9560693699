"""How fast the client sends: the configured rate as a ceiling, and under it an adaptive rate
that finds the server's limit from its 429s.

Sending is paced by a GCRA schedule (each request goes ``1 / rate`` after the previous one,
with a small burst allowance): O(1) per request, and the rate can change at any moment,
which aiolimiter's fixed-rate bucket (used here before) cannot do.

It paces in batches: at ``BATCHED_RATE`` or more, a request that must wait sleeps to the end
of its slot's batch (a grid of ``BATCH`` seconds), and those queued behind it whose slots have
come by then go as it wakes, so one timer lets go every request due in a batch (three at 300 a
second) rather than one timer and one wake-up of the event loop for each, which was a large
part of the client's CPU under a rate limit. The schedule is the same (each request still
takes its ``1 / rate`` of it), so the rate is; a request goes at most ``BATCH`` late, never
early, and the back-to-back run at a wake-up is under ``BURST``'s. Below ``BATCHED_RATE`` a
batch would hold one request and save nothing: each waits for its own slot.

The adaptive rate is decided once per *window* of answers (at least ``MIN_WINDOW`` seconds
and ``MIN_ANSWERS`` answers, at most ``MAX_WINDOW`` seconds; a window that is mostly 429s is
decided at once):

- a calm window (at most one 429; or, once background 429s are known, no more than their
  share and its noise): the rate grows back quickly (×1.25 per 0.1 s) to the last rate that
  worked, then probes above it gently (×1.02 per 0.5 s, a pace that doubles every 0.5 s
  without a 429), so a client told 5 × the server's limit settles just under it;
- a throttled window: the rate is cut to the part of it the server accepted (the rate times
  one minus the share of 429s beyond the background), less a 3% margin, at most halving in
  one step. A single 429 is noise and cuts nothing; a burst of them cuts once per window;
- *a decrease must help*: 429s that are not about the rate (per account, injected at random)
  arrive in the same proportion whatever the rate, while those of a rate limit fall as the
  rate does (to ``1 - accepted / rate``). When the window after a decrease shows a share of
  429s the same as before within chance, and above what a rate limit predicts, the rate is
  cut once more (a limit only just passed leaves the server's bucket empty for a while); if
  the share still does not move, both decreases are undone and that share is learnt as the
  background, which later windows are judged against. It fades (halving every
  ``BACKGROUND_HALF_LIFE`` seconds), so a real limit met later is still found.

It starts slowly, as TCP does: at most ``INITIAL_RATE``, growing ×``SLOW_START`` per 0.1 s
of answers without a 429 until the ceiling or the first 429. Starting at a ceiling set far
above the server's limit sent a round trip's worth of requests at that ceiling before the
first answer could say so, and most of them were 429s; starting low costs a fraction of a
second when the ceiling is right. The first 429 ends the slow start at once (not at the end
of a window): the rate goes back to the last one whose answers were all accepted, less the
margin, and the windows above take over from there. The start grows only while answers come
about as fast as its rate: a client held back by something else (a slow server, the
concurrency) has not tried its rate, and growing anyway let it burst at the ceiling once the
server sped up.
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable, Callable

import anyio

from orchestrator.log import get_logger

log = get_logger("orchestrator.api")

MIN_RATE = 0.5  # requests per second, the floor
BURST = 0.02  # seconds' worth of requests that may go out back to back (GCRA tolerance)
BATCH = 0.01  # seconds: the pacing's wake-ups are on a grid this fine (see the docstring)
BATCHED_RATE = 2 / BATCH  # from this rate on: below it a batch holds one request, and saves no timer
MIN_WINDOW = 0.1  # seconds
MAX_WINDOW = 1.0
MIN_ANSWERS = 50
CLEAR_ANSWERS = 24  # answers enough to act at once on a window that is mostly 429s
CLEAR_SHARE = 0.5
EVIDENCE = 100  # answers that judge whether a decrease helped
MAX_EVIDENCE_WINDOW = 10.0  # seconds
GROW_BACK = 1.25  # per 0.1 s, while under the last rate that worked
PROBE = 1.02  # per 0.5 s, above it, at first
MAX_PROBE = 0.5  # the fastest probe: ×1.5 per 0.5 s
MAX_DOUBLINGS = 8.0  # (PROBE - 1) * 2**8 is past MAX_PROBE already; more would only overflow
MARGIN = 0.97  # a decrease aims this far under the rate the server accepted
MAX_CUT = 0.5  # a decrease keeps at least this share of the rate
# With a background of 429s, a window counts as throttled when its share of them passes the
# background share by this many standard deviations of a binomial sample of its size.
NOISE_SIGMAS = 3.0
BACKGROUND_HALF_LIFE = 20.0  # seconds
MIN_BACKGROUND = 0.005  # a background share below this is taken as none
# A share of 429s above this is taken as a rate limit, never as background: the first window
# that meets a limit also meets the server's saved-up burst, which makes the limit look like
# a share that does not move with the rate.
MAX_BACKGROUND = 0.3
# Nor is a share below this learnt as background: just under a limit, the server's bucket
# refills slowly after a decrease, and a few 429s go on that the next decrease does stop.
MIN_LEARNT = 0.05
INITIAL_RATE = 200.0  # requests per second at start, when the ceiling is higher
SLOW_START = 1.3  # growth per 0.1 s of answers without a 429, while starting
SLOW_START_ANSWERS = 8  # answers enough to grow on, while starting
TRIED_SHARE = 0.7  # the start grows only while answers come at this share of its rate or more


class AdaptiveRateLimiter:
    """Paces ``acquire`` at ``current_rate``, adapted from the answers fed to ``on_response``."""

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
        self._rate = min(max_rate, INITIAL_RATE)
        self._starting = self._rate < max_rate
        self._start_good: float | None = None  # while starting, the last rate all of whose answers were accepted
        self._lock = anyio.Lock(fast_acquire=True)
        self._next = clock()  # GCRA: the earliest time the next request may go
        self._good = max_rate  # the last rate that drew no throttling
        self._background = 0.0  # share of 429s that does not depend on the rate
        self._background_at = clock()
        self._window_start = clock()
        self._answers = 0
        self._throttled = 0
        # (rate, 429 share) before the last decrease, and how many decreases since that rate
        self._cut_from: tuple[float, float, int] | None = None
        self._cut_at = clock()  # answers to requests sent before the last decrease judge nothing
        self._calm_since = clock()  # since the last window that was not calm
        self.throttles = 0

    @property
    def current_rate(self) -> float:
        """The rate the client currently allows itself, in requests per second."""
        return self._rate

    @property
    def background(self) -> float:
        """The learnt share of 429s that are not about the rate."""
        return self._background_decayed(self._clock())

    def set_ceiling(self, max_rate: float) -> None:
        """A new ceiling (a shard's share of the fleet's rate changed): a lower one applies at
        once; a higher one is grown to as after a calm window, from the last rate that worked."""
        if max_rate <= 0:
            raise ValueError("rate must be positive")
        raised = max_rate > self.max_rate
        at_ceiling = self._rate >= self.max_rate * MARGIN
        self.max_rate = max_rate
        if self._rate > max_rate:
            self._rate = max_rate
        self._good = min(self._good, max_rate)
        if raised and at_ceiling:  # nothing said the old ceiling was too fast: the new one may be tried
            self._good = max_rate

    async def acquire(self) -> float:
        """Wait for this request's slot; return the time it was sent (to give ``on_response``)."""
        now = self._clock()
        slot = max(self._next, now - BURST)
        if slot <= now and not self._lock.locked():
            # Due, and nobody waiting ahead of it: no wait at all (not even a pass through the
            # event loop; the request's send yields soon enough).
            self._next = slot + 1 / self._rate
            return now
        # One waiter sleeps at a time: the next slot is then computed at the rate in force when
        # its turn comes (a cut applies at once), and an injected virtual clock, which advances
        # by each sleep, advances by the pacing and not by the sum of every waiter's wait. At a
        # rate of ``BATCHED_RATE`` or more it sleeps to the end of its slot's batch (a grid
        # of ``BATCH`` seconds), and the waiters behind it whose slots have come by then go
        # without sleeping: one timer a batch.
        async with self._lock:
            now = self._clock()
            slot = max(self._next, now - BURST)
            if slot > now:
                # (less a hair: a slot on the grid but for a rounding error wakes on that point)
                wake = math.ceil(slot / BATCH - 1e-6) * BATCH if self._rate >= BATCHED_RATE else slot
                if wake > now:
                    await self._sleep(wake - now)
                    now = max(wake, self._clock())
            self._next = slot + 1 / self._rate
            return now

    def on_response(self, throttled: bool, sent: float | None = None) -> None:
        """Feed back one answer: ``throttled`` for a 429, False for any other answer; ``sent``
        as ``acquire`` returned it."""
        if throttled:
            self.throttles += 1
        if sent is not None and sent < self._cut_at:
            return  # sent at the old rate: it says nothing about the new one
        now = self._clock()
        if self._starting and self._slow_start(now, throttled):
            return
        if self._answers == 0:
            self._window_start = now  # a window spans the answers it counts, not the wait for them
        self._answers += 1
        self._throttled += throttled
        answers, elapsed = self._answers, now - self._window_start
        # A window where most answers are 429s is decided at once: waiting out the window
        # would send a whole window's worth more into a full bucket.
        clearly_limited = answers >= CLEAR_ANSWERS and self._throttled / answers > CLEAR_SHARE
        if self._cut_from is not None:
            # Judging a decrease takes more answers than judging a window: chance alone moves
            # the share of 429s in a small sample more than a decrease does.
            if answers < EVIDENCE and elapsed < MAX_EVIDENCE_WINDOW and not clearly_limited:
                return
        elif not clearly_limited and (elapsed < MIN_WINDOW or (answers < MIN_ANSWERS and elapsed < MAX_WINDOW)):
            return
        self._decide(now, max(elapsed, 1e-3), answers, self._throttled)
        self._answers, self._throttled = 0, 0

    def _slow_start(self, now: float, throttled: bool) -> bool:
        """One answer while starting; False when it ended the start and the windows take it."""
        if throttled:
            self._starting = False
            self._answers, self._throttled = 0, 0
            if self._start_good is None:
                return False  # the very first rate was too fast: a window judges by how much
            self._cut_at = self._calm_since = now
            self._good = self._start_good * MARGIN
            self._set(self._good)
            return True
        if self._answers == 0:
            self._window_start = now
        self._answers += 1
        elapsed = now - self._window_start
        if self._answers >= SLOW_START_ANSWERS and elapsed >= MIN_WINDOW:
            # Only a rate the answers kept up with was tried: when something else (a slow
            # server, the concurrency) holds the requests back, growing would only let a later
            # burst go at a rate never tried, as a 429 storm. (The answers lag the rate by a
            # round trip, one growth step: hence a share, not the whole rate.)
            if self._answers / elapsed >= TRIED_SHARE * self._rate:
                self._start_good = self._rate
                self._set(self._rate * SLOW_START ** (elapsed / MIN_WINDOW))
                self._good = self._rate
                self._starting = self._rate < self.max_rate
            self._answers = 0
        return True

    def _decide(self, now: float, elapsed: float, answers: int, throttled: int) -> None:
        share = throttled / answers
        background = self._background_decayed(now)
        if self._cut_from is not None:
            rate_before, share_before, depth = self._cut_from
            self._cut_from = None
            self._calm_since = now
            # Were these 429s about the rate, their share would have fallen as the rate did;
            # were they not, it would have stayed where it was, give or take chance.
            about_rate = max(0.0, 1 - (1 - share_before) * rate_before / self._rate)
            if (
                min(share, share_before) >= MIN_LEARNT
                and share <= MAX_BACKGROUND
                and abs(share - share_before) <= _noise(share_before, answers)
                and share > about_rate + _noise(about_rate, answers)
            ):
                if depth == 1:
                    # Once may be a limit only just passed, whose bucket is still empty: the
                    # same cut again, and judge again.
                    self._cut(now, self._rate * (1 - share) * MARGIN, (rate_before, share_before, 2))
                    return
                # Twice changed nothing: these 429s are not about the rate.
                self._background = max(background, min(share, share_before))
                self._background_at = now
                self._good = max(self._good, rate_before)
                self._set(rate_before)
                return
        # Below MIN_BACKGROUND, one 429 is an accident; two in a window are the limit.
        calm = throttled <= 1 if background < MIN_BACKGROUND else share <= background + _noise(background, answers)
        if calm:
            if self._rate >= self.max_rate:
                self._good = self.max_rate
            elif self._rate < self._good * MARGIN:
                self._set(min(self._good, self._rate * GROW_BACK ** (elapsed / 0.1)))
            else:
                # Probing above the last good rate starts gently and doubles its pace every
                # second without a 429: a limit that was lifted is found again in seconds.
                doublings = min(MAX_DOUBLINGS, (now - self._calm_since) / 0.5)
                step = min(MAX_PROBE, (PROBE - 1) * 2**doublings)
                self._set(self._rate * (1 + step) ** min(1.0, elapsed / 0.5))
                self._good = max(self._good, self._rate)
            return
        excess = max(0.0, (share - background) / max(1e-9, 1 - background))
        self._cut(now, self._rate * (1 - excess) * MARGIN, (self._rate, share, 1))

    def _cut(self, now: float, target: float, evidence: tuple[float, float, int]) -> None:
        target = max(self._rate * MAX_CUT, target)
        self._cut_from = evidence
        self._cut_at = self._calm_since = now
        self._good = target
        self._set(target)

    def _background_decayed(self, now: float) -> float:
        return self._background * 0.5 ** ((now - self._background_at) / BACKGROUND_HALF_LIFE)

    def _set(self, rate: float) -> None:
        rate = max(MIN_RATE, min(rate, self.max_rate))
        if abs(rate - self._rate) > 0.05 * self._rate:
            log.debug("rate", rate=round(rate, 1), was=round(self._rate, 1), background=round(self._background, 3))
        self._rate = rate


def _noise(share: float, answers: int) -> float:
    """How far a window of ``answers`` may stray from an expected 429 ``share`` by chance."""
    p = min(max(share, 1 / answers), 0.5)
    return NOISE_SIGMAS * math.sqrt(p * (1 - p) / answers)
