"""Four shards on one PostgreSQL store behind a proxy that admits R requests per second, each
configured with ``rate: R``: the leased shares keep the fleet under R (few 429s), and the
fleet's wall time stays near the minimal requests / R.

    python bench/fleet_shards.py --accounts 4000 --rate 300 --shards 4

The emulator (seeded with ``--accounts`` scale accounts) and the proxy (bench/rate_proxy.py)
run on core 0, PostgreSQL is the one tests/harness/postgres.py starts, and the shards are
``orchestrator reconcile --once --mode report --shard K/N`` processes started together.
Minimal requests: each shard reads the three lists (accounts, Reactions Pro and Repost Pro
schedules, 100 a page), and the fleet reads each account's Reactions Pro settings once.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _servers import ROOT, python  # noqa: E402
from _world import world  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=4000)
    parser.add_argument("--rate", type=float, default=300)
    parser.add_argument("--shards", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args(argv)
    from tests.harness.postgres import start_server

    server = start_server()
    try:
        pg = server.database()
        with tempfile.TemporaryDirectory() as tmp, world(args.accounts, rate=args.rate, tmp=Path(tmp)) as w:
            book = str(w.tmp / "scale.yaml")
            env = {**os.environ, "SHARINGTOOLS_BASE_URL": w.api, "SHARINGTOOLS_API_KEY": w.key,
                   "SHARINGTOOLS_RATE": str(args.rate), "SHARINGTOOLS_CONCURRENCY": "32",
                   "SHARINGTOOLS_STATE_DB": pg, "PYTHONPATH": str(ROOT)}
            w.reset_counters()
            started = time.perf_counter()
            procs = [subprocess.Popen([python(), "-m", "orchestrator", "reconcile", book, "--once", "--mode",
                                       "report", "--shard", f"{k}/{args.shards}"], env=env, cwd=ROOT,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                     for k in range(args.shards)]
            codes = []
            for proc in procs:
                _, err = proc.communicate(timeout=args.timeout)
                codes.append(proc.returncode)
                if proc.returncode not in (0, 2):
                    print(err.decode(errors="replace")[-1500:])
            wall = time.perf_counter() - started
            total, throttled, _ = w.counters()
            history = subprocess.run([python(), "-m", "orchestrator", "history", "--limit", str(args.shards)],
                                     env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    finally:
        server.stop()
    minimal = args.shards * 3 * math.ceil(args.accounts / 100) + args.accounts
    bound = minimal / args.rate
    print(f"shards {args.shards}, accounts {args.accounts}, R = {args.rate:g}/s: exit codes {codes}")
    print(f"requests {total} (minimal {minimal}), 429s {throttled} ({100 * throttled / max(1, total):.2f}%)")
    print(f"wall {wall:.1f} s, minimal requests / R = {bound:.1f} s, ratio {wall / bound:.2f}")
    print(history.stdout)


if __name__ == "__main__":
    main()
