"""A benchmark world: an emulator with N scale accounts behind the rate-limiting proxy, and a
way to run the orchestrator's CLI against it measuring time, requests, CPU and peak RSS.

The emulator and the proxy share core 0; the client runs alone on core 1 (``taskset``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from _servers import ROOT, free_port, pinned, process, python

PLAYBOOK = """
version: 1
groups:
  scale:
    usernames: "*_s*"
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


def minimal_plan_requests(n: int) -> int:
    """The reads a plan of ``PLAYBOOK`` cannot do without: three lists (accounts, Reactions
    Pro and Repost Pro schedules) at 100 a page, and each account's Reactions Pro settings."""
    return 3 * math.ceil(n / 100) + n


def minimal_apply_requests(n: int, writes: int) -> int:
    """An apply's plan reads, its writes (one per change after bulk coalescing, as counted by
    the server) and its verify reads: the plan's again, less the account list it already has."""
    return 2 * minimal_plan_requests(n) - math.ceil(n / 100) + writes


#: What ``orchestrator plan`` and ``apply`` import before their first request: the command line,
#: the playbook, the client, the planner and its kinds, the renderers and the state store.
#: (``plan --help`` measured this until the command line imported each command's modules only
#: when it runs: it no longer imports the client, the planner or the kinds; see "Start-up".)
RUN_IMPORTS = ("orchestrator.cli.app", "orchestrator.playbook", "orchestrator.api.client", "orchestrator.api.settings",
               "orchestrator.kinds", "orchestrator.planning.planner", "orchestrator.apply.run", "orchestrator.render",
               "orchestrator.render.pr_comment", "orchestrator.state.db")


