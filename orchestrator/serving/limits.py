"""What keeps a server of ours answering when clients misbehave: uvicorn's limits, a timeout
for request heads, a budget of connections under the open-file limit, and enough descriptors.
The emulator (``orchestrator emulator serve``), the status page (``orchestrator status serve``)
and the reconcile loop's ``--metrics-port`` all run with them (`ServerLimits`).

Slow clients ("slowloris"): a connection that opens and sends its request head a byte at a
time, or never, holds a file descriptor and a connection slot for as long as it likes, since
uvicorn arms its keep-alive timer only after a response (and counts such a connection against
``limit_concurrency``, so enough of them turn every request into a 503). At a limit of 1,024
open files, 1,100 such connections made the emulator answer a normal request with an empty
reply: with every descriptor taken, libuv (uvloop's event loop) accepts a new connection on a
spare descriptor and closes it at once, and plain asyncio stops accepting for a second. Four
things together prevent it:

- ``timeout_header``: a connection must deliver a complete request head within this many
  seconds of opening (or of its first byte after a keep-alive pause), or it is closed. uvicorn
  has no such setting, so :class:`HeadDeadline` adds it to uvicorn's httptools protocol (the
  one uvicorn picks by default with ``uvicorn[standard]``: :class:`HeadTimeoutHttpToolsProtocol`)
  and to its pure-Python h11 protocol (:class:`HeadTimeoutH11Protocol`); each parser only says
  when it awaits a head.
- :class:`ConnectionBudget`: the head timeout alone leaves a window (10 s) in which a flood can
  take every descriptor. So the server keeps at most ``RLIMIT_NOFILE`` minus a reserve
  (``fd_reserve``, for the database, uploads' temporary files, the listener) connections
  open: a connection that would go past that closes the **oldest connection still waiting for
  a request head** (a stalled head, or an idle keep-alive connection; never one with a request
  in flight). A flood of stalled heads then only ever closes its own oldest members, and a
  normal request finds a descriptor and is answered. When every connection is busy, the new
  one is answered 503 with a JSON error (the emulator API's error envelope; ``Retry-After: 1``,
  then closed) instead of being accepted and dropped. Shedding rather than refusing was chosen
  because the waiting connections are the ones holding descriptors for nothing: refusing
  newcomers would hand the server to whoever connected first.
- ``limit_concurrency``: beyond this many connections or running requests uvicorn answers 503
  at once instead of queueing work without bound.
- :func:`raise_open_file_limit`: the soft ``RLIMIT_NOFILE`` is raised to the hard limit at
  start, so a default soft limit of 1,024 is not what a flood meets first where the hard limit
  is higher; where it is not (soft and hard both 1,024), the budget above is what holds.

A reader that never reads holds its last answer in the transport's buffer; when the keep-alive
time passes (or the budget needs its place) the connection is aborted with it, not closed
(which would wait for the client to read). Request heads are also bounded in size (h11's
``max_incomplete_event_size``); the emulator
bounds request bodies itself (``orchestrator.emulator.body_guard``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # uvicorn[standard] has httptools


class HeadTimer:
    """Closes a connection whose request head is not complete ``seconds`` after it was armed."""

    def __init__(self, loop: asyncio.AbstractEventLoop, seconds: float, expire: Callable[[], None]) -> None:
        self.loop, self.seconds, self.expire = loop, seconds, expire
        self.handle: asyncio.TimerHandle | None = None

    @property
    def armed(self) -> bool:
        return self.handle is not None

    def arm(self) -> None:
        self.cancel()
        self.handle = self.loop.call_later(self.seconds, self._fire)

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None

    def _fire(self) -> None:
        self.handle = None
        self.expire()


logger = logging.getLogger("orchestrator.serving")

# Answered, at once, to a connection the budget cannot make room for (every open connection is
# serving a request). The path is not known yet, so the reference's error form, as for the
# other answers made before routing (the rate limit, injected faults).
_FULL_BODY = json.dumps({"status": "error", "message": "Too many open connections: try again shortly"},
                        separators=(",", ":")).encode()


async def _server_full(scope: Any, receive: Any, send: Any) -> None:
    """ASGI app answering 503 in the API's error envelope and closing the connection."""
    await send({"type": "http.response.start", "status": 503, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(_FULL_BODY)).encode()),
        (b"retry-after", b"1"), (b"connection", b"close"),
    ]})
    await send({"type": "http.response.body", "body": _FULL_BODY})


