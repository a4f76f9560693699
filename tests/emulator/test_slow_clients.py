"""Slow clients cannot starve the served emulator: idle and half-sent request heads hold no
slot for long, and a normal request is still answered while they hang.

Real uvicorn on 127.0.0.1; sockets are closed by the tests themselves. The only waits are the
server's own head timeout, set to a fraction of a second here, bounded by socket timeouts.
"""

from __future__ import annotations

import contextlib
import resource
import socket
from collections.abc import Iterator

import httpx
import pytest

from orchestrator.emulator.app import create_app
from orchestrator.emulator.server import BackgroundServer
from orchestrator.serving.limits import ServerLimits, open_file_ceiling, raise_open_file_limit
from orchestrator.emulator.state import EmulatorState

PARTIAL_HEAD = b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


PARSERS = pytest.mark.parametrize("http", ["httptools", "h11"])


@contextlib.contextmanager
def served(limits: ServerLimits) -> Iterator[tuple[str, int]]:
    with BackgroundServer(create_app(EmulatorState()), limits=limits) as server:
        yield server.server.servers[0].sockets[0].getsockname()[:2]


@contextlib.contextmanager
def idle_sockets(address: tuple[str, int], count: int, first_bytes: bytes) -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection(address, timeout=10)
            if first_bytes:
                sock.sendall(first_bytes)
            opened.append(sock)
        yield opened
    finally:
        for sock in opened:
            sock.close()


def closed_by_server(sock: socket.socket, within: float = 10.0) -> bool:
    """True once the server closes ``sock`` (EOF or reset); False if it is still open after ``within``."""
    sock.settimeout(within)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


@PARSERS
def test_200_idle_connections_do_not_starve_a_normal_request(http):
    with served(ServerLimits(http=http)) as address, idle_sockets(address, 100, b""), \
            idle_sockets(address, 100, PARTIAL_HEAD):
        r = httpx.get(f"http://{address[0]}:{address[1]}/_emulator/health", timeout=10)
        assert r.status_code == 200 and r.json() == {"status": "ok"}


@PARSERS
@pytest.mark.parametrize("first_bytes", [b"", PARTIAL_HEAD], ids=["silent", "half-sent head"])
def test_a_connection_without_a_complete_head_is_closed(http, first_bytes):
    with (
        served(ServerLimits(timeout_header=0.2, http=http)) as address,
        idle_sockets(address, 1, first_bytes) as (sock,),
    ):
        assert closed_by_server(sock)


@PARSERS
def test_the_head_timeout_starts_again_after_a_keep_alive_pause(http):
    with served(ServerLimits(timeout_header=0.2, timeout_keep_alive=30, http=http)) as address, \
            idle_sockets(address, 1, b"") as (sock,):
        sock.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
        sock.sendall(PARTIAL_HEAD)  # the next request starts, then stalls
        assert closed_by_server(sock)


@PARSERS
def test_a_slow_body_is_not_cut_by_the_head_timeout(http):
    with served(ServerLimits(timeout_header=0.2, http=http)) as address, idle_sockets(address, 1, b"") as (sock,):
        body = b'{"seconds": 0, "ticks": 0}'
        sock.sendall(b"POST /_emulator/clock/advance HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body))
        assert not closed_by_server(sock, within=0.5)  # the head is complete: no head timeout
        sock.settimeout(10)
        sock.sendall(body)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")


def test_a_body_trickled_past_its_deadline_is_408_and_the_connection_closes():
    app = create_app(EmulatorState(), body_seconds=0.2)
    with BackgroundServer(app) as server:
        address = server.server.servers[0].sockets[0].getsockname()[:2]
        with idle_sockets(address, 1, b"") as (sock,):
            sock.sendall(b"POST /_emulator/clock/advance HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"sec")
            sock.settimeout(10)
            reply = b""
            while chunk := sock.recv(4096):  # until the server closes: bounded by the timeout
                reply += chunk
    assert reply.startswith(b"HTTP/1.1 408 ")
    assert b"Request body not received within 0.2 seconds" in reply


def test_beyond_the_connection_limit_requests_get_a_503_not_an_empty_reply():
    with served(ServerLimits(limit_concurrency=5)) as address, idle_sockets(address, 5, b""):
        r = httpx.get(f"http://{address[0]}:{address[1]}/_emulator/health", timeout=10)
        assert r.status_code == 503


def test_the_soft_open_file_limit_is_raised_to_the_hard_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lowered = min(soft, 256)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (lowered, hard))
        raised = raise_open_file_limit()
        if hard == resource.RLIM_INFINITY:  # the kernel may refuse an unlimited soft limit
            assert raised is not None and raised >= lowered
        else:
            assert raised == hard == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# -- the connection budget under the open-file limit (``ConnectionBudget``) ---------------------------
BODY = b'{"seconds": 0, "ticks": 0}'
# "Expect: 100-continue": the server's "100 Continue" says the head is in and the request running.
HEAD_OF_POST = (b"POST /_emulator/clock/advance HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(BODY))


@PARSERS
def test_past_the_ceiling_the_oldest_stalled_heads_are_closed_and_a_normal_request_is_answered(http):
    with served(ServerLimits(max_connections=5, http=http)) as address, \
            idle_sockets(address, 8, PARTIAL_HEAD) as stalled:
        r = httpx.get(f"http://{address[0]}:{address[1]}/_emulator/health", timeout=10)
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        # Accepted in order: the 6th, 7th, 8th and the normal request each closed the oldest one.
        assert all(closed_by_server(sock) for sock in stalled[:4])
        assert not any(closed_by_server(sock, within=0.2) for sock in stalled[4:])


@PARSERS
def test_when_every_connection_is_busy_a_newcomer_gets_a_503_envelope_then_an_idle_one_makes_room(http):
    with served(ServerLimits(max_connections=2, http=http)) as address, \
            idle_sockets(address, 2, HEAD_OF_POST) as busy:  # heads complete, bodies pending: busy
        for sock in busy:
            sock.settimeout(10)  # the app's first request builds its validators: not instant
            assert sock.recv(4096).startswith(b"HTTP/1.1 100 ")
        url = f"http://{address[0]}:{address[1]}/_emulator/health"
        full = httpx.get(url, timeout=10)
        assert full.status_code == 503 and full.headers["retry-after"] == "1"
        assert full.json() == {"status": "error", "message": "Too many open connections: try again shortly"}
        assert not any(closed_by_server(sock, within=0.2) for sock in busy)  # a request in flight is kept
        busy[0].sendall(BODY)  # its request completes: the connection is idle (keep-alive), waiting
        busy[0].settimeout(10)
        assert busy[0].recv(4096).startswith(b"HTTP/1.1 200 ")
        assert httpx.get(url, timeout=10).status_code == 200  # the idle one was closed to make room
        assert closed_by_server(busy[0]) and not closed_by_server(busy[1], within=0.2)


def test_the_ceiling_follows_the_open_file_limit():
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    expected = None if soft == resource.RLIM_INFINITY else max(1, soft - 64)
    assert open_file_ceiling(64) == expected
