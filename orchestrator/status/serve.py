"""Serving the status page with uvicorn: in the foreground (``orchestrator status serve``) or on
a thread beside the reconcile loop.

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
from typing import Any

import uvicorn

from orchestrator.status.app import create_status_app
from orchestrator.status.queries import StatusSource

LOOPBACK = "127.0.0.1"
# A page view is a few queries: a small server, whose connections time out soon.
OPTIONS: dict[str, Any] = {"log_config": None, "access_log": False, "lifespan": "off", "limit_concurrency": 64,
                           "timeout_keep_alive": 5, "timeout_graceful_shutdown": 3}


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

    def __init__(self, app: Any, host: str = LOOPBACK, port: int = 0) -> None:
        self.sock = bind(host, port)
        self.server = uvicorn.Server(uvicorn.Config(app, **OPTIONS))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, name="status-page",
                                       daemon=True)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def url(self) -> str:
        host = self.sock.getsockname()[0]
        return f"http://{f'[{host}]' if ':' in host else host}:{self.port}"

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


def serve(source: StatusSource | str | os.PathLike[str], host: str = LOOPBACK, port: int = 9108) -> None:
    """``orchestrator status serve``: the page from a state database, until interrupted."""
    sock = bind(host, port)
    try:
        uvicorn.Server(uvicorn.Config(create_status_app(source), **OPTIONS)).run(sockets=[sock])
    finally:
        sock.close()
