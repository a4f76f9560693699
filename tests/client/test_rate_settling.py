"""The adaptive rate limiter against a server's limit, on virtual time: no test here waits.

A small discrete-event simulation drives ``AdaptiveRateLimiter``: requests go when the
limiter lets them, a simulated server admits them by its own token bucket (and/or throttles
a random share of them), and each answer comes back one round trip (50 ± 10 ms of virtual
time) later, at most ``concurrency`` in flight. The tests then check what the limiter did:
the share of 429s, how much of the server's capacity it used, how its rate moved.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field

import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.api.ratelimit import INITIAL_RATE, AdaptiveRateLimiter
from orchestrator.api.retry import RetrySettings
from orchestrator.emulator.testing import BASE_URL
from tests.harness import VirtualTime


@dataclass
class Server:
    """Admits ``rate`` requests a second (bucket of ``burst``) and throttles ``random_share``
    of all requests whatever the rate; ``rate`` None for no limit."""

    rate: float | None
    burst: float = 15
    random_share: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(1))
    tokens: float = 0.0
    last: float = 0.0

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def admits(self, at: float) -> bool:
        if self.rng.random() < self.random_share:
            return False
        if self.rate is None:
            return True
        self.tokens = min(self.burst, self.tokens + (at - self.last) * self.rate)
        self.last = at
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


@dataclass
class Outcome:
    sent: int = 0
    throttled: int = 0
    rates: list[tuple[float, float]] = field(default_factory=list)  # (time, limiter rate)

    def share(self) -> float:
        return self.throttled / max(1, self.sent)


async def drive(limiter: AdaptiveRateLimiter, time: VirtualTime, server: Server, *, until: float,
                concurrency: int = 64, outcome: Outcome | None = None) -> Outcome:
    """Send through ``limiter`` until virtual time ``until``; the loop is bounded by the
    limiter's ceiling (at most ``max_rate * until`` requests)."""
    rng = random.Random(2)
    out = outcome or Outcome()
    in_flight: list[tuple[float, float, bool]] = []  # (answer due, sent at, throttled)

    def deliver() -> None:
        while in_flight and in_flight[0][0] <= time.now:
            _, sent_at, throttled = heapq.heappop(in_flight)
            limiter.on_response(throttled, sent=sent_at)

    for _ in range(int(limiter.max_rate * until) + 1):
        if time.now >= until:
            break
        if len(in_flight) >= concurrency:
            time.now = max(time.now, in_flight[0][0])
        deliver()
        sent_at = await limiter.acquire()
        deliver()
        rtt = 0.05 + rng.uniform(-0.01, 0.01)
        admitted = server.admits(time.now + rtt / 2)
        heapq.heappush(in_flight, (time.now + rtt, sent_at, not admitted))
        out.sent += 1
        out.throttled += not admitted
        out.rates.append((time.now, limiter.current_rate))
    return out


def limiter_on(time: VirtualTime, max_rate: float) -> AdaptiveRateLimiter:
    return AdaptiveRateLimiter(max_rate, clock=time.clock, sleep=time.sleep)


async def test_told_the_servers_rate_it_holds_it_without_429s():
    time = VirtualTime()
    limiter = limiter_on(time, 300)
    out = await drive(limiter, time, Server(rate=300), until=20)
    assert out.share() < 0.01, out.share()
    assert out.sent >= 0.97 * 300 * 20


async def test_told_five_times_the_limit_it_settles_just_under_it():
    time = VirtualTime()
    limiter = limiter_on(time, 1500)
    server = Server(rate=300)
    await drive(limiter, time, server, until=5)  # finding the limit
    settled = await drive(limiter, time, server, until=35)
    assert settled.share() < 0.02, settled.share()
    accepted = (settled.sent - settled.throttled) / 30
    assert accepted >= 0.9 * 300, accepted
    assert all(200 < rate < 400 for _, rate in settled.rates)


async def test_told_five_times_the_limit_few_429s_from_the_very_start():
    """The slow start: a client told 5 x R does not send a round trip's worth at 5 x R before
    its first answer; over the first 7 s (a 2,000-account plan) under 2% of requests are 429s."""
    time = VirtualTime()
    limiter = limiter_on(time, 1500)
    out = await drive(limiter, time, Server(rate=300), until=7)
    assert out.share() < 0.02, out.share()
    assert (out.sent - out.throttled) / 7 >= 0.95 * 300
    assert max(rate for _, rate in out.rates) < 2 * 300  # it never came near its ceiling


async def test_the_slow_start_reaches_a_right_ceiling_within_a_second():
    time = VirtualTime()
    limiter = limiter_on(time, 300)
    assert limiter.current_rate == INITIAL_RATE
    out = await drive(limiter, time, Server(rate=300), until=2)
    assert out.throttled == 0
    assert min(at for at, rate in out.rates if rate == 300) < 1.0
    assert out.sent >= 0.95 * 300 * 2


