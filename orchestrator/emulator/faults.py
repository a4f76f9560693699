"""Faults, a server-side rate limit, and request counters, as one ASGI middleware.

A real SaaS throws 429 storms, 5xx, slow answers, and, worst of all, writes that take
effect while their response never arrives. The orchestrator must survive each of these,
so the emulator can produce each on demand, with a seeded RNG so a failing run repeats.

Only ``/api/`` paths are affected; the control surface (``/_emulator/``) and
``/openapi.json`` never are, so a test can always reach the knobs. Within ``/api/``, a fault
can be scoped by method, by path (a prefix, a regular expression, or both) and by count, so a
test can make exactly one endpoint fail, once or every time::

    PUT /_emulator/faults
    {"error_rate": 1, "error_statuses": {"500": 1}, "methods": ["POST"],
     "path_regex": "/bulk/pause$", "times": 1}

A test can also hold requests until it lets them go (``PUT /_emulator/hold``, then
``POST /_emulator/hold/release``): a write is then in flight, applied but unanswered, for as
long as the test needs, whatever the machine's speed; the moment to kill a client or send it
a signal is a state of the server, not a guess at a delay::

    PUT /_emulator/hold
    {"methods": ["POST", "PATCH", "PUT", "DELETE"], "after": 30}

Dropping a connection: under uvicorn the middleware starts a response and then raises,
which makes uvicorn close the socket mid-response (a real dropped connection). In
process, :class:`orchestrator.emulator.testing.EmulatorTransport` turns the same
exception into the ``httpx`` transport error a network would give.
"""

from __future__ import annotations

import json
import math
import random
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

import anyio
from pydantic import BaseModel, Field, field_validator
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class DroppedConnection(Exception):
    """Raised by the fault injector to make the server drop the connection."""


class LatencySpec(BaseModel):
    """Added latency: ``probability`` of a request being slowed, by a delay drawn from ``distribution``."""

    probability: float = Field(0.0, ge=0, le=1)
    distribution: Literal["fixed", "uniform", "exponential", "lognormal"] = "fixed"
    mean_ms: float = Field(0.0, ge=0)
    max_ms: float = Field(0.0, ge=0, description="upper bound for uniform; cap for the others (0 = none)")

    def draw(self, rng: random.Random) -> float:
        if self.probability <= 0 or rng.random() >= self.probability:
            return 0.0
        if self.distribution == "fixed":
            ms = self.mean_ms
        elif self.distribution == "uniform":
            ms = rng.uniform(0, self.max_ms or 2 * self.mean_ms)
        elif self.distribution == "exponential":
            ms = rng.expovariate(1 / self.mean_ms) if self.mean_ms else 0.0
        else:  # lognormal with the given mean and sigma 1
            ms = rng.lognormvariate(math.log(self.mean_ms) - 0.5, 1.0) if self.mean_ms else 0.0
        if self.max_ms:
            ms = min(ms, self.max_ms)
        return ms / 1000


ALL_METHODS = ["GET", "POST", "PATCH", "DELETE", "PUT"]
WRITE_METHODS = ["POST", "PATCH", "PUT", "DELETE"]


class RequestScope(BaseModel):
    """Which ``/api/`` requests a control touches: those with one of ``methods`` whose path
    matches ``path_prefix`` and ``path_regex`` (each when given)."""

    methods: list[str] = Field(default_factory=lambda: list(ALL_METHODS))
    path_prefix: str | None = Field(
        None, description="only requests whose path starts with this, such as /api/v1/reactions/bulk/")
    path_regex: str | None = Field(
        None, description="only requests whose path matches this regular expression (searched, not anchored)")

    @field_validator("path_regex")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value

    def applies_to(self, method: str, path: str) -> bool:
        """Whether a request is in scope: its method and path."""
        if method not in self.methods:
            return False
        if self.path_prefix is not None and not path.startswith(self.path_prefix):
            return False
        return self.path_regex is None or re.search(self.path_regex, path) is not None


class FaultConfig(RequestScope):
    """What the fault injector does. Rates are probabilities per request, checked in this order:
    ``drop_rate`` (connection dropped, handler not run), ``error_rate`` (an HTTP error from
    ``error_statuses``, handler not run), ``lost_response_rate`` (handler runs, its write takes
    effect, the connection is then dropped), ``delayed_response_rate`` (handler runs, the answer
    is held ``delay_seconds``: past a client's timeout it is as good as lost).

    Only requests in scope (`RequestScope`) are touched; ``times`` caps how many of them get a fault."""

    seed: int | None = None
    times: int | None = Field(
        None, ge=0, description="at most this many requests get a fault (a drop, an error, a lost or delayed "
                                "answer); later ones pass untouched. None: no limit")
    drop_rate: float = Field(0.0, ge=0, le=1)
    error_rate: float = Field(0.0, ge=0, le=1)
    error_statuses: dict[int, float] = Field(default_factory=lambda: {429: 1.0, 500: 1.0, 502: 1.0, 503: 1.0})
    retry_after: float = Field(1.0, ge=0, description="seconds sent in Retry-After with an injected 429")
    lost_response_rate: float = Field(0.0, ge=0, le=1)
    delayed_response_rate: float = Field(0.0, ge=0, le=1)
    delay_seconds: float = Field(0.0, ge=0)
    latency: LatencySpec = Field(default_factory=LatencySpec)

    def active(self) -> bool:
        return bool(
            self.drop_rate or self.error_rate or self.lost_response_rate
            or self.delayed_response_rate or self.latency.probability
        )


