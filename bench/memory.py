"""Peak memory of plan and apply at N accounts, without the rate limit, and where the bytes go.

An emulator with N scale accounts (``_world.world``) behind the proxy with no limit and no
latency: the emulator alone is the pace (over 6,000 GETs a second), so 100,000 accounts take
minutes, not the rate-limited half hour. Each run is the CLI in its own process on core 1;
its peak RSS is ``os.wait4``'s. ``--trace`` runs the same CLI under tracemalloc and prints
the allocation sites of the largest traced peak (a snapshot is taken whenever the traced
memory grows past its last high by 5%), to see what holds the bytes. ``--plan-out`` keeps the
plan's JSON (byte-identical plans before and after a change: ``bench/plan_identical.py``).

    python bench/memory.py --accounts 20000                 # plan and apply: seconds, CPU, peak RSS
    python bench/memory.py --accounts 20000 --trace plan    # where the plan's peak goes
    python bench/memory.py --accounts 100000 --source /tmp/before --json before.json  # another checkout
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _servers import ROOT, pinned, python  # noqa: E402
from _world import World, world  # noqa: E402

#: Run in the CLI's process with ``--trace``: tracemalloc from the start, a sampler thread that
#: snapshots each new high, and at exit the top allocation sites of the highest snapshot.
TRACER = r"""
import os, runpy, sys, threading, time, tracemalloc, atexit
tracemalloc.start(int(os.environ.get("BENCH_TRACE_FRAMES", "8")))
best = {"peak": 0, "snap": None}
def sample():
    while True:
        time.sleep(0.25)
        current, _ = tracemalloc.get_traced_memory()
        if current > best["peak"] * 1.05:
            best["peak"], best["snap"] = current, tracemalloc.take_snapshot()
threading.Thread(target=sample, daemon=True).start()
def report():
    snap = best["snap"]
    if snap is None:
        return
    out = open(os.environ["BENCH_TRACE_OUT"], "w")
    snap = snap.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    total = sum(s.size for s in snap.statistics("filename"))
    print(f"traced at the highest sample: {total / 2**20:.1f} MiB "
          f"(tracemalloc's own peak {tracemalloc.get_traced_memory()[1] / 2**20:.1f} MiB)", file=out)
    print("\n## by line (top 30)", file=out)
    for s in snap.statistics("lineno")[:30]:
        f = s.traceback[0]
        print(f"{s.size / 2**20:8.1f} MiB {s.count:9,} blocks  {f.filename}:{f.lineno}", file=out)
    print("\n## by traceback (top 12, innermost last)", file=out)
    for s in snap.statistics("traceback")[:12]:
        print(f"\n{s.size / 2**20:.1f} MiB in {s.count:,} blocks", file=out)
        for line in s.traceback.format()[-16:]:
            print("   " + line, file=out)
    out.close()
