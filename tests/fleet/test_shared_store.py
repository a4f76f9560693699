"""One PostgreSQL state store for the team and the fleet, with real processes: the run lock
spans them (a second apply exits 1 naming the holder, 0 duplicates on the server; a SIGKILLed
holder's lock is taken at once, and the next run says whose it was), and four shards behave
as one fleet (fleet-wide ``max_activations``, one history)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import psycopg

from tests.harness.postgres import PASSWORD
from tests.harness import Served

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"
WAIT = 120.0  # seconds: the bound of every wait on a process, never a timing assertion

HOLDER = """
import anyio, sys
from orchestrator.state.db import open_store

async def main() -> None:
    store = await open_store(sys.argv[1], sys.argv[2])
    async with store.lock("apply"):
        print("held", flush=True)
        await anyio.sleep(600)

anyio.run(main)
"""


def _env(served: Served, pg: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SHARINGTOOLS_", "PG"))}
    return {**env, "PYTHONPATH": str(ROOT), "SHARINGTOOLS_BASE_URL": f"{served.server.url}/api/v1",
            "SHARINGTOOLS_API_KEY": served.keys["alice"], "SHARINGTOOLS_RATE": "2000",
            "SHARINGTOOLS_STATE_DB": pg, **extra}


def _orchestrator(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestrator", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=WAIT)


def _lock_rows(pg: str) -> list[tuple[int, str]]:
    with psycopg.connect(pg) as conn:
        return [(int(r[0]), r[1]) for r in conn.execute("SELECT pid, command FROM run_locks").fetchall()]


def _wait_for_holder(pg: str, pid: int, proc: subprocess.Popen[bytes] | subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + WAIT
    while True:
        try:
            if any(p == pid for p, _ in _lock_rows(pg)):
                return
        except psycopg.errors.UndefinedTable:  # not migrated yet
            pass
        assert proc.poll() is None, "the first run ended before it was seen holding the lock"
        assert time.monotonic() < deadline, "the first run never took the lock"
        time.sleep(0.05)  # poll interval of a bounded wait


def test_two_applies_from_two_directories_one_runs_the_other_exits_1(fresh: Served, pg_url: str,
                                                                   tmp_path: Path) -> None:
    control = f"{fresh.server.url}/_emulator"
    env = _env(fresh, pg_url)
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    httpx.put(f"{control}/hold", json={}, timeout=10).raise_for_status()  # the first run's writes wait
    log = tmp_path / "first.log"
    with log.open("wb") as out:
        first = subprocess.Popen([sys.executable, "-m", "orchestrator", "apply", str(PLAYBOOKS), "--yes"], cwd=one,
                                 env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_holder(pg_url, first.pid, first)
        second = _orchestrator(["apply", str(PLAYBOOKS), "--yes"], env, two)
        assert second.returncode == 1, second.stderr
        assert second.stderr.startswith("error: another run holds the lock on this installation and state database: "
                                        f"apply (pid {first.pid} on "), second.stderr
        assert PASSWORD not in second.stderr + second.stdout
        assert "postgresql://orchestrator:***@127.0.0.1" in second.stderr  # where, with the password masked
        httpx.delete(f"{control}/hold", timeout=10).raise_for_status()
        assert first.wait(timeout=WAIT) == 0, log.read_text()[-3000:]
    finally:
        httpx.delete(f"{control}/hold", timeout=10)
        if first.poll() is None:
            first.kill()
            first.wait(timeout=WAIT)
    comments = httpx.get(f"{control}/state/first_comment_schedules", timeout=10).json()["items"]
    keyed = Counter((s["account_id"], frozenset(t["username"] for t in s["targets"])) for s in comments)
    assert comments and max(keyed.values()) == 1  # 0 duplicates
    history = _orchestrator(["history"], env, two)
    assert history.returncode == 0 and history.stdout.count(" apply succeeded ") == 1, history.stdout
    assert PASSWORD not in log.read_text() + history.stdout + history.stderr


def test_a_sigkilled_holders_lock_is_taken_at_once_and_named(fresh: Served, pg_url: str, tmp_path: Path) -> None:
    env = _env(fresh, pg_url)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, pg_url, f"{fresh.server.url}/api/v1"], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        refused = _orchestrator(["apply", str(PLAYBOOKS), "--yes"], env, tmp_path)
        assert refused.returncode == 1 and f"apply (pid {holder.pid} on " in refused.stderr, refused.stderr
        holder.send_signal(signal.SIGKILL)
        assert holder.wait(timeout=WAIT) == -signal.SIGKILL
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=WAIT)
        if holder.stdout is not None:
            holder.stdout.close()
    # Its session ended with it: the lock is free at once, and the next run says whose it took over.
    taken = _orchestrator(["apply", str(PLAYBOOKS), "--yes"], env, tmp_path)
    assert taken.returncode == 0, taken.stderr
    assert f"note: lock taken over from apply (pid {holder.pid} on " in taken.stderr
    assert "which died holding it" in taken.stderr
    assert _lock_rows(pg_url) == []  # released at the end of the run


FLEET_BOOK = """\
version: 1
groups:
  everyone: {all: true}
entries:
  - groups: everyone
    reactions:
      state: active
policy:
  max_activations: 10
"""


def test_four_shards_share_one_history_and_a_fleet_wide_max_activations(fresh: Served, pg_url: str,
                                                                        tmp_path: Path) -> None:
    book = tmp_path / "fleet.yaml"
    book.write_text(FLEET_BOOK)
    control = f"{fresh.server.url}/_emulator"
    before = {s["account_id"] for s in httpx.get(f"{control}/state/reactions_schedules", timeout=10).json()["items"]
              if s.get("is_active")}
    env = _env(fresh, pg_url, SHARINGTOOLS_FLEET_RUN="round-1")
    procs = [subprocess.Popen([sys.executable, "-m", "orchestrator", "apply", str(book), "--yes", "--shard",
                               f"{k}/4"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True) for k in range(4)]
    outputs = []
    try:
        for proc in procs:
            out, _ = proc.communicate(timeout=WAIT)
            outputs.append((proc.returncode, out))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=WAIT)
    after = {s["account_id"] for s in httpx.get(f"{control}/state/reactions_schedules", timeout=10).json()["items"]
             if s.get("is_active")}
    activated = after - before
    codes = sorted(code for code, _ in outputs)
    assert 0 < len(activated) <= 10, (len(activated), outputs)
    assert 3 in codes and set(codes) <= {0, 3}, outputs  # a shard over the fleet's allowance is held
    held = [out for code, out in outputs if code == 3]
    assert all("max_activations (fleet-wide): the other shards of this round already used" in out for out in held)
    history = _orchestrator(["history", "--limit", "20"], env, tmp_path)
    lines = history.stdout.splitlines()
    assert {f"[shard {k}/4]" for k in range(4)} <= {part for line in lines for part in
                                                   [line[line.find("[shard"):line.find("]") + 1]]}, history.stdout
