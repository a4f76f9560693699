"""What keeps the served emulator answering when clients misbehave: uvicorn's limits, a timeout
for request heads, and enough file descriptors.

Slow clients ("slowloris"): a connection that opens and sends its request head a byte at a
time, or never, holds a file descriptor and a connection slot for as long as it likes, since
uvicorn arms its keep-alive timer only after a response. At the default soft limit of 1,024
open files, 1,100 such connections made the emulator answer a normal request with an empty
reply (``accept`` failed). Three things together prevent it:

- ``timeout_header``: a connection must deliver a complete request head within this many
  seconds of opening (or of its first byte after a keep-alive pause), or it is closed. uvicorn
  has no such setting, so :class:`HeadDeadline` adds it to uvicorn's httptools protocol (the
  one uvicorn picks by default with ``uvicorn[standard]``: :class:`HeadTimeoutHttpToolsProtocol`)
  and to its pure-Python h11 protocol (:class:`HeadTimeoutH11Protocol`); each parser only says
  when it awaits a head.
- ``limit_concurrency``: beyond this many connections or running requests uvicorn answers 503
  at once instead of queueing work without bound.
- :func:`raise_open_file_limit`: the soft ``RLIMIT_NOFILE`` is raised to the hard limit at
  start, so the connection limit, not the descriptor limit, is what a flood meets first.

Request heads are also bounded in size (h11's ``max_incomplete_event_size``) and bodies by the
app (``body_guard``).
"""

from __future__ import annotations

import asyncio
import contextlib
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


class HeadDeadline(asyncio.Protocol):
    """The head timeout, for a uvicorn HTTP protocol (a mixin, before the protocol in the bases).

    The timer is armed when the connection opens, and again by the first byte of a request
    after a keep-alive pause (uvicorn cancels its keep-alive timer on any data, so nothing else
    would); it is cancelled once a head is complete. A parser says, in ``_waiting_for_head``,
    whether it awaits a head, and may add to ``_close_headless`` (telling its own state)."""

    timeout_header: float = 10.0
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head = HeadTimer(self.loop, self.timeout_header, self._head_timed_out)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head.arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._head.cancel()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._head.armed and self._waiting_for_head():
            self._head.arm()
        super().data_received(data)
        if not self._waiting_for_head():
            self._head.cancel()

    def _waiting_for_head(self) -> bool:
        raise NotImplementedError

    def _head_timed_out(self) -> None:
        if not self.transport.is_closing() and self._waiting_for_head():
            self._close_headless()

    def _close_headless(self) -> None:
        """Close a connection whose request head did not arrive in time."""
        self.transport.close()


class HeadTimeoutH11Protocol(HeadDeadline, H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head does not arrive in time."""

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Idle now: uvicorn's keep-alive timer is armed; ours waits for the next request's bytes.
        self._head.cancel()

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

    def _waiting_for_head(self) -> bool:
        return self._heads == self._responses


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """uvicorn settings that bound what a client can hold; see the module docstring."""

    timeout_keep_alive: int = 5  # seconds an idle keep-alive connection stays open
    timeout_header: float = 10.0  # seconds to deliver a complete request head
    limit_concurrency: int = 2048  # connections + running requests before 503
    max_header_bytes: int = 16 * 1024  # h11: a request head larger than this is a 400
    http: Literal["httptools", "h11"] = "httptools"  # uvicorn's parser (httptools: its faster one)

    def protocol(self) -> type[asyncio.Protocol]:
        """uvicorn's HTTP protocol of choice, with the head timeout."""
        base: type[Any] = HeadTimeoutHttpToolsProtocol if self.http == "httptools" else HeadTimeoutH11Protocol
        return type(base.__name__, (base,), {"timeout_header": self.timeout_header})

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
