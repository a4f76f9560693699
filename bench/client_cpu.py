"""The client's own CPU per request, with no server: ``Transport.call`` against a canned transport.

A settings GET (a 100-field object) and the pages of a 20,000-account list (100 accounts a
page, each validated as ``Account``), through the whole client (limits, retry machinery,
envelope and page checks, models), answered in process at once: what is timed is the client's
work alone, which the server-backed benchmarks mix with the server's and the network's. The
best of five list reads is kept (the machine is shared). A third figure is the settings GET
held to 400 requests a second (``PACED``), 64 in flight, as a plan under a server's limit
sends: what the pacing itself costs on top. Compare two checkouts with ``--source``:

    python bench/client_cpu.py                        # this checkout
    python bench/client_cpu.py --source /path/to/old  # another one (its orchestrator package)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = {"status": "success", "data": {"account_id": 3, "settings": {f"field_{i}": i for i in range(100)}}}
TOTAL = 20_000
PACED = 400.0  # requests per second, for the paced figure


def page(number: int) -> bytes:
    items = [{"id": (number - 1) * 100 + i + 1, "username": f"user_{i}", "platform": "instagram", "is_active": True,
              "login_required": False, "proxy": None} for i in range(100)]
    return json.dumps({"status": "success",
                       "data": {"items": items, "total": TOTAL, "page": number, "per_page": 100}}).encode()


def measure() -> dict[str, float]:
    import anyio
    import httpx
    import structlog

    from orchestrator.api import SharingtoolsClient

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    settings = json.dumps(SETTINGS).encode()
    pages = {n: page(n) for n in range(1, TOTAL // 100 + 1)}

    class Canned(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            body = pages[int(request.url.params["page"])] if request.url.path.endswith("/accounts") else settings
            return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    async def run() -> dict[str, float]:
        async def reads(client: SharingtoolsClient, k: int) -> None:
            for _ in range(k):
                await client.reactions.get_settings(3)

        async with SharingtoolsClient("http://bench.invalid/api/v1", "sht_" + "0" * 64, transport=Canned(),
                                      rate=1e9, concurrency=64) as client:
            for _ in range(200):  # warm up
                await client.reactions.get_settings(3)
            n = 5_000
            started = time.process_time()
            async with anyio.create_task_group() as tg:
                for _ in range(50):
                    tg.start_soon(reads, client, n // 50)
            per_get = (time.process_time() - started) / n
            best = float("inf")
            for _ in range(5):
                started = time.process_time()
                count = sum([1 async for _ in client.accounts.list()])
                best = min(best, (time.process_time() - started) / (TOTAL // 100))
            assert count == TOTAL
        async with SharingtoolsClient("http://bench.invalid/api/v1", "sht_" + "0" * 64, transport=Canned(),
                                      rate=PACED, concurrency=64) as client:
            n = 1_200  # 3 s at PACED
            started = time.process_time()
            async with anyio.create_task_group() as tg:
                for _ in range(64):
                    tg.start_soon(reads, client, n // 64)
            paced = (time.process_time() - started) / (n // 64 * 64)
        return {"settings_get_ms": per_get * 1000, "list_page_ms": best * 1000, "paced_get_ms": paced * 1000}

    return anyio.run(run)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=None, help="another checkout to measure")
    args = parser.parse_args(argv)
    if args.source is not None:  # in a child, so that its orchestrator package is the one imported
        env = {**os.environ, "BENCH_SOURCE": str(args.source.resolve())}
        out = subprocess.run([sys.executable, __file__], env=env, cwd=args.source, capture_output=True, text=True,
                             check=True, timeout=600)
        print(out.stderr, end="", file=sys.stderr)
        print(out.stdout, end="")
        return json.loads(out.stdout.splitlines()[-1])
    result = measure()
    print(f"settings GET {result['settings_get_ms']:.3f} ms CPU; a list page of 100 accounts "
          f"{result['list_page_ms']:.3f} ms CPU; a settings GET paced at {PACED:g}/s "
          f"{result['paced_get_ms']:.3f} ms CPU", file=sys.stderr)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    sys.path.insert(0, os.environ.get("BENCH_SOURCE", str(ROOT)))  # whose orchestrator package is measured
    main()