class HoldConfig(RequestScope):
    """Requests to hold: in scope (writes by default), the first ``after`` pass; each later one
    is handled (its write takes effect) and its answer kept until the test releases it, or for
    ``timeout`` seconds at most (a hold forgotten never keeps a server from stopping). A held
    request gets no fault."""

    methods: list[str] = Field(default_factory=lambda: list(WRITE_METHODS))
    after: int = Field(0, ge=0, description="matching requests that pass before holding begins")
    timeout: float = Field(60.0, gt=0, le=3600, description="seconds a request is held at most")


class Hold:
    """The requests held under a `HoldConfig`, and the gate that lets them go.

    Used from the server's event loop only (the control surface and the middleware), so the
    counters need no lock; a test turns it through ``/_emulator/hold``."""

    def __init__(self) -> None:
        self.config: HoldConfig | None = None
        self.passed = 0  # matching requests let through before holding began
        self.held = 0  # requests held under this configuration, released or not
        self.waiting = 0  # requests held right now (handled, their answers not sent)
        self._gate: anyio.Event | None = None

    def configure(self, config: HoldConfig | None) -> int:
        """Hold by ``config`` from now on (None: hold nothing); the requests held before go on.
        Returns how many were released."""
        released = self.release()
        self.config, self.passed, self.held = config, 0, 0
        return released

    def takes(self, method: str, path: str) -> bool:
        """Whether this request is to be held (counting those that pass first)."""
        config = self.config
        if config is None or not config.applies_to(method, path):
            return False
        if self.passed < config.after:
            self.passed += 1
            return False
        self.held += 1
        return True

    async def wait(self) -> None:
        """Until the requests held now are released, the configuration's ``timeout`` at most."""
        if self.config is None:  # released by a DELETE already
            return
        if self._gate is None:
            self._gate = anyio.Event()
        gate, limit = self._gate, self.config.timeout
        self.waiting += 1
        try:
            with anyio.move_on_after(limit):
                await gate.wait()
        finally:
            if gate is self._gate:  # timed out (or cancelled) while still held
                self.waiting -= 1

    def release(self) -> int:
        """Let every request held now go on (later ones are held again); how many there were.
        ``waiting`` drops to 0 at once, so a report read after a release never counts them."""
        released, self.waiting = self.waiting, 0
        if self._gate is not None:
            self._gate.set()
            self._gate = None
        return released

    def report(self) -> dict[str, Any]:
        return {"config": self.config.model_dump() if self.config else None, "passed": self.passed,
                "held": self.held, "waiting": self.waiting}


class RateLimitConfig(BaseModel):
    """A server-side token bucket: ``rate`` requests per second, ``burst`` at once; None = no limit."""

    rate: float | None = Field(None, gt=0)
    burst: int = Field(1, ge=1)


class RateLimiter:
    """Token bucket in wall-clock time (a request rate is about real time, not the emulated clock)."""

    def __init__(self, config: RateLimitConfig | None = None) -> None:
        self.configure(config or RateLimitConfig())

    def configure(self, config: RateLimitConfig) -> None:
        self.config = config
        self._tokens = float(config.burst)
        self._stamp = time.monotonic()

    def take(self) -> float | None:
        """Take a token; None when granted, else the seconds until one is available."""
        rate = self.config.rate
        if rate is None:
            return None
        now = time.monotonic()
        self._tokens = min(self.config.burst, self._tokens + (now - self._stamp) * rate)
        self._stamp = now
        if self._tokens >= 1:
            self._tokens -= 1
            return None
        return (1 - self._tokens) / rate


@dataclass
class RequestCounters:
    """Requests by (method, route template, status, injected?), counted once handled; and
    ``in_flight``, those received and not handled yet (a write slowed by a latency fault is
    applied when its wait ends, even when its client has gone away)."""

    counts: Counter[tuple[str, str, int, bool]] = field(default_factory=Counter)
    in_flight: int = 0

    def record(self, method: str, route: str, status: int, injected: bool) -> None:
        self.counts[(method, route, status, injected)] += 1

    def reset(self) -> None:
        self.counts.clear()

    def report(self) -> dict[str, Any]:
        rows = [
            {"method": m, "route": r, "status": s, "injected": i, "count": n}
            for (m, r, s, i), n in sorted(self.counts.items())
        ]
        return {"total": sum(self.counts.values()), "in_flight": self.in_flight, "requests": rows}


