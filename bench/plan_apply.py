"""Plan and apply held to the server's limit.

An emulator (uvicorn on core 0, file database) with N scale accounts and a server-side rate
limit of R requests per second; the orchestrator (core 1) plans and applies a playbook that
manages every account (Reactions Pro state, a setting and a target; Repost Pro state).
Side by side in one run:

- the ideal: the minimal number of requests divided by R;
- the orchestrator: plan, then apply including its verify pass, as measured;
- a naive baseline: the same plan reads made one after another with plain httpx (what a
  hand-written script does).

    python bench/plan_apply.py [--accounts 2000] [--rate 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _servers import free_port, pinned, process, python  # noqa: E402

PLAYBOOK = """
version: 1
groups:
  scale:
    usernames: "*_s0*"
policy:
  max_settings_updates: 100%
  max_activations: 100%
  max_pauses: 100%
entries:
  - name: every scale account
    groups: scale
    reactions:
      state: active
      settings:
        likes_speed: 4
      targets:
        - hashtag: benchmark
    repost:
      state: paused
"""


async def counters(base: str) -> dict:
    async with httpx.AsyncClient(base_url=f"{base}/_emulator") as c:
        return (await c.get("/requests")).json()


async def reset(base: str) -> None:
    async with httpx.AsyncClient(base_url=f"{base}/_emulator") as c:
        await c.post("/requests/reset")


async def naive_reads(api: str, key: str, ids: list[int]) -> int:
    """The plan's reads, one after another: lists page by page, then settings per account."""
    n = 0
    async with httpx.AsyncClient(base_url=api, headers={"Authorization": f"Bearer {key}"}, timeout=60) as c:
        for path in ("accounts", "reactions/schedules", "repost/schedules"):
            page = 1
            while True:
                r = await c.get(path, params={"page": page, "per_page": 100})
                n += 1
                if r.status_code == 429:
                    await asyncio.sleep(float(r.headers.get("retry-after", 1)))
                    continue
                data = r.json()["data"]
                if page * 100 >= data["total"]:
                    break
                page += 1
        for account_id in ids:
            while True:
                r = await c.get(f"reactions/schedules/{account_id}/settings")
                n += 1
                if r.status_code != 429:
                    break
                await asyncio.sleep(float(r.headers.get("retry-after", 1)))
    return n


def run_cli(args: list[str], env: dict[str, str]) -> tuple[int, float]:
    import os
    import subprocess

    started = time.perf_counter()
    proc = subprocess.run(pinned([python(), "-m", "orchestrator", *args], 1), env={**os.environ, **env},
                          capture_output=True, text=True, timeout=1800)
    return proc.returncode, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--latency-ms", type=float, default=50.0,
                        help="added to every answer, as a SaaS round trip over the internet would be")
    args = parser.parse_args()
    n, rate = args.accounts, args.rate
    with tempfile.TemporaryDirectory() as tmp:
        tmpdir = Path(tmp)
        (tmpdir / "scale.yaml").write_text(PLAYBOOK)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        serve = [python(), "-m", "orchestrator", "emulator", "serve", "--port", str(port), "--db", str(tmpdir / "emu.db"),
                 "--seed", f"accounts={n}", "--keys-file", str(tmpdir / "keys.json"), "--frozen-clock"]
        with process(pinned(serve, 0), ready_url=f"{base}/_emulator/health", timeout=120):
            key = json.loads((tmpdir / "keys.json").read_text())["alice"]
            httpx.put(f"{base}/_emulator/rate-limit", json={"rate": rate, "burst": max(1, int(rate // 10))})
            if args.latency_ms:
                httpx.put(f"{base}/_emulator/faults",
                          json={"latency": {"probability": 1.0, "distribution": "fixed", "mean_ms": args.latency_ms}})
            env = {"SHARINGTOOLS_BASE_URL": f"{base}/api/v1", "SHARINGTOOLS_API_KEY": key,
                   "SHARINGTOOLS_RATE": str(rate), "SHARINGTOOLS_CONCURRENCY": "32",
                   "SHARINGTOOLS_STATE_DB": str(tmpdir / "state.db")}
            pages = math.ceil(n / 100)
            minimal_plan = 3 * pages + n  # accounts, two schedule lists, settings per account
            asyncio.run(reset(base))
            code, plan_s = run_cli(["plan", str(tmpdir / "scale.yaml"), "--format", "json"], env)
            plan_counts = asyncio.run(counters(base))
            asyncio.run(reset(base))
            code_apply, apply_s = run_cli(["apply", str(tmpdir / "scale.yaml"), "--yes"], env)
            apply_counts = asyncio.run(counters(base))
            writes = sum(r["count"] for r in apply_counts["requests"] if r["method"] != "GET" and not r["injected"])
            throttled = sum(r["count"] for r in apply_counts["requests"] if r["status"] == 429)
            # apply = its plan reads + writes + verify re-reads of what it touched
            minimal_apply = minimal_plan + writes + minimal_plan
            asyncio.run(reset(base))
            started = time.perf_counter()
            naive_n = asyncio.run(naive_reads(f"{base}/api/v1", key, list(range(1, n + 1))))
            naive_s = time.perf_counter() - started
    print(f"{n} accounts, server limit {rate:g} req/s, {args.latency_ms:g} ms added latency; "
          f"plan exit {code}, apply exit {code_apply}\n")
    print("| run | requests (minimal) | seconds | ideal seconds (minimal / R) | ratio to ideal |")
    print("|---|---|---|---|---|")
    print(f"| naive sequential plan reads (baseline) | {naive_n} ({minimal_plan}) | {naive_s:.1f} | {minimal_plan / rate:.1f} | {naive_s / (minimal_plan / rate):.2f} |")
    print(f"| orchestrator plan | {plan_counts['total']} ({minimal_plan}) | {plan_s:.1f} | {minimal_plan / rate:.1f} | {plan_s / (minimal_plan / rate):.2f} |")
    print(f"| orchestrator apply incl. plan and verify | {apply_counts['total']} ({minimal_apply}) | {apply_s:.1f} | {minimal_apply / rate:.1f} | {apply_s / (minimal_apply / rate):.2f} |")
    print(f"\napply: {writes} writes, {throttled} answered 429 ({100 * throttled / max(1, apply_counts['total']):.1f}%)")


if __name__ == "__main__":
    main()
