"""Emulator throughput: authenticated GETs per second for the reads a plan makes, with the
server on one core and the load on the other, each run bounded in requests.

    python bench/emulator_throughput.py [--accounts 10000] [--requests 20000] [--connections 32]
                                        [--only NAME]... [--profile FILE] [--no-baseline]

Starts ``orchestrator emulator serve --seed accounts=N --frozen-clock`` on 127.0.0.1 pinned to
core 0 (``taskset``), then drives it from a separate process pinned to core 1: a lean asyncio
HTTP/1.1 client (uvloop, keep-alive connections, no parsing beyond the status line and
``Content-Length``), so that the client is not what is measured. Each read gets ``--requests``
requests (after a warm-up of 1,000), cycling over list pages of 100 and over the accounts. Every
answer must be 200.

For a list, its every page is first read once, alone: the **cold** figure, each row rendered
for the first time (what one plan's read of the list costs). Then, for every read, two figures:
**req/s** (wall clock, the load on its own core) and **server CPU per request** (the server
process's user + system time over the run, from psutil, divided by the requests): its inverse
is how many such requests one core can serve, which stays meaningful on a machine shared with
other work.

``--profile FILE`` measures nothing over sockets: it builds the same world in this process and
calls the app directly through ASGI (``--requests`` of each read), under cProfile, and writes
the profile to FILE (``python -m pstats FILE``); it prints the app's own time per request.

The bare Starlette baseline (``bench/baseline_app.py``, the smallest app answering a JSON
envelope on the same uvicorn) shows what the client and uvicorn alone allow.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _servers import free_port, pinned, process, python  # noqa: E402

WARMUP = 1000
PAGES = 100  # pages of 100 cycled over in a list read (10,000 accounts: every page once per cycle)

# name -> path template; {page} cycles over 1..pages, {id} over the accounts.
READS: dict[str, str] = {
    "GET /accounts?page&per_page=100": "/api/v1/accounts?page={page}&per_page=100",
    "GET /reactions/schedules?page&per_page=100": "/api/v1/reactions/schedules?page={page}&per_page=100",
    "GET /repost/schedules?page&per_page=100": "/api/v1/repost/schedules?page={page}&per_page=100",
    "GET /welcomedm/schedules?page&per_page=100": "/api/v1/welcomedm/schedules?page={page}&per_page=100",
    "GET /first-comment/schedules?page&per_page=100": "/api/v1/first-comment/schedules?page={page}&per_page=100",
    "GET /accounts/{id}": "/api/v1/accounts/{id}",
    "GET /reactions/schedules/{id}": "/api/v1/reactions/schedules/{id}",
    "GET /reactions/schedules/{id}/settings": "/api/v1/reactions/schedules/{id}/settings",
    "GET /repost/schedules/{id}/settings": "/api/v1/repost/schedules/{id}/settings",
}
BASELINE_PATH = "/api/v1/accounts/1"


# -- the load: runs in its own process (``--drive``), pinned to the other core --------------------
async def _drive(port: int, paths: list[str], key: str | None, connections: int, total: int) -> dict[str, object]:
    host = b"127.0.0.1:%d" % port
    auth = b"Authorization: Bearer %s\r\n" % key.encode() if key else b""
    requests = [b"GET %s HTTP/1.1\r\nHost: %s\r\n%s\r\n" % (p.encode(), host, auth) for p in paths]
    statuses: dict[int, int] = {}
    sent = 0
    body_bytes = 0

    async def worker() -> None:
        nonlocal sent, body_bytes
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while sent < total:  # bounded: ``total`` requests across all connections
                request = requests[sent % len(requests)]
                sent += 1
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                        break
                body_bytes += len(await reader.readexactly(length))
                statuses[status] = statuses.get(status, 0) + 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - start
    return {"seconds": elapsed, "statuses": statuses, "bytes_per_answer": body_bytes / max(1, total)}


def drive_main(args: argparse.Namespace) -> None:
    try:
        import uvloop
        uvloop.install()
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        pass
    paths = json.loads(Path(args.paths).read_text())
    result = asyncio.run(_drive(args.port, paths, args.key, args.connections, args.total))
    print(json.dumps(result))


def load(port: int, paths: list[str], key: str | None, connections: int, total: int, tmp: Path) -> dict[str, object]:
    """Run ``total`` requests from a separate process on core 1; its JSON result."""
    file = tmp / "paths.json"
    file.write_text(json.dumps(paths))
    cmd = [python(), __file__, "--drive", "--port", str(port), "--paths", str(file), "--connections",
           str(connections), "--total", str(total)] + (["--key", key] if key else [])
    out = subprocess.run(pinned(cmd, 1), capture_output=True, text=True, timeout=600, check=True).stdout
    return dict(json.loads(out))


def measure(port: int, pid: int, paths: list[str], key: str | None, connections: int, total: int,
            tmp: Path, cold: int = 0) -> tuple[float, float, float, float | None]:
    """(req/s, server CPU µs per request, bytes per answer, cold µs per request or None) of
    ``total`` requests after a warm-up. With ``cold``, the first ``cold`` paths (every page of a
    list, once) are read first, alone, and their server CPU per request is the cold figure: each
    row rendered for the first time, as in one plan's reads of a list."""
    import psutil

    server = psutil.Process(pid)

    def cpu() -> float:
        times = server.cpu_times()
        return float(times.user + times.system)

    cold_us = None
    if cold:
        before = cpu()
        first = load(port, paths[:cold], key, min(connections, cold), cold, tmp)
        cold_us = (cpu() - before) / cold * 1e6
        _check(first)
    load(port, paths, key, connections, WARMUP, tmp)
    before = cpu()
    result = load(port, paths, key, connections, total, tmp)
    used = cpu() - before
    _check(result)
    return (total / float(result["seconds"]), used / total * 1e6,  # type: ignore[arg-type]
            float(result["bytes_per_answer"]), cold_us)  # type: ignore[arg-type]


