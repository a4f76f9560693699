"""The one place HTTP happens: ``Transport.call`` sends a request through the limits and the
retry policy and returns the unwrapped envelope, or raises an error from ``errors``.

The httpx transport under the ``Sender`` is injected, as httpx itself recommends: tests pass
the emulator's in-process transport, the CLI a real connection pool.

This runs for every request, so the path of a call answered at the first attempt is kept
short: no retry machinery is built for it (the loop is a ``while``), the answer comes as bytes
(``http.Answer``) and is read once, into the envelope.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import anyio
import httpx

from orchestrator.api.envelope import Envelope, read
from orchestrator.api.http import Answer, Sender
from orchestrator.api.errors import (
    ApiError,
    Conflict,
    RateLimited,
    ResponseError,
    TransportError,
    UnexpectedAnswer,
    classify,
)
from orchestrator.api.ratelimit import AdaptiveRateLimiter
from orchestrator.api.retry import (
    Policy,
    RetrySettings,
    is_retryable,
    may_have_applied,
    wait_full_jitter_or_retry_after,
)
from orchestrator.log import get_logger

log = get_logger("orchestrator.api")
Readback = Callable[[], Awaitable[Any]]


@dataclass
class CallStats:
    """What the transport did, for run reports: requests by status, retries, throttles."""

    requests: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    readbacks: int = 0
    conflicts_as_success: int = 0

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": dict(sorted(self.requests.items())),
            "total": sum(self.requests.values()),
            "retries": self.retries,
            "readbacks": self.readbacks,
            "conflicts_as_success": self.conflicts_as_success,
        }


@dataclass(slots=True)
class SendMark:
    """Whether a write went out: set by `Transport` as it sends one, for the caller who put the
    mark in `WRITE_SENT` (the executor: an operation cancelled before any of its writes was sent
    cannot take effect, so it is not in doubt)."""

    sent: bool = False


#: The mark of the operation the current task carries out (None: nobody asks).
WRITE_SENT: ContextVar[SendMark | None] = ContextVar("write_sent", default=None)


@dataclass(frozen=True, slots=True)
class Result:
    """A successful answer: the envelope's ``data`` and ``message``, and the HTTP status."""

    status: int
    data: Any
    message: str | None
    recovered: bool = False  # True when a retry found the first attempt had taken effect


