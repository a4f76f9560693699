"""The served emulator under abuse: many slow-header connections, and very large bodies.

    .venv/bin/python bench/emulator_abuse.py [--slow 1100] [--files 1024] [--body-mb 100]

Starts ``orchestrator emulator serve`` on 127.0.0.1 with its open-file limit, soft **and hard**,
lowered to ``--files`` (1,024: the common default soft limit; the server raises its soft limit to
the hard one, so lowering only the soft limit would test nothing), then:

1. opens ``--slow`` connections that send half a request head and stall, and checks a normal
   request is still answered (before the connection budget: an empty reply, a reset);
2. streams a ``--body-mb`` chunked body and a body declaring that length, and reports the
   server's status and its peak resident memory (sampled while sending).

Every socket and the server process are closed in ``finally``.
"""

from __future__ import annotations

import argparse
import resource
import socket
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import psutil

from _servers import free_port, process, python

SERVE = (
    "import resource, sys\n"
    "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
    "files = int(sys.argv[2]) if hard == resource.RLIM_INFINITY else min(int(sys.argv[2]), hard)\n"
    "resource.setrlimit(resource.RLIMIT_NOFILE, (files, files))\n"
    "from orchestrator.cli.app import app\n"
    "sys.argv = ['orchestrator', 'emulator', 'serve', '--seed', 'demo', '--frozen-clock', '--port', sys.argv[1]]\n"
    "app()\n"
)


def slow_connections(port: int, count: int) -> tuple[int, int]:
    """Open ``count`` stalled heads, then one normal request; (opened, status of the request)."""
    opened: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"GET /_emulator/health HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            opened.append(sock)
        try:
            status = httpx.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=10).status_code
        except httpx.HTTPError as exc:
            print(f"  normal request failed: {type(exc).__name__}: {exc}")
            status = 0
        return len(opened), status
    finally:
        for sock in opened:
            sock.close()


def large_body(port: int, pid: int, megabytes: int, chunked: bool) -> tuple[int, float, float]:
    """Send a large body; (status, server RSS in MB before, its peak while the body was sent)."""
    server = psutil.Process(pid)
    before = peak = server.memory_info().rss
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, server.memory_info().rss)
            time.sleep(0.01)

    chunk = b" " * (1024 * 1024)

    def stream() -> Iterator[bytes]:
        for _ in range(megabytes):
            yield chunk

    headers = {"content-type": "application/json", "authorization": "Bearer none"}
    if not chunked:
        headers["content-length"] = str(megabytes * len(chunk))
    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        with httpx.Client(timeout=120) as client:
            r = client.post(f"http://127.0.0.1:{port}/api/v1/captions", content=stream(), headers=headers)
        return r.status_code, before / 2**20, peak / 2**20
    finally:
        stop.set()
        sampler.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slow", type=int, default=1100)
    parser.add_argument("--files", type=int, default=1024, help="the server's open-file limit, soft and hard")
    parser.add_argument("--body-mb", type=int, default=100)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # this client needs the sockets too
    port = free_port()
    with process([python(), "-c", SERVE, str(port), str(args.files)],
                 ready_url=f"http://127.0.0.1:{port}/_emulator/health") as proc:
        opened, status = slow_connections(port, args.slow)
        print(f"{opened} stalled heads open at {args.files} open files (soft and hard), "
              f"normal request answered {status}")
        for chunked in (True, False):
            status, before, peak = large_body(port, proc.pid, args.body_mb, chunked)
            how = "chunked" if chunked else "Content-Length"
            print(f"{args.body_mb} MB body ({how}): status {status}, server RSS {before:.0f} MB before, "
                  f"peak {peak:.0f} MB while sent")
    return 0


if __name__ == "__main__":
    sys.exit(main())