class ConnectionBudget:
    """One server's open connections under a ceiling (see the module docstring).

    Keeps the connections waiting for a request head in the order they started waiting (a
    dict: insertion-ordered, O(1) to move one to the end or to take the oldest). Connections
    it closed stay counted until their ``connection_lost``, so one newcomer closes one victim,
    not every waiting connection while the first close is still under way."""

    def __init__(self, ceiling: int) -> None:
        self.ceiling = ceiling
        self.waiting: dict[HeadDeadline, None] = {}
        self.closing: set[HeadDeadline] = set()
        self.shed = 0  # connections closed to make room, for the log
        self.refused = 0  # connections answered 503 because none could be closed

    def wait(self, conn: HeadDeadline) -> None:
        """``conn`` now awaits a request head: the newest waiting connection."""
        self.waiting.pop(conn, None)
        self.waiting[conn] = None

    def busy(self, conn: HeadDeadline) -> None:
        """``conn`` has a request in flight: never closed to make room."""
        self.waiting.pop(conn, None)

    def lost(self, conn: HeadDeadline) -> None:
        self.waiting.pop(conn, None)
        self.closing.discard(conn)

    def make_room(self, conn: HeadDeadline, open_connections: int) -> bool:
        """Close the oldest waiting connections (never ``conn``) until the open ones fit the
        ceiling; False when none is left to close (the caller then refuses ``conn``)."""
        while open_connections - len(self.closing) > self.ceiling:
            victim = next((c for c in self.waiting if c is not conn), None)  # the oldest, bar the newcomer
            if victim is None:
                self.refused += 1
                return False
            del self.waiting[victim]
            self.closing.add(victim)
            self.shed += 1
            if self.shed == 1 or self.shed % 1000 == 0:  # a flood would otherwise log a line per connection
                logger.warning("%d connections open, at the ceiling of %d under the open-file limit: closed "
                               "%d waiting for a request head so far, the oldest first",
                               open_connections, self.ceiling, self.shed)
            victim._close_headless()
        return True


def open_file_ceiling(reserve: int) -> int | None:
    """How many connections fit under this process's soft ``RLIMIT_NOFILE``, keeping ``reserve``
    descriptors for everything else; None where there is no such limit (or it is unlimited)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return None
    return max(1, soft - reserve)


_BUDGET = "_orchestrator_connection_budget"  # the attribute holding a server's budget on its ServerState


class HeadDeadline(asyncio.Protocol):
    """The head timeout and the connection budget, for a uvicorn HTTP protocol (a mixin, before
    the protocol in the bases).

    The timer is armed when the connection opens, and again by the first byte of a request
    after a keep-alive pause (uvicorn cancels its keep-alive timer on any data, so nothing else
    would); it is cancelled once a head is complete. A parser says, in ``_waiting_for_head``,
    whether it awaits a head, and may add to ``_close_headless`` (telling its own state)."""

    timeout_header: float = 10.0
    max_connections: int | None = None  # the budget's ceiling; None: from RLIMIT_NOFILE
    fd_reserve: int = 64
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    server_state: Any  # uvicorn's ServerState: ``connections`` (every open one), shared by a server
    app: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head = HeadTimer(self.loop, self.timeout_header, self._head_timed_out)
        self._budget = self._budget_of(self.server_state)

    @classmethod
    def _budget_of(cls, server_state: Any) -> ConnectionBudget | None:
        """The server's budget, made by its first connection: by then serving has started and
        the open-file limit has been raised (``raise_open_file_limit``)."""
        if not hasattr(server_state, _BUDGET):
            ceiling = cls.max_connections if cls.max_connections is not None else open_file_ceiling(cls.fd_reserve)
            setattr(server_state, _BUDGET, ConnectionBudget(ceiling) if ceiling is not None else None)
        budget: ConnectionBudget | None = getattr(server_state, _BUDGET)
        return budget

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head.arm()
        budget = self._budget
        if budget is not None:
            budget.wait(self)
            if not budget.make_room(self, len(self.server_state.connections)):
                # Every open connection is serving a request: answer this one's request 503 and
                # close, rather than hold a descriptor the next accept needs.
                self.app = _server_full

    def connection_lost(self, exc: Exception | None) -> None:
        self._head.cancel()
        if self._budget is not None:
            self._budget.lost(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._head.armed and self._waiting_for_head():
            self._head.arm()
        super().data_received(data)
        if not self._waiting_for_head():
            self._head.cancel()
            if self._budget is not None:
                self._budget.busy(self)

    def _response_done(self) -> None:
        """After a response: idle again (keep-alive), or still busy with a pipelined request."""
        if self._budget is not None and self._waiting_for_head() and not self.transport.is_closing():
            self._budget.wait(self)

    def _waiting_for_head(self) -> bool:
        raise NotImplementedError

    def _head_timed_out(self) -> None:
        if not self.transport.is_closing() and self._waiting_for_head():
            self._close_headless()

    def _close_headless(self) -> None:
        """Drop a connection with no request in flight: its head did not arrive in time, it makes
        room under the budget, or its client left its last answer unread past the keep-alive time.
        Aborted, not closed: ``close`` waits until the buffered output is sent, which a client
        that never reads never lets happen, and the connection would hold its buffer and its
        place for ever. Nothing of value is lost: no request is being served."""
        self.transport.abort()

    def timeout_keep_alive_handler(self) -> None:
        """uvicorn's keep-alive timeout: an idle connection is closed; one whose answer its client
        has not read yet is dropped (`_close_headless`) instead of waiting for it."""
        if not self.transport.is_closing() and self.transport.get_write_buffer_size():
            self._close_headless()
            return
        super().timeout_keep_alive_handler()  # type: ignore[misc]


class HeadTimeoutH11Protocol(HeadDeadline, H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head does not arrive in time."""

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Idle now: uvicorn's keep-alive timer is armed; ours waits for the next request's bytes.
        self._head.cancel()
        self._response_done()

    def _waiting_for_head(self) -> bool:
        return self.conn.their_state is h11.IDLE

    def _close_headless(self) -> None:
        with contextlib.suppress(h11.LocalProtocolError):  # h11 may have closed its side already
            self.conn.send(h11.ConnectionClosed())
        super()._close_headless()


