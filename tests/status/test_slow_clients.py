"""Nothing a client holds open keeps ``/healthz``, ``/metrics`` or the status page from answering.

Against the reconcile loop's ``--metrics-port`` (its server in process, after a real cycle) and
against ``orchestrator status serve`` (a real process, on a port it chose): 50 connections that
send nothing, 50 that send half a request head, and 50 that ask for an answer and never read
it (a 1 KiB receive buffer) are held open while the endpoints are asked, each with a 1 s
timeout. With short limits, each of the three kinds is then dropped by the server itself, and
past the ceiling of open connections the oldest idle ones make room for a real request.

Real uvicorn on 127.0.0.1, on ports the servers chose (port 0); every socket is closed and every
process stopped in ``finally``; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from orchestrator import playbook
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.reconcile.loop import Reconciler
from orchestrator.reconcile.status_server import StatusServer
from orchestrator.serving.limits import ServerLimits
from orchestrator.status.serve import LIMITS
from tests.harness import PLAYBOOKS
from tests.harness.stores import TEST_URL
from tests.harness.reconcile import VirtualTime, client_for, reconciler

pytestmark = pytest.mark.uvicorn

EACH = 50
ANSWER_WITHIN = 1.0  # seconds: the bound of each request asked while the connections hang
WAIT = 30.0  # seconds: the bound of every other wait here


def _head(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()


def _half(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".encode()


@contextlib.contextmanager
def misbehaving(address: tuple[str, int], path: str, each: int = EACH) -> Iterator[dict[str, list[socket.socket]]]:
    """``each`` idle connections, ``each`` half-sent heads for ``path``, ``each`` readers of ``path``
    that never read (the whole request sent, a receive buffer of 1 KiB, nothing read)."""
    opened: dict[str, list[socket.socket]] = {"idle": [], "half-sent": [], "slow reader": []}
    try:
        for kind, first in (("idle", b""), ("half-sent", _half(path)), ("slow reader", _head(path))):
            for _ in range(each):
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                opened[kind].append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
                sock.settimeout(WAIT)
                sock.connect(address)
                if first:
                    sock.sendall(first)
        yield opened
    finally:
        for socks in opened.values():
            for sock in socks:
                sock.close()


def closed_by_server(sock: socket.socket, within: float = WAIT) -> bool:
    """True once the server closes ``sock`` (EOF or reset), reading past any answer it sent;
    False if it is still open after ``within`` seconds."""
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            if sock.recv(65536) == b"":
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False
    return False


def _open_connections(server: StatusServer) -> int:
    return len(server.server.server_state.connections)


@contextlib.contextmanager
def loop_port(tmp_path: Path, limits: ServerLimits = LIMITS) -> Iterator[StatusServer]:
    """The port of ``reconcile --metrics-port`` for a reconciler that ran one cycle."""
    import anyio

    emu = LocalEmulator("demo")

    async def one_cycle() -> Reconciler:
        async with client_for(emu, time=VirtualTime()) as client:
            loop = reconciler(emu, client, playbook.load([str(PLAYBOOKS)]), tmp_path, lock=False, mode="report")
            await loop.cycle()
            await loop.history.close()
            return loop

    loop = anyio.run(one_cycle)
    with StatusServer(loop, tmp_path / "state.db", "127.0.0.1", 0, TEST_URL, limits=limits) as server:
        yield server


def test_health_and_metrics_answer_within_a_second_while_150_connections_hang(tmp_path: Path) -> None:
    with loop_port(tmp_path) as server, httpx.Client(base_url=server.url) as http:
        assert http.get("/metrics", timeout=WAIT).status_code == 200  # warm: the first answer builds the app
        with misbehaving(("127.0.0.1", server.port), "/metrics") as held:
            deadline = time.monotonic() + WAIT
            while _open_connections(server) < 3 * EACH:  # every one accepted before the real requests
                assert time.monotonic() < deadline, f"only {_open_connections(server)} connections accepted"
                time.sleep(0.01)  # poll interval of a bounded wait
            for _ in range(3):
                with httpx.Client(base_url=server.url) as fresh:  # a new connection each time, as a probe makes
                    health = fresh.get("/healthz", timeout=ANSWER_WITHIN)
                    metrics = fresh.get("/metrics", timeout=ANSWER_WITHIN)
                assert (health.status_code, health.text) == (200, "ok\n")
                assert metrics.status_code == 200 and "orchestrator_reconcile_cycles_total" in metrics.text
            # They were all still held while the requests were answered (none timed out yet).
            assert not any(closed_by_server(sock, within=0) for socks in held.values() for sock in socks)


def test_idle_half_sent_and_unread_connections_are_dropped_by_the_server(tmp_path: Path) -> None:
    short = replace(LIMITS, timeout_header=0.5, timeout_keep_alive=1)
    with loop_port(tmp_path, short) as server, misbehaving(("127.0.0.1", server.port), "/metrics") as held:
        for kind, socks in held.items():
            assert all(closed_by_server(sock) for sock in socks), kind
        deadline = time.monotonic() + WAIT
        while _open_connections(server):  # nothing is left holding a buffer on the server's side
            assert time.monotonic() < deadline, f"{_open_connections(server)} connections still open"
            time.sleep(0.01)  # poll interval of a bounded wait


def test_past_the_ceiling_the_oldest_idle_connections_make_room(tmp_path: Path) -> None:
    assert LIMITS.max_connections is not None and LIMITS.limit_concurrency > LIMITS.max_connections
    flood = LIMITS.limit_concurrency + 44  # past both the ceiling (192) and uvicorn's own limit (256)
    with loop_port(tmp_path) as server, misbehaving(("127.0.0.1", server.port), "/metrics", each=flood // 3) as held:
        health = httpx.get(f"{server.url}/healthz", timeout=WAIT)
        assert (health.status_code, health.text) == (200, "ok\n")
        assert _open_connections(server) <= LIMITS.max_connections + 1
        assert closed_by_server(held["idle"][0])  # the oldest went first


def _url_from(proc: subprocess.Popen[bytes]) -> str:
    """The URL ``status serve`` says it serves at (the port it was given: 0, so its own)."""
    assert proc.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stderr, selectors.EVENT_READ)
    text, deadline = b"", time.monotonic() + WAIT
    while not (found := re.search(rb"at (http://127\.0\.0\.1:\d+)/", text)):
        assert proc.poll() is None, text.decode()
        assert time.monotonic() < deadline, f"status serve said no URL: {text.decode()}"
        if selector.select(timeout=deadline - time.monotonic()):
            text += os.read(proc.stderr.fileno(), 4096)
    selector.close()
    return found.group(1).decode()


def test_status_serve_answers_within_a_second_while_150_connections_hang(tmp_path: Path) -> None:
    with loop_port(tmp_path):  # a state database a cycle wrote
        pass
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator", "status", "serve", "--state-db",
                             str(tmp_path / "state.db"), "--base-url", TEST_URL, "--port", "0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "SHARINGTOOLS_STATE_DB": ""})
    try:
        url = _url_from(proc)
        port = int(url.rsplit(":", 1)[1])
        assert httpx.get(f"{url}/api/status", timeout=WAIT).status_code == 200  # warm
        with misbehaving(("127.0.0.1", port), "/api/status"):
            for _ in range(3):
                status = httpx.get(f"{url}/api/status", timeout=ANSWER_WITHIN)
                assert status.status_code == 200 and status.json()["last_cycle"]["result"] == "drift_reported"
                page = httpx.get(f"{url}/", timeout=ANSWER_WITHIN)
                assert page.status_code == 200 and "The fleet at a glance" in page.text
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
        if proc.stderr is not None:
            proc.stderr.close()
    assert proc.returncode == 130