class FaultMiddleware:
    """Counts every API request; applies the server rate limit and the configured faults."""

    def __init__(self, app: ASGIApp, state: Any, templates: list[tuple[re.Pattern[str], str]]) -> None:
        self.app = app
        self.state = state
        # (full-path regex, route template) for counting requests answered before routing
        self.templates = templates
        self._rng = random.Random()
        self._seed: int | None = None
        # Faults injected under the current configuration (for `FaultConfig.times`); a new
        # configuration (every PUT makes one) starts counting again.
        self._counted: FaultConfig | None = None
        self._injected = 0

    def _route_of(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is not None:
            return route.path
        # Faults answer before routing; match here so counters still group by template.
        for pattern, template in self.templates:
            if pattern.match(scope["path"]):
                return template
        return "(unmatched)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        state = scope.get("emulator.state") or self.state  # see context.state_of
        status_seen = 0
        injected = False
        reserved = False

        async def counting_send(message: Message) -> None:
            nonlocal status_seen
            if message["type"] == "http.response.start":
                status_seen = message["status"]
            await send(message)

        state.counters.in_flight += 1
        try:
            wait = state.rate_limit.take()
            if wait is not None:
                injected = True
                await _plain(counting_send, 429, "Too many requests", {"retry-after": str(max(1, math.ceil(wait)))})
                return
            hold: Hold = state.hold
            if hold.config is not None and hold.takes(scope["method"], scope["path"]):
                scope["emulator.fault"] = "held"
                await _answer_later(self.app, scope, receive, counting_send, hold.wait)
                return
            faults: FaultConfig = state.faults
            if faults.active() and faults.applies_to(scope["method"], scope["path"]) and self._reserve(faults):
                reserved = True
                await self._inject(scope, receive, counting_send, faults)
                return
            await self.app(scope, receive, counting_send)
        finally:
            state.counters.in_flight -= 1
            fault = scope.get("emulator.fault")
            if reserved and not fault and self._counted is faults:
                self._injected -= 1  # the dice spared this request: its place goes back
            injected = injected or bool(fault)
            if fault in ("drop", "lost"):
                status_seen = 0  # no answer reached the client
            state.counters.record(scope["method"], self._route_of(scope), status_seen, injected)

    def _reserve(self, faults: FaultConfig) -> bool:
        """Take one of the ``faults.times`` places, if one is left. Taken before the request is
        handled, so concurrent requests cannot all slip in under the same last place."""
        if faults is not self._counted:
            self._counted, self._injected = faults, 0
        if faults.times is not None and self._injected >= faults.times:
            return False
        self._injected += 1
        return True

    async def _inject(self, scope: Scope, receive: Receive, send: Send, faults: FaultConfig) -> None:
        if faults.seed != self._seed:
            self._seed = faults.seed
            self._rng = random.Random(faults.seed)
        rng = self._rng
        delay = faults.latency.draw(rng)
        if delay:
            await anyio.sleep(delay)
        roll = rng.random()
        if roll < faults.drop_rate:
            scope["emulator.fault"] = "drop"
            await _drop(send)
        roll -= faults.drop_rate
        if roll < faults.error_rate:
            statuses = list(faults.error_statuses)
            status = rng.choices(statuses, weights=[faults.error_statuses[s] for s in statuses])[0]
            headers = {"retry-after": _fmt_seconds(faults.retry_after)} if status == 429 else {}
            scope["emulator.fault"] = f"error:{status}"
            await _plain(send, status, "Injected fault", headers)
            return
        roll -= faults.error_rate
        if roll < faults.lost_response_rate:
            scope["emulator.fault"] = "lost"
            await self.app(scope, receive, _discard)  # the write happens; its answer never arrives
            await _drop(send)
        roll -= faults.lost_response_rate
        if roll < faults.delayed_response_rate:
            scope["emulator.fault"] = "delayed"
            await _answer_later(self.app, scope, receive, send, partial(anyio.sleep, faults.delay_seconds))
            return
        await self.app(scope, receive, send)


async def _answer_later(app: ASGIApp, scope: Scope, receive: Receive, send: Send,
                        until: Callable[[], Awaitable[None]]) -> None:
    """Handle the request (its write takes effect), keep its answer until ``until()`` returns, then send it."""
    kept: list[Message] = []

    async def keep(message: Message) -> None:
        kept.append(message)

    await app(scope, receive, keep)
    await until()
    for message in kept:
        await send(message)


async def _discard(message: Message) -> None:
    return None


async def _drop(send: Send) -> None:
    # Start a response that promises a body, then fail: the server closes the socket.
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]})
    raise DroppedConnection("connection dropped by fault injection")


async def _plain(send: Send, status: int, message: str, headers: dict[str, str]) -> None:
    body = json.dumps({"status": "error", "message": message}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def _fmt_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