atexit.register(report)
sys.argv = ["orchestrator", *sys.argv[1:]]
runpy.run_module("orchestrator", run_name="__main__", alter_sys=True)
"""


#: Run in the CLI's process with ``--phases``: the RSS (and the process's high-water mark) as
#: the plan passes its steps, written to stderr.
PHASES = r"""
import re, runpy, sys, time
from pathlib import Path
T0 = time.perf_counter()
def rss(what):
    s = Path("/proc/self/status").read_text()
    now, hwm = (int(re.search(k + r":\s+(\d+)", s).group(1)) // 1024 for k in ("VmRSS", "VmHWM"))
    print(f"[phase] {time.perf_counter() - T0:6.1f} s  {what:<34} RSS {now:5} MB  high {hwm:5} MB", file=sys.stderr)
def around(module, name):
    import importlib
    mod = importlib.import_module(module)
    fn = getattr(mod, name)
    if hasattr(fn, "__code__") and fn.__code__.co_flags & 0x80:  # a coroutine function
        async def wrapped(*a, **k):
            rss(f"{name} begins")
            try:
                return await fn(*a, **k)
            finally:
                rss(f"{name} ends")
    else:
        def wrapped(*a, **k):
            rss(f"{name} begins")
            try:
                return fn(*a, **k)
            finally:
                rss(f"{name} ends")
    setattr(mod, name, wrapped)
for module, name in [("orchestrator.planning.planner", "read_accounts"),
                     ("orchestrator.planning.planner", "desired_state"), ("orchestrator.planning.planner", "classify"),
                     ("orchestrator.render", "write_json"),
                     ("orchestrator.apply.run", "operations_of"), ("orchestrator.apply.run", "_verify"),
                     ("orchestrator.apply.run", "_finish")]:
    around(module, name)
import atexit
atexit.register(rss, "exit")
sys.argv = ["orchestrator", *sys.argv[1:]]
runpy.run_module("orchestrator", run_name="__main__", alter_sys=True)
"""


def run(w: World, name: str, args: list[str], *, concurrency: int, timeout: float, source: Path | None,
        stdout: Path | None = None, trace: Path | None = None, phases: bool = False) -> dict:
    env = {**os.environ, "SHARINGTOOLS_BASE_URL": w.api, "SHARINGTOOLS_API_KEY": w.key,
           "SHARINGTOOLS_RATE": "100000", "SHARINGTOOLS_CONCURRENCY": str(concurrency),
           "SHARINGTOOLS_STATE_DB": str(w.tmp / "state.db")}
    if source is not None:
        env["PYTHONPATH"] = str(source)
    cmd = [python(), "-m", "orchestrator", *args]
    if trace is not None:
        env["BENCH_TRACE_OUT"] = str(trace)
        cmd = [python(), "-c", TRACER, *args]
    elif phases:
        cmd = [python(), "-c", PHASES, *args]
    w.reset_counters()
    started = time.perf_counter()
    errors = w.tmp / f"{name}.err"
    with errors.open("wb") as err, (stdout.open("wb") if stdout else open(os.devnull, "wb")) as out:
        proc = subprocess.Popen(pinned(cmd, 1), env=env, cwd=source or ROOT, stdout=out, stderr=err)
        deadline = started + timeout
        timeline: list[tuple[float, int]] = []  # (seconds, RSS MB) every 0.05 s
        while True:  # bounded: killed at the deadline
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            timeline.append((round(time.perf_counter() - started, 2), _rss_mb(proc.pid)))
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
    proc.returncode = code = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if code not in (0, 2):
        print(f"  [{name}] exit {code}: {errors.read_text(errors='replace').strip()[-800:]}", flush=True)
    if phases:
        print("\n".join(line for line in errors.read_text(errors="replace").splitlines() if line.startswith("[phase]")))
    requests, _, writes = w.counters()
    if os.environ.get("BENCH_TIMELINE"):
        print("  RSS MB by second: " + " ".join(f"{t:.0f}:{mb}" for t, mb in timeline[::20]), flush=True)
    row = {"run": name, "exit": code, "seconds": round(seconds, 1), "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
           "rss_mb": round(usage.ru_maxrss / 1024), "requests": requests, "writes": writes}
    print(f"  {name}: {row}", flush=True)
    return row


def _rss_mb(pid: int) -> int:
    """The resident set of ``pid`` now, in MB (0 once it is gone); ``taskset`` execs, so the pid is the CLI's."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"VmRSS:\s+(\d+) kB", status)
    return int(found.group(1)) // 1024 if found else 0


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--source", type=Path, default=None, help="run another checkout's orchestrator")
    parser.add_argument("--trace", choices=("plan", "apply"), action="append", default=[],
                        help="run this command under tracemalloc (slower) and print where its peak goes")
    parser.add_argument("--phases", action="store_true", help="print the RSS at each step of the runs")
    parser.add_argument("--plan-only", action="store_true")
    parser.add_argument("--plan-out", type=Path, default=None, help="keep the plan's JSON here")
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    rows: list[dict] = []
    kw = {"concurrency": args.concurrency, "timeout": args.timeout, "source": args.source, "phases": args.phases}
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp_name, \
            world(args.accounts, rate=0, latency_ms=0, jitter_ms=0, tmp=Path(tmp_name)) as w:
        pb = str(w.tmp / "scale.yaml")
        for command in ("plan", "apply"):
            if command == "apply" and args.plan_only:
                break
            cli = ["plan", pb, "--format", "json"] if command == "plan" else ["apply", pb, "--yes"]
            if command in args.trace:
                trace = w.tmp / f"{command}.trace"
                run(w, f"{command} (traced)", cli, trace=trace, **{**kw, "phases": False})
                # a traced apply has applied: the measured one must find the whole change again
                if command == "apply":
                    break
                print(trace.read_text() if trace.exists() else "  (no trace)")
            out = args.plan_out if command == "plan" else None
            rows.append({"n": args.accounts, **run(w, command, cli, stdout=out, **kw)})
        if "apply" in args.trace:
            trace = w.tmp / "apply.trace"
            print(trace.read_text() if trace.exists() else "  (no trace)")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