def _check(result: dict[str, object]) -> None:
    statuses = {int(k): v for k, v in dict(result["statuses"]).items()}  # type: ignore[call-overload]
    if set(statuses) != {200}:
        raise RuntimeError(f"answers other than 200: {statuses}")


def profile(reads: dict[str, str], accounts: int, requests: int, out: str) -> None:
    """The app in process under cProfile: ``requests`` ASGI calls of each read, no sockets."""
    import cProfile

    from orchestrator.emulator.app import create_app
    from orchestrator.emulator.server import build_state

    state, keys = build_state(seed=f"accounts={accounts}")
    app = create_app(state)
    headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {keys['alice']}".encode())]

    async def call(path: str) -> int:
        route, _, query = path.partition("?")
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
                 "scheme": "http", "path": route, "raw_path": route.encode(), "query_string": query.encode(),
                 "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
        status = 0

        async def receive() -> dict[str, object]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, object]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])  # type: ignore[call-overload]

        await app(scope, receive, send)
        return status

    async def run(paths: list[str]) -> None:
        for path in paths:
            if await call(path) != 200:
                raise RuntimeError(f"{path} did not answer 200")

    profiler = cProfile.Profile()
    for name, template in reads.items():
        paths = paths_for(template, accounts, requests)
        asyncio.run(run(paths[:200]))  # warm-up: FastAPI builds its validators on the first requests
        start = time.process_time()
        profiler.enable()
        asyncio.run(run(paths))
        profiler.disable()
        print(f"  {name}: {(time.process_time() - start) / requests * 1e6:.0f} µs a request under cProfile",
              file=sys.stderr)
    profiler.dump_stats(out)


def paths_for(template: str, accounts: int, count: int) -> list[str]:
    pages = min(PAGES, max(1, accounts // 100))
    return [template.format(page=i % pages + 1, id=i % accounts + 1) for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=20_000, help="per read, after a warm-up of 1,000")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--only", action="append", default=[], help="only reads whose name contains this")
    parser.add_argument("--profile", help="profile the app in process (ASGI, no sockets) into this file")
    parser.add_argument("--no-baseline", action="store_true")
    # the load process's own options
    parser.add_argument("--drive", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--paths", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--total", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        drive_main(args)
        return
    reads = {n: t for n, t in READS.items() if not args.only or any(o in n for o in args.only)}
    if args.profile:
        profile(reads, args.accounts, args.requests, args.profile)
        return
    rows: list[tuple[str, float, float, float, float | None]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        keys_file = tmp / "keys.json"
        port = free_port()
        serve = [python(), "-m", "orchestrator", "emulator", "serve", "--port", str(port), "--seed",
                          f"accounts={args.accounts}", "--keys-file", str(keys_file), "--frozen-clock"]
        base = f"http://127.0.0.1:{port}"
        with process(pinned(serve, 0), ready_url=f"{base}/_emulator/health", timeout=120) as proc:
            key = json.loads(keys_file.read_text())["alice"]
            for name, template in reads.items():
                pages = min(PAGES, max(1, args.accounts // 100)) if "{page}" in template else 0
                rps, cpu_us, size, cold_us = measure(port, proc.pid, paths_for(template, args.accounts, 1000), key,
                                                     args.connections, args.requests, tmp, cold=pages)
                rows.append((name, rps, cpu_us, size, cold_us))
                print(f"  {name}: {rps:,.0f} req/s, {cpu_us:.0f} µs server CPU a request", file=sys.stderr)
        if not args.no_baseline:
            port = free_port()
            baseline = [python(), "-m", "uvicorn", "baseline_app:app", "--app-dir", "bench", "--port", str(port),
                        "--log-level", "warning", "--no-access-log"]
            with process(pinned(baseline, 0), ready_url=f"http://127.0.0.1:{port}{BASELINE_PATH}") as proc:
                rps, cpu_us, size, _ = measure(port, proc.pid, [BASELINE_PATH], None, args.connections,
                                               args.requests, tmp)
                rows.append(("bare Starlette baseline, GET /accounts/{id}", rps, cpu_us, size, None))
    print("| read (uvicorn, 1 core) | req/s | server CPU per request | requests per core-second "
          "| cold: first read of each page | answer |")
    print("|---|---|---|---|---|---|")
    for name, rps, cpu_us, size, cold_us in rows:
        cold_text = f"{cold_us:.0f} µs ({1e6 / cold_us:,.0f}/s)" if cold_us else "-"
        print(f"| {name} | {rps:,.0f} | {cpu_us:.0f} µs | {1e6 / cpu_us:,.0f} | {cold_text} | {size / 1024:.1f} KiB |")


if __name__ == "__main__":
    main()
