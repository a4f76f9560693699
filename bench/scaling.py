"""Plan and apply from 100 to 100,000 accounts: time, requests, client CPU and peak RSS against N.

Each size gets a fresh world (emulator + ``rate_proxy.py``) and runs ``plan`` then ``apply``
(with verify), the client told the server's rate. Sizes at or above ``--no-latency-from`` (none
by default) run without the proxy's latency and rate limit (the emulator alone is then the
limit), for a quick look at a size that would not fit a time budget; the table and the plot say
which. Writes a JSON file of the figures and a PNG of four panels.

    python bench/scaling.py [--sizes 100,1000,10000,100000] [--rate 300] [--png docs/scaling.png]
    python bench/scaling.py --sizes 100000 --json big.json --png big.png  # the largest, on its own (~35 min)
    python bench/scaling.py --sizes 100,1000,10000 --with big.json               # then the rest: one table, one plot
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _servers import ROOT  # noqa: E402
from _world import minimal_apply_requests, minimal_plan_requests, startup_cpu, table, world  # noqa: E402


def measure(n: int, rate: float, *, limited: bool, concurrency: int, timeout: float, tmp: Path,
            apply: bool = True, startup: float = 0.0) -> list[dict]:
    net = {"latency_ms": 50.0, "jitter_ms": 10.0} if limited else {"latency_ms": 0.0, "jitter_ms": 0.0}
    server_rate = rate if limited else 0
    # unlimited: the client's ceiling is set far above what one emulator core serves
    client_rate = rate if limited else 100_000
    rows = []
    with world(n, rate=server_rate, tmp=tmp, **net) as w:
        pb = str(w.tmp / "scale.yaml")
        kw = {"rate": client_rate, "concurrency": concurrency, "timeout": timeout}
        plan = w.cli("plan", ["plan", pb, "--format", "json"], **kw)
        rows.append({"n": n, "limited": limited, **plan.row(minimal_plan_requests(n), rate, startup)})
        print(f"  N={n}: plan {plan.seconds:.1f} s, {plan.requests} requests, {plan.rss_mb:.0f} MB", flush=True)
        if apply:
            run = w.cli("apply", ["apply", pb, "--yes"], **kw)
            rows.append({"n": n, "limited": limited, **run.row(minimal_apply_requests(n, run.writes), rate, startup)})
            print(f"  N={n}: apply {run.seconds:.1f} s, {run.requests} requests, {run.rss_mb:.0f} MB", flush=True)
    return rows


def plot(rows: list[dict], rate: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    panels = [("seconds", "time (s)"), ("requests", "requests"),
              ("net_cpu_ms_per_request", "client CPU per request, net of start-up (ms)"),
              ("rss_mb", "client peak RSS (MB)")]
    for ax, (key, label) in zip(axes.flat, panels, strict=True):
        for run, marker in (("plan", "o"), ("apply", "s")):
            pts = [r for r in rows if r["run"] == run]
            ax.plot([r["n"] for r in pts], [r[key] for r in pts], marker=marker, label=run)
            open_pts = [r for r in pts if not r["limited"]]
            if open_pts:
                ax.scatter([r["n"] for r in open_pts], [r[key] for r in open_pts], s=120, facecolors="none",
                           edgecolors="red", zorder=3)
        if key == "seconds":
            for run, style in (("plan", ":"), ("apply", "--")):
                pts = [r for r in rows if r["run"] == run and r["limited"]]
                ax.plot([r["n"] for r in pts], [r["bound"] for r in pts], style, color="grey",
                        label=f"{run} lower bound (minimal / R)")
        ax.set_xscale("log")
        if key in ("seconds", "requests"):
            ax.set_yscale("log")
        ax.set_xlabel("accounts (N)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    circled = "; circled: no proxy, emulator alone" if any(not r["limited"] for r in rows) else ""
    fig.suptitle(f"plan and apply against N (R = {rate:g} req/s, 50 ± 10 ms{circled})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000,100000")
    parser.add_argument("--rate", type=float, default=300.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--no-latency-from", type=int, default=10**9)
    parser.add_argument("--plan-only-from", type=int, default=10**9, help="sizes from which apply is skipped")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--png", type=Path, default=ROOT / "docs" / "scaling.png")
    parser.add_argument("--with", dest="earlier", type=Path, action="append", default=[],
                        help="the --json of an earlier run whose sizes join this one's table and plot "
                             "(the largest size, run on its own)")
    args = parser.parse_args(argv)
    rows: list[dict] = []
    startup = startup_cpu()
    with tempfile.TemporaryDirectory(prefix="bench-scaling-") as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            rows += measure(n, args.rate, limited=n < args.no_latency_from, concurrency=args.concurrency,
                            timeout=args.timeout, tmp=Path(tmp) / str(n), apply=n < args.plan_only_from,
                            startup=startup)
            if args.json:  # after every size: a run cut short keeps what it measured
                args.json.write_text(json.dumps(rows, indent=1))
    for earlier in args.earlier:
        rows += json.loads(earlier.read_text())
    rows.sort(key=lambda r: (r["n"], r["run"] != "plan"))
    print(table([{**r, "run": f"{r['run']} N={r['n']:,}{'' if r['limited'] else ' (no proxy)'}"} for r in rows]))
    if args.png:
        plot(rows, args.rate, args.png)
        print(f"\nplot: {args.png}")
    return rows


if __name__ == "__main__":
    main()
