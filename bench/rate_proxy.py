"""A rate-limiting, latency-adding HTTP proxy for the benchmarks, knowing nothing of the emulator.

Every request waits ``--latency-ms`` ± ``--jitter-ms`` (uniform), as a round trip across the
internet would, and is admitted by a token bucket of ``--rate`` requests per second (burst
``--burst``); beyond it the answer is 429 with ``Retry-After: 1``, as a SaaS gateway would
give. Admitted requests are forwarded to ``--upstream`` over a kept-alive pool. The proxy's
own counters (requests, 429s) are read and reset at ``/_proxy/stats`` and ``/_proxy/reset``.

    python bench/rate_proxy.py --upstream http://127.0.0.1:8000 --port 8001 --rate 300
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from collections import Counter

from aiohttp import ClientSession, ClientTimeout, TCPConnector, web

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}


class Bucket:
    """The classic token bucket: ``rate`` tokens a second, at most ``burst`` saved up."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.last = burst, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def build_app(upstream: str, rate: float, burst: float, latency: float, jitter: float, seed: int) -> web.Application:
    bucket = Bucket(rate, burst) if rate > 0 else None
    counts: Counter[str] = Counter()
    rng = random.Random(seed)
    app = web.Application(client_max_size=64 * 1024 * 1024)

    async def session_ctx(app: web.Application):  # type: ignore[no-untyped-def]
        app["session"] = ClientSession(
            connector=TCPConnector(limit=256), timeout=ClientTimeout(total=120), auto_decompress=False
        )
        yield
        await app["session"].close()

    app.cleanup_ctx.append(session_ctx)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response(dict(counts))

    async def reset(request: web.Request) -> web.Response:
        counts.clear()
        return web.json_response({})

    async def forward(request: web.Request) -> web.StreamResponse:
        delay = max(0.0, latency + rng.uniform(-jitter, jitter))
        # Half the round trip on the way in, half on the way out; admission is decided on arrival.
        await asyncio.sleep(delay / 2)
        counts["total"] += 1
        counts[request.method] += 1
        if bucket is not None and not bucket.take():
            counts["429"] += 1
            await asyncio.sleep(delay / 2)
            return web.json_response(
                {"status": "error", "message": "Too many requests"}, status=429, headers={"Retry-After": "1"}
            )
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        async with app["session"].request(
            request.method, upstream + request.path_qs, headers=headers, data=body or None, allow_redirects=False
        ) as answer:
            payload = await answer.read()
            out_headers = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
            status = answer.status
        counts[str(status)] += 1
        await asyncio.sleep(delay / 2)
        return web.Response(body=payload, status=status, headers=out_headers)

    app.router.add_get("/_proxy/stats", stats)
    app.router.add_post("/_proxy/reset", reset)
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rate", type=float, default=300.0, help="admitted requests per second; 0 for no limit")
    parser.add_argument("--burst", type=float, default=None, help="bucket size (default: rate / 20, at least 1)")
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--jitter-ms", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    burst = args.burst if args.burst is not None else max(1.0, args.rate / 20)
    app = build_app(
        args.upstream.rstrip("/"), args.rate, burst, args.latency_ms / 1000, args.jitter_ms / 1000, args.seed
    )
    web.run_app(app, host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
