"""The limiter paces in batches: on virtual time, many waiters at a rate of ``BATCHED_RATE`` or
more take one sleep a batch, none goes before its slot of the schedule nor more than a batch
after it; below that rate each request still waits for its own slot. And the bytes the
``Sender`` writes itself (query, JSON body) are those httpx would have written."""

from __future__ import annotations

import anyio
import httpx
import pytest

from orchestrator.api.http import encode_json, encode_query
from orchestrator.api.ratelimit import BATCH, BATCHED_RATE, INITIAL_RATE, AdaptiveRateLimiter
from tests.harness import VirtualTime


async def paced(rate: float, waiters: int, each: int) -> tuple[VirtualTime, list[float]]:
    time = VirtualTime()
    limiter = AdaptiveRateLimiter(rate, clock=time.clock, sleep=time.sleep)
    sent: list[float] = []

    async def send() -> None:
        for _ in range(each):
            sent.append(await limiter.acquire())

    async with anyio.create_task_group() as tg:
        for _ in range(waiters):
            tg.start_soon(send)
    return time, sent


async def test_many_waiters_take_one_sleep_a_batch_and_keep_the_schedule():
    rate = INITIAL_RATE  # no slow start below its ceiling: the rate stays put
    assert rate >= BATCHED_RATE
    time, sent = await paced(rate, waiters=64, each=10)
    assert len(sent) == 640
    per_batch = rate * BATCH
    assert len(time.slept) <= len(sent) / per_batch + 1, len(time.slept)
    for i, at in enumerate(sorted(sent)):  # the i-th request's slot is i / rate
        assert i / rate - 1e-9 <= at <= i / rate + BATCH + 1e-9, (i, at)


async def test_below_the_batched_rate_each_request_waits_for_its_slot():
    rate = BATCHED_RATE / 2
    time, sent = await paced(rate, waiters=8, each=10)
    assert len(time.slept) == len(sent) - 1  # the first goes at once
    for i, at in enumerate(sorted(sent)):
        assert at == pytest.approx(i / rate)


@pytest.mark.parametrize("params", [
    {"page": 2, "per_page": 100},
    {"active": True, "verified": False, "q": "a b&c=d/é", "ids": [1, 2, 3], "empty": ""},
])
def test_the_query_is_written_as_httpx_writes_it(params):
    assert encode_query(params) == httpx.Request("GET", "http://x.invalid/", params=params).url.query.decode()


def test_a_json_body_is_written_as_httpx_writes_it():
    body = {"likes_speed": 4, "caption": "é ✓ \"quoted\"", "tags": ["a", None], "on": True, "ratio": 0.5}
    assert encode_json(body) == httpx.Request("POST", "http://x.invalid/", json=body).content
