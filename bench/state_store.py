"""The state store: its size over many reconcile cycles, and its cost per operation, SQLite
against PostgreSQL.

    python bench/state_store.py growth --accounts 1000 --cycles 1000 [--real 1000]
    python bench/state_store.py cost --accounts 10000 [--postgres]

``growth`` runs reconcile cycles in report mode on an in-process emulator seeded with
``--accounts`` scale accounts, every one drifting (the playbook wants what none has), and
prints the state database's size. ``--real N`` runs the first N cycles for real and, for the
rest, replays the last real cycle's writes to the store (the same drift rows, the same report,
a new run each): what the store is given is the same, only the emulator's reads are skipped.

``cost`` times the store's operations at ``--accounts`` accounts: a journal write (an
operation's start and end), a history read (``history``'s run list and drift summary), the
drift labels of a plan (applied values), and a cycle's drift record; on SQLite, and on a
PostgreSQL server the benchmark starts itself (tests/harness/postgres.py) with ``--postgres``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from orchestrator import playbook  # noqa: E402
from orchestrator.contract import Kind  # noqa: E402
from orchestrator.contract.vocabulary import Action  # noqa: E402
from orchestrator.plan import Change  # noqa: E402
from orchestrator.state.db import open_store  # noqa: E402
from orchestrator.state.store import DriftRow, StateStore  # noqa: E402

URL = "https://bench.example/api/v1"
PLAYBOOK = """
version: 1
groups:
  scale: {usernames: "*_s*"}
entries:
  - groups: scale
    reactions:
      state: active
      settings: {likes_speed: 4}
"""


def size_of(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if p.is_file())


async def growth(accounts: int, cycles: int, real: int, tmp: Path) -> dict[str, Any]:
    from orchestrator.emulator.testing import LocalEmulator
    from orchestrator.reconcile.loop import Reconciler, ReconcileOptions
    from tests.harness import client_for, executor_for

    book_path = tmp / "book.yaml"
    book_path.write_text(PLAYBOOK)
    book = playbook.load([str(book_path)])
    db = tmp / "state.db"
    store = await open_store(db, URL)
    emu = LocalEmulator(f"demo,accounts={accounts}")
    sizes = []
    started = time.perf_counter()
    async with client_for(emu) as client:
        loop = Reconciler(client, book, ReconcileOptions(mode="report"), history=store,
                          executor=executor_for(client), lock=lambda: store.lock("reconcile --mode report"))
        last = None
        for number in range(1, min(real, cycles) + 1):
            last = await loop.cycle()
            if number in (1, 10, 100) or number == min(real, cycles):
                sizes.append((number, size_of(db)))
        assert last is not None and last.run_id is not None
        run = await store.run(last.run_id)
        body = run.report if run and run.report else {}
        read = {r.account_id for r in last.drift}
        for number in range(min(real, cycles) + 1, cycles + 1):
            run_id = await store.start_run("reconcile-report", None, sorted(read))
            await store.finish_run(run_id, "reported", body)
            await store.record_drift(run_id, last.drift, read=read)
            if number in (100, 1000) or number == cycles:
                sizes.append((number, size_of(db)))
        states = len(await store.drift_states())
    await store.close()
    return {"accounts": accounts, "cycles": cycles, "real_cycles": min(real, cycles),
            "drift_rows_per_cycle": len(last.drift), "drift_states": states, "sizes": sizes,
            "seconds": round(time.perf_counter() - started, 1)}


def _ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.2f} ms (p90 {sorted(samples)[int(len(samples) * 0.9)] * 1000:.2f})"


async def cost(store: StateStore, accounts: int) -> dict[str, str]:
    changes = [Change(a, f"user_s{a}", Kind.REACTIONS, Action.UPDATE, "settings.likes_speed", 1, 4)
               for a in range(1, accounts + 1)]
    await store.record_applied(changes, None)
    await store.record_accounts([{"id": a, "username": f"user_s{a}"} for a in range(1, accounts + 1)])
    rows = [DriftRow(c.account_id, c.username, "reactions", c.path, "update", 1, 4, "reported", "report mode")
            for c in changes]
    for _ in range(50):  # some history to read
        run = await store.start_run("reconcile-report", None, [])
        await store.finish_run(run, "reported", {"message": "drift", "plan": {"total": accounts}})
    run = await store.start_run("apply", None, list(range(1, accounts + 1)))
    journal = []
    for a in range(1, 2001):
        t = time.perf_counter()
        op = await store.op_started(run, a, "reactions", "update_settings", {"likes_speed": 4})
        store.op_finished(op)
        journal.append(time.perf_counter() - t)
    lanes_started = time.perf_counter()

    async def lane(k: int) -> None:
        for a in range(k, 2000, 32):
            op = await store.op_started(run, a, "reactions", "update_settings", {"likes_speed": 4})
            store.op_finished(op)

    await asyncio.gather(*(lane(k) for k in range(32)))
    lanes = 2000 / (time.perf_counter() - lanes_started)
    reads = []
    for _ in range(50):
        t = time.perf_counter()
        await store.runs(10)
        await store.hot_spots()
        reads.append(time.perf_counter() - t)
    labels = []
    for _ in range(5):
        t = time.perf_counter()
        await store.applied_drift(changes)
        labels.append(time.perf_counter() - t)
    records = []
    for _ in range(5):
        cycle = await store.start_run("reconcile-report", None, [])
        t = time.perf_counter()
        await store.record_drift(cycle, rows, read={r.account_id for r in rows})
        records.append(time.perf_counter() - t)
    return {"journal write (start + end), one lane": _ms(journal),
            "journal writes per second, 32 lanes": f"{lanes:.0f}",
            "history read (10 runs + drift summary)": _ms(reads),
            f"drift labels of a {accounts}-change plan": _ms(labels),
            f"a cycle's drift record ({accounts} facts seen again)": _ms(records)}


async def costs(accounts: int, postgres: bool, tmp: Path) -> dict[str, dict[str, str]]:
    out = {}
    store = await open_store(tmp / "cost.db", URL)
    out["sqlite"] = await cost(store, accounts)
    await store.close()
    if postgres:
        from tests.harness.postgres import start_server

        server = start_server()
        try:
            store = await open_store(server.database(), URL)
            out["postgresql"] = await cost(store, accounts)
            await store.close()
        finally:
            server.stop()
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    g = sub.add_parser("growth")
    g.add_argument("--accounts", type=int, default=1000)
    g.add_argument("--cycles", type=int, default=1000)
    g.add_argument("--real", type=int, default=1000, help="cycles run for real (the rest replay the last one's writes)")
    c = sub.add_parser("cost")
    c.add_argument("--accounts", type=int, default=10_000)
    c.add_argument("--postgres", action="store_true")
    args = parser.parse_args(argv)
    from orchestrator import log

    log.configure("warning", "console")  # the cycles' request logs would drown the figures
    with tempfile.TemporaryDirectory() as tmp:
        if args.what == "growth":
            result = asyncio.run(growth(args.accounts, args.cycles, args.real, Path(tmp)))
            print(result)
            print(f"{result['sizes'][-1][1] / 1e6:.1f} MB after {args.cycles} cycles (limit: 50 MB)")
        else:
            for backend, figures in asyncio.run(costs(args.accounts, args.postgres, Path(tmp))).items():
                print(f"## {backend}")
                for name, value in figures.items():
                    print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
