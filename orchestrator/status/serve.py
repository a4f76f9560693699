"""Serving the status page with uvicorn: in the foreground (``orchestrator status serve``) or on
a thread beside the reconcile loop (``reconcile --metrics-port``, with ``/metrics`` and
``/healthz``: ``orchestrator.reconcile.status_server``). Both run with `LIMITS`, so idle
connections, stalled request heads and readers that never read cannot keep the page (or a
scrape, or a liveness probe) from being answered.

The socket is bound by the caller, before uvicorn starts: a port in use or an address this
host does not have is an ``OSError`` where it can be reported in one line, not a log line
from a thread that died. Binding is on 127.0.0.1 unless the operator names another
address. uvicorn's own logging set-up is left out (``log_config=None``): its loggers go
through the orchestrator's handlers, which redact secrets.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn

from orchestrator.serving.limits import ServerLimits
from orchestrator.status.app import create_status_app
from orchestrator.status.queries import StatusSource

LOOPBACK = "127.0.0.1"
#: A few people reading pages, a scraper and a probe: a small server whose idle connections go
#: soon. A connection must send a whole request head within 5 s of opening (or of its first
#: byte after a keep-alive pause) and may stay idle 5 s after an answer; past 192 open
#: connections the oldest one waiting for a head is closed to make room, so a flood of idle or
#: half-sent connections never takes the slot of a real request. Request heads are at most 16 KiB;
#: a reader that never reads holds one answer in the transport's buffer until the keep-alive
#: time passes, then it is dropped with it. So memory is bounded by the ceiling: 600 hanging
#: connections, 20 times over, held at most 192 open and grew the process from 77 to 108 MB,
#: 0.1-0.2 MB a round by the end (bench/status_slow_clients.py, docs/benchmarks.md).
LIMITS = ServerLimits(timeout_keep_alive=5, timeout_header=5.0, limit_concurrency=256, max_connections=192)
OPTIONS: dict[str, Any] = {"log_config": None, "access_log": False, "lifespan": "off",
                           "timeout_graceful_shutdown": 3}


def config(app: Any, limits: ServerLimits = LIMITS) -> uvicorn.Config:
    """uvicorn's configuration for ``app``: our logging, no lifespan, ``limits``."""
    return uvicorn.Config(app, **OPTIONS, **limits.uvicorn_options())


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


class ThreadedServer:
    """uvicorn serving ``app`` on a daemon thread; a context manager that stops it on exit."""

    def __init__(self, app: Any, host: str = LOOPBACK, port: int = 0, limits: ServerLimits = LIMITS) -> None:
        self.sock = bind(host, port)
        self.server = uvicorn.Server(config(app, limits))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, name="status-page",
                                       daemon=True)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def url(self) -> str:
        return url_of(self.sock)

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:  # a bounded wait for uvicorn's start-up, on an already bound socket
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.sock.close()
                raise RuntimeError("the status page's server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


def url_of(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket (the port it got, when asked for port 0)."""
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}"


def serve(source: StatusSource | str | os.PathLike[str], host: str = LOOPBACK, port: int = 9108, *,
          ready: Callable[[str], None] | None = None) -> None:
    """``orchestrator status serve``: the page from a state database, until interrupted;
    ``ready`` is told the URL once the socket is bound (its real port, for port 0)."""
    sock = bind(host, port)
    try:
        if ready is not None:
            ready(url_of(sock))
        uvicorn.Server(config(create_status_app(source))).run(sockets=[sock])
    finally:
        sock.close()