def startup_cpu(source: Path | None = None) -> float:
    """CPU seconds of the interpreter's start and the imports every plan or apply pays once,
    whatever its size (`RUN_IMPORTS`)."""
    env = {**os.environ, **({"PYTHONPATH": str(source)} if source else {})}
    best = math.inf
    for _ in range(3):
        proc = subprocess.Popen(pinned([python(), "-c", "import " + ", ".join(RUN_IMPORTS)], 1), env=env,
                                cwd=source or ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:  # a checkout without one of these modules: its figure would mean nothing
            raise RuntimeError(f"the start-up imports failed in {source or ROOT} (exit {proc.returncode})")
        best = min(best, usage.ru_utime + usage.ru_stime)
    return best


@dataclass
class Run:
    """One measured CLI run."""

    name: str
    exit_code: int
    seconds: float
    cpu: float  # user + system seconds of the client process
    rss_mb: float  # its peak resident set
    requests: int  # as counted by the proxy (what crossed the network)
    throttled: int  # of those, answered 429
    writes: int  # requests the emulator served that were not GETs

    def row(self, minimal: int, rate: float, startup: float = 0.0) -> dict[str, Any]:
        bound = minimal / rate
        return {
            "run": self.name, "requests": self.requests, "minimal": minimal, "seconds": round(self.seconds, 2),
            "bound": round(bound, 2), "ratio": round(self.seconds / bound, 2), "throttled": self.throttled,
            "throttled_pct": round(100 * self.throttled / max(1, self.requests), 2),
            "cpu_s": round(self.cpu, 2), "cpu_ms_per_request": round(1000 * self.cpu / max(1, self.requests), 3),
            "net_cpu_ms_per_request": round(1000 * max(0.0, self.cpu - startup) / max(1, self.requests), 3),
            "rss_mb": round(self.rss_mb, 1), "writes": self.writes, "exit": self.exit_code,
        }


class World:
    def __init__(self, tmp: Path, base: str, proxy: str, key: str) -> None:
        self.tmp, self.base, self.proxy, self.key = tmp, base, proxy, key

    @property
    def api(self) -> str:
        """The API as clients see it: through the proxy."""
        return f"{self.proxy}/api/v1"

    def reset_counters(self) -> None:
        httpx.post(f"{self.base}/_emulator/requests/reset")
        httpx.post(f"{self.proxy}/_proxy/reset")

    def counters(self) -> tuple[int, int, int]:
        """(requests seen by the proxy, of which 429, writes served by the emulator)."""
        proxied = httpx.get(f"{self.proxy}/_proxy/stats").json()
        served = httpx.get(f"{self.base}/_emulator/requests").json()
        writes = sum(r["count"] for r in served["requests"] if r["method"] != "GET")
        return proxied.get("total", 0), proxied.get("429", 0), writes

    def cli(self, name: str, args: list[str], *, rate: float, concurrency: int, timeout: float,
            source: Path | None = None) -> Run:
        """Run ``python -m orchestrator ARGS`` on core 1 and measure it (``os.wait4`` gives
        the rusage of exactly that child)."""
        env = {**os.environ, "SHARINGTOOLS_BASE_URL": self.api, "SHARINGTOOLS_API_KEY": self.key,
               "SHARINGTOOLS_RATE": str(rate), "SHARINGTOOLS_CONCURRENCY": str(concurrency),
               "SHARINGTOOLS_STATE_DB": str(self.tmp / "state.db")}
        if source is not None:  # measure another checkout's code (the "before" figures)
            env["PYTHONPATH"] = str(source)
        self.reset_counters()
        started = time.perf_counter()
        errors = self.tmp / f"{name.replace(' ', '_')}.err"
        with errors.open("wb") as err_file:  # a file, not a pipe: a chatty child never blocks on it
            proc = subprocess.Popen(pinned([python(), "-m", "orchestrator", *args], 1), env=env,
                                    cwd=source or ROOT, stdout=subprocess.DEVNULL, stderr=err_file)
        deadline = started + timeout
        while True:  # bounded: killed at the deadline
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in (0, 2):
            print(f"  [{name}] exit {proc.returncode}: {errors.read_text(errors='replace').strip()[-800:]}", flush=True)
        total, throttled, writes = self.counters()
        return Run(name, proc.returncode, seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024,
                   total, throttled, writes)


@contextlib.contextmanager
def world(n: int, *, rate: float, latency_ms: float = 50, jitter_ms: float = 10, tmp: Path) -> Iterator[World]:
    """Start an emulator seeded with ``n`` scale accounts (file database, unlimited) and the
    proxy in front of it admitting ``rate`` requests per second (0: no limit); stop both after."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "scale.yaml").write_text(PLAYBOOK)
    emu_port, proxy_port = free_port(), free_port()
    base, proxy = f"http://127.0.0.1:{emu_port}", f"http://127.0.0.1:{proxy_port}"
    db = tmp / "emu.db"
    db.unlink(missing_ok=True)
    serve = [python(), "-m", "orchestrator", "emulator", "serve", "--port", str(emu_port), "--db", str(db),
             "--seed", f"accounts={n}", "--keys-file", str(tmp / "keys.json"), "--frozen-clock"]
    relay = [python(), str(ROOT / "bench" / "rate_proxy.py"), "--upstream", base, "--port", str(proxy_port),
             "--rate", str(rate), "--latency-ms", str(latency_ms), "--jitter-ms", str(jitter_ms)]
    with process(pinned(serve, 0), ready_url=f"{base}/_emulator/health", timeout=60 + n / 200), \
            process(pinned(relay, 0), ready_url=f"{proxy}/_proxy/stats", timeout=30):
        key = json.loads((tmp / "keys.json").read_text())["alice"]
        (tmp / "state.db").unlink(missing_ok=True)
        yield World(tmp, base, proxy, key)


def table(rows: list[dict[str, Any]]) -> str:
    """A markdown table of ``Run.row`` dicts."""
    out = ["| run | requests (minimal) | 429s | seconds | lower bound | ratio "
           "| client CPU ms/request (net of start-up) | peak RSS MB |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['run']} | {r['requests']:,} ({r['minimal']:,}) | {r['throttled']} ({r['throttled_pct']}%) | "
                   f"{r['seconds']:.1f} | {r['bound']:.1f} | {r['ratio']:.2f} | {r['cpu_ms_per_request']:.2f} "
                   f"({r.get('net_cpu_ms_per_request', r['cpu_ms_per_request']):.2f}) | "
                   f"{r['rss_mb']:.0f} |")
    return "\n".join(out)
