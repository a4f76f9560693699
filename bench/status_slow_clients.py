"""``orchestrator status serve`` under clients that hold connections: memory stays bounded and a
real request is still answered.

A state database is made by one real reconcile cycle (``report`` mode) over the demo world and
the example playbooks, in process; then ``status serve`` runs as its own process on a port it
chooses, and each round opens ``--each`` idle connections, ``--each`` half-sent request heads
and ``--each`` readers that ask for ``--path`` and never read the answer (a 1 KiB receive
buffer), asks ``/api/status`` once, and closes them all. Printed per round: the answer's status
and time, the server's RSS and how many connections it holds; then the RSS once every
connection is gone. The server holds at most 192 connections (``orchestrator.status.serve.LIMITS``).

    python bench/status_slow_clients.py                       # 20 rounds of 3 x 200 connections
    python bench/status_slow_clients.py --rounds 1 --each 10  # the smoke test's size
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
URL = "http://emulator.invalid/api/v1"  # the installation the state database is of (never asked)


def make_state_db(path: Path) -> None:
    """One report cycle of the example playbooks over the in-process demo world, into ``path``."""
    from orchestrator import log, playbook
    from orchestrator.api import SharingtoolsClient
    from orchestrator.emulator.testing import LocalEmulator
    from orchestrator.reconcile.loop import Reconciler, ReconcileOptions
    from orchestrator.state.db import open_sqlite

    async def cycle() -> None:
        emu = LocalEmulator("demo")
        history = open_sqlite(path, URL)
        async with SharingtoolsClient(f"{URL}", emu.keys["alice"], transport=emu.transport(), rate=5000) as client:
            loop = Reconciler(client, playbook.load([str(ROOT / "playbooks")]), ReconcileOptions(mode="report"),
                              history=history)
            await loop.cycle()
        await history.close()

    log.configure("warning", "console")  # the cycle's request logs would drown the figures
    anyio.run(cycle)


@contextlib.contextmanager
def hanging(port: int, path: str, each: int) -> Iterator[None]:
    opened: list[socket.socket] = []
    try:
        for first in (b"", f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Slow: ".encode(),
                      f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()):
            for _ in range(each):
                sock = socket.socket()
                opened.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
                sock.settimeout(30)
                sock.connect(("127.0.0.1", port))
                if first:
                    sock.sendall(first)
        yield
    finally:
        for sock in opened:
            sock.close()


def served_url(proc: subprocess.Popen[bytes], within: float = 60) -> str:
    assert proc.stderr is not None
    selector = selectors.DefaultSelector()
    selector.register(proc.stderr, selectors.EVENT_READ)
    text, deadline = b"", time.monotonic() + within
    while not (found := re.search(rb"at (http://127\.0\.0\.1:\d+)/", text)):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"status serve did not start: {text.decode()}")
        if selector.select(timeout=max(0.0, deadline - time.monotonic())):
            text += os.read(proc.stderr.fileno(), 4096)
    selector.close()
    return found.group(1).decode()


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--each", type=int, default=200, help="connections of each kind per round")
    parser.add_argument("--path", default="/accounts", help="what the readers that never read ask for")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "state.db"
        make_state_db(db)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SHARINGTOOLS_LOG_LEVEL": "warning"}
        proc = subprocess.Popen([sys.executable, "-m", "orchestrator", "status", "serve", "--state-db", str(db),
                                 "--base-url", URL, "--port", "0"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, env=env)
        try:
            url = served_url(proc)
            port = int(url.rsplit(":", 1)[1])
            server = psutil.Process(proc.pid)
            for page in ("/", "/accounts", "/api/status"):  # warm: templates compiled, first queries made
                httpx.get(url + page, timeout=30).raise_for_status()
            result: dict[str, Any] = {"idle_rss_mb": round(server.memory_info().rss / 1e6, 1), "rounds": []}
            print(f"status serve at {url}: RSS {result['idle_rss_mb']} MB idle")
            for n in range(1, args.rounds + 1):
                with hanging(port, args.path, args.each):
                    started = time.monotonic()
                    answer = httpx.get(f"{url}/api/status", timeout=30)
                    took = time.monotonic() - started
                    row = {"round": n, "status": answer.status_code, "seconds": round(took, 3),
                           "rss_mb": round(server.memory_info().rss / 1e6, 1),
                           "connections": len(server.net_connections())}
                result["rounds"].append(row)
                print(f"round {n}: /api/status {row['status']} in {row['seconds']} s; RSS {row['rss_mb']} MB; "
                      f"{row['connections']} connections held")
            deadline = time.monotonic() + 30
            while len(server.net_connections()) > 1 and time.monotonic() < deadline:  # only the listener left
                time.sleep(0.1)
            result["after_rss_mb"] = round(server.memory_info().rss / 1e6, 1)
            result["after_connections"] = len(server.net_connections())
            print(f"after: RSS {result['after_rss_mb']} MB; {result['after_connections']} connections "
                  "(the listener)")
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=15)
            if proc.stderr is not None:
                proc.stderr.close()
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