class Transport:
    def __init__(
        self,
        http: Sender,
        *,
        rate: float,
        concurrency: int,
        retry: RetrySettings,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.http = http
        # The limiter shares the retry loop's sleep, and takes a clock, so that tests can run
        # it on virtual time; by default both are real.
        self.limiter = (
            AdaptiveRateLimiter(rate, clock=clock, sleep=sleep) if clock is not None else AdaptiveRateLimiter(rate)
        )
        self.slots = anyio.CapacityLimiter(concurrency)
        #: Tasks enough to keep every slot busy (``orchestrator.api.fanout``): twice the slots, so
        #: that a task doing its own work between two calls leaves none idle.
        self.workers = 2 * concurrency
        self.retry = retry
        self.sleep = sleep
        # Built once, not for every call (its ``random.Random`` seeds itself from the OS when made).
        self._wait = wait_full_jitter_or_retry_after(retry)
        self.stats = CallStats()

    def set_budget(self, rate: float, concurrency: int) -> None:
        """A new share of the installation's budget (a shard among live shards): the rate's
        ceiling and the slots in flight. Requests already in flight keep their slots."""
        self.limiter.set_ceiling(rate)
        self.slots.total_tokens = max(1, concurrency)

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        files: Any = None,
        policy: Policy = Policy.READ,
        readback: Readback | None = None,
    ) -> Result:
        """Send with retries per ``policy``; see ``retry.py`` for what each policy allows."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        # The first attempt's turn (a concurrency slot) is waited for before the retry
        # machinery is built: a plan queues a call per account here, and thousands of idle
        # retry states (about 6 KB each) would be memory spent on nothing.
        await self.slots.acquire()
        held = True  # until the first attempt's ``_send`` takes the slot over
        try:
            # tenacity's rules, without its machinery on every call: whatever an attempt raises
            # is retried only if ``is_retryable`` says so, then not after the last attempt nor
            # once the deadline has passed since the first one began, then after the wait.
            first = time.monotonic()
            maybe_applied = False
            unsettled: TransportError | None = None  # the last attempt's, when it timed out waiting
            number = 1
            while True:
                try:
                    if number > 1:
                        self.stats.retries += 1
                        if policy is Policy.CREATE_READBACK and maybe_applied and readback is not None:
                            self.stats.readbacks += 1
                            found = await readback()
                            if found is not None:
                                return Result(200, found, None, recovered=True)
                            if unsettled is not None:
                                # Not made yet, but the server may still be working on the
                                # attempt that timed out: a resend could make a second copy.
                                unsettled.in_doubt = True
                                raise unsettled
                    try:
                        slot_held, held = held, False
                        return await self._send(method, path, params, json, files, number, slot_held)
                    except Conflict:
                        if number > 1 and maybe_applied and policy is Policy.CREATE_CONFLICT_OK:
                            self.stats.conflicts_as_success += 1
                            return Result(409, None, None, recovered=True)
                        raise
                    except ApiError as exc:
                        maybe_applied = maybe_applied or may_have_applied(exc)
                        unsettled = exc if isinstance(exc, TransportError) and exc.unsettled else None
                        raise
                except BaseException as exc:
                    if (not is_retryable(exc, policy) or number >= self.retry.attempts
                            or time.monotonic() - first >= self.retry.deadline):
                        raise
                    await self.sleep(self._wait.delay(number, exc))
                    number += 1
        finally:
            if held:
                self.slots.release()

    async def _send(
        self, method: str, path: str, params: dict[str, Any], json: Any, files: Any, attempt: int,
        slot_held: bool = False,
    ) -> Result:
        # The concurrency slot is taken before the rate's: a request the limiter lets go is
        # sent then, not queued behind slow answers and released later in a burst (which
        # the server's bucket answers with 429s while the limiter believes it kept its pace).
        if not slot_held:
            await self.slots.acquire()
        try:
            sent = await self.limiter.acquire()
            started = time.monotonic()
            mark = WRITE_SENT.get()
            if mark is not None and method != "GET":
                mark.sent = True  # from here on the server may have it
            try:
                response = await self.http.request(method, path.lstrip("/"), params=params, json=json, files=files)
            except httpx.TimeoutException as exc:
                self._record(method, path, "timeout", started, attempt)
                # A connect timeout never reached the server; a read or write timeout may have.
                raise TransportError(
                    f"timed out ({type(exc).__name__})", method=method, path=path,
                    maybe_applied=not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)),
                    unsettled=isinstance(exc, httpx.ReadTimeout),
                ) from None
            except httpx.TransportError as exc:
                self._record(method, path, "transport-error", started, attempt)
                raise TransportError(
                    f"no answer ({type(exc).__name__})", method=method, path=path,
                    maybe_applied=not isinstance(exc, httpx.ConnectError),
                ) from None
        finally:
            self.slots.release()
        status = response.status
        self.limiter.on_response(throttled=status == 429, sent=sent)
        self._record(method, path, status, started, attempt)
        env = read(status, response.content, response.content_type, reading=method == "GET")
        if env.ok:
            return Result(status, env.data, env.message)
        if env.problem is not None:
            # Not the API's answer (a maintenance page, a cut-off body, no envelope): never data.
            raise UnexpectedAnswer(env.problem, method=method, path=path, status=status,
                                   page=params.get("page"), transient=env.transient)
        raise self._error(method, path, response, env, env.body)

    def _error(self, method: str, path: str, response: Answer, env: Envelope, body: Any) -> ResponseError:
        status = response.status
        message = env.message or response.reason_phrase or "error"
        if status == 202:
            message = env.message or "accepted, try again later"
        cls = classify(status, message)
        if cls is RateLimited:
            return RateLimited(
                message, method=method, path=path, status=status, errors=env.errors, body=body,
                retry_after=parse_retry_after(response.retry_after),
            )
        return cls(message, method=method, path=path, status=status, errors=env.errors, body=body)

    def _record(self, method: str, path: str, outcome: str | int, started: float, attempt: int) -> None:
        outcome = str(outcome)
        self.stats.requests[outcome] += 1
        log.debug(
            "request", method=method, path=path, status=outcome,
            duration_ms=round((time.monotonic() - started) * 1000, 1), attempt=attempt,
        )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - time.time()
        except (TypeError, ValueError):
            return None
    return max(0.0, seconds) if math.isfinite(seconds) else None