class HeadTimeoutHttpToolsProtocol(HeadDeadline, HttpToolsProtocol):
    """uvicorn's httptools protocol (the faster one, used when httptools is installed), closing a
    connection whose request head does not arrive in time."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Heads parsed and responses finished: equal counts mean the next head is awaited
        # (a pipelined head parsed early makes them differ).
        self._heads = self._responses = 0

    def on_headers_complete(self) -> None:
        self._heads += 1
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        self._responses += 1
        super().on_response_complete()
        self._response_done()

    def _waiting_for_head(self) -> bool:
        return self._heads == self._responses


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """uvicorn settings that bound what a client can hold; see the module docstring."""

    timeout_keep_alive: int = 5  # seconds an idle keep-alive connection stays open
    timeout_header: float = 10.0  # seconds to deliver a complete request head
    limit_concurrency: int = 2048  # connections + running requests before 503
    # Open connections at most (the oldest waiting for a head is closed past it; 503 when none
    # is); None: the soft RLIMIT_NOFILE less ``fd_reserve``, read when serving starts.
    max_connections: int | None = None
    fd_reserve: int = 64  # descriptors kept for the database, uploads' temporary files, the listener
    max_header_bytes: int = 16 * 1024  # h11: a request head larger than this is a 400
    http: Literal["httptools", "h11"] = "httptools"  # uvicorn's parser (httptools: its faster one)

    def protocol(self) -> type[asyncio.Protocol]:
        """uvicorn's HTTP protocol of choice, with the head timeout."""
        base: type[Any] = HeadTimeoutHttpToolsProtocol if self.http == "httptools" else HeadTimeoutH11Protocol
        return type(base.__name__, (base,), {"timeout_header": self.timeout_header,
                                             "max_connections": self.max_connections,
                                             "fd_reserve": self.fd_reserve})

    def uvicorn_options(self) -> dict[str, Any]:
        """Keyword arguments for ``uvicorn.Config`` / ``uvicorn.run``."""
        return {
            "http": self.protocol(),
            "timeout_keep_alive": self.timeout_keep_alive,
            "limit_concurrency": self.limit_concurrency,
            "h11_max_incomplete_event_size": self.max_header_bytes,
        }


def raise_open_file_limit() -> int | None:
    """Raise this process's soft ``RLIMIT_NOFILE`` to its hard limit; the soft limit after.

    None where the platform has no such limit (Windows). Where the hard limit is unlimited
    (macOS) the kernel refuses that as a soft limit; the soft limit then stays as it was."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            return soft
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]
