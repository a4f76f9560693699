"""1,100 stalled request heads against ``orchestrator emulator serve`` held to 1,024 open files
(soft and hard, so the server cannot raise its own limit): a normal request is still answered.

Before the connection budget (``orchestrator.serving.limits.ConnectionBudget``) the normal
request met an empty reply (a reset): every descriptor was taken, and libuv accepted the
newcomer on its spare descriptor only to close it. Real processes on 127.0.0.1: the server is stopped and every
socket closed in ``finally``; every wait is bounded.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.harness.processes import free_port

resource = pytest.importorskip("resource")  # POSIX only

pytestmark = [pytest.mark.uvicorn, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
FILES = 1024  # the server's limit on open files, soft and hard
STALLED = 1100
PARTIAL_HEAD = b"GET /_emulator/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
WAIT = 60.0  # seconds: the bound of every wait here

# Lowers both limits, then becomes the CLI: what `prlimit --nofile=1024:1024 orchestrator ...` does.
LIMITED = ("import os, resource, sys\n"
           f"resource.setrlimit(resource.RLIMIT_NOFILE, ({FILES}, {FILES}))\n"
           "os.execv(sys.executable, [sys.executable, '-m', 'orchestrator', *sys.argv[1:]])\n")


@contextmanager
def _limited_emulator(tmp_path: Path) -> Iterator[tuple[int, dict[str, str], subprocess.Popen[bytes]]]:
    port, keys_file, log = free_port(), tmp_path / "keys.json", tmp_path / "serve.log"
    cmd = [sys.executable, "-c", LIMITED, "emulator", "serve", "--port", str(port), "--seed", "demo",
           "--keys-file", str(keys_file), "--frozen-clock"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHARINGTOOLS_")}
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + WAIT
        while True:  # up once it accepts; the only event a separate process offers is its exit
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"the emulator did not start: {log.read_text()[-2000:]}"
            try:
                proc.wait(timeout=0.05)  # returns at once if the server exits
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError(f"the emulator exited: {log.read_text()[-2000:]}")
        yield port, json.loads(keys_file.read_text()), proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def _own_file_limit(at_least: int) -> Iterator[None]:
    """This process holds the 1,100 client sockets: its soft limit raised to fit, then restored."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < at_least:
        pytest.skip(f"needs {at_least} open files in the test process, the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, at_least), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _closed(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_a_normal_request_is_answered_with_1100_stalled_heads_at_1024_files(tmp_path: Path) -> None:
    with _own_file_limit(STALLED + 200), _limited_emulator(tmp_path) as (port, keys, proc), ExitStack() as sockets:
        limits = Path(f"/proc/{proc.pid}/limits")
        if limits.exists():  # Linux: the server really runs at 1,024 files, soft and hard
            line = next(x for x in limits.read_text().splitlines() if x.startswith("Max open files"))
            assert line.split()[3:5] == [str(FILES), str(FILES)]
        stalled = []
        for _ in range(STALLED):
            sock = sockets.enter_context(socket.create_connection(("127.0.0.1", port), timeout=10))
            sock.sendall(PARTIAL_HEAD)
            stalled.append(sock)

        base = f"http://127.0.0.1:{port}"
        health = httpx.get(f"{base}/_emulator/health", timeout=10)
        assert health.status_code == 200 and health.json() == {"status": "ok"}
        accounts = httpx.get(f"{base}/api/v1/accounts", headers={"Authorization": f"Bearer {keys['alice']}"},
                             timeout=10)
        assert accounts.status_code == 200 and accounts.json()["data"]["total"] == 25
        # Room was made by closing the oldest stalled heads, not by refusing the newcomers.
        assert _closed(stalled[0], within=10)
        assert proc.poll() is None