async def test_the_start_grows_only_while_answers_keep_up_with_its_rate():
    """Held back by something else (4 in flight: 80 requests a second), the start has not
    tried its rate and does not grow it; once requests are many, it starts from there."""
    time = VirtualTime()
    limiter = limiter_on(time, 1500)
    slow = await drive(limiter, time, Server(rate=300), until=3, concurrency=4)
    assert slow.throttled == 0
    assert limiter.current_rate == INITIAL_RATE
    fast = await drive(limiter, time, Server(rate=300), until=10)
    assert fast.share() < 0.03, fast.share()  # a start from 200/s, not a burst at 1,500


async def test_a_ceiling_under_the_initial_rate_is_used_from_the_start():
    time = VirtualTime()
    limiter = limiter_on(time, INITIAL_RATE / 2)
    assert limiter.current_rate == INITIAL_RATE / 2


async def test_a_limit_under_the_initial_rate_is_found():
    """The very first answers are 429s: no rate of the start was good, the windows cut."""
    time = VirtualTime()
    limiter = limiter_on(time, 1500)
    server = Server(rate=50, burst=5)
    await drive(limiter, time, server, until=10)
    settled = await drive(limiter, time, server, until=30)
    assert 0.8 * 50 <= (settled.sent - settled.throttled) / 20 <= 50
    assert settled.share() < 0.1, settled.share()


async def test_a_single_429_cuts_nothing():
    time = VirtualTime()
    limiter = limiter_on(time, 300)
    for n in range(600):
        await limiter.acquire()
        limiter.on_response(n == 300)
    assert limiter.current_rate == 300


async def test_it_recovers_quickly_once_the_throttling_stops():
    time = VirtualTime()
    limiter = limiter_on(time, 300)
    await drive(limiter, time, Server(rate=100), until=5)
    assert limiter.current_rate < 150  # it found the lower limit
    out = await drive(limiter, time, Server(rate=None), until=10)
    late = [rate for at, rate in out.rates if at > 9]  # within 4 s of the limit being lifted
    assert late and min(late) >= 0.9 * 300, min(late)


async def test_random_429s_do_not_throttle_the_fleet():
    """10% of answers are 429 whatever the rate (per-account or injected ones): the limiter
    learns that share as background and keeps sending near its ceiling."""
    time = VirtualTime()
    limiter = limiter_on(time, 100)
    out = await drive(limiter, time, Server(rate=None, random_share=0.1), until=30)
    late = [rate for at, rate in out.rates if at > 10]
    assert sum(late) / len(late) >= 0.85 * 100, sum(late) / len(late)
    assert out.sent >= 0.85 * 100 * 30
    assert limiter.background > 0.02


async def test_random_429s_on_top_of_a_limit_still_find_the_limit():
    time = VirtualTime()
    limiter = limiter_on(time, 1500)
    server = Server(rate=300, random_share=0.1)
    await drive(limiter, time, server, until=5)
    settled = await drive(limiter, time, server, until=35)
    accepted = (settled.sent - settled.throttled) / 30
    assert 0.7 * 300 <= accepted <= 300, accepted
    assert settled.share() < 0.2, settled.share()


async def test_the_client_keeps_its_rate_through_injected_429s(emu, control):
    """End to end through the emulator: 10% of answers are injected 429s. The client retries
    them and its rate stays near its ceiling (on virtual time: the retry waits cost nothing)."""
    await control.put("/faults", json={"error_rate": 0.1, "error_statuses": {"429": 1}, "seed": 3, "retry_after": 1})
    time = VirtualTime()
    async with SharingtoolsClient(
        f"{BASE_URL}/api/v1", emu.keys["alice"], transport=emu.transport(), rate=50, concurrency=1,
        retry=RetrySettings(attempts=20), sleep=time.sleep, clock=time.clock,
    ) as client:
        for n in range(600):
            assert (await client.accounts.get(1 + n % 25)).id == 1 + n % 25
        limiter = client.transport.limiter
    assert limiter.throttles > 20
    assert limiter.current_rate >= 0.7 * 50, limiter.current_rate


async def test_hours_without_a_429_are_fine():
    """A long calm (a big fleet against a server that never throttles) neither overflows the
    probe's pace nor moves the rate off its ceiling."""
    time = VirtualTime()
    limiter = limiter_on(time, 50)
    for _ in range(2000):
        await limiter.acquire()
        limiter.on_response(False)
        time.now += 5  # 10,000 s of virtual time in all
    assert limiter.current_rate == 50
    await limiter.acquire()
    limiter.on_response(True)
    limiter.on_response(True)
    for _ in range(200):
        await limiter.acquire()
        limiter.on_response(False)
        time.now += 0.5
    assert 0 < limiter.current_rate <= 50


@pytest.mark.parametrize("bad", [0, -1])
def test_a_rate_must_be_positive(bad):
    with pytest.raises(ValueError):
        AdaptiveRateLimiter(bad)
