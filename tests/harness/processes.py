"""Real processes for the signal, crash and concurrency suites: an emulator served by its own
process, the command line's environment, the journal as the state database holds it, and
bounded waits for a run to reach a point (writes held at the server, operations journaled).
Every wait is bounded by ``WAIT``: a hang fails the test, it never blocks the suite."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from typer.testing import CliRunner

from orchestrator.apply.run import operations_of
from orchestrator.cli.app import app
from orchestrator.plan import Plan
from tests.harness.world import PLAYBOOKS

ROOT = Path(__file__).resolve().parents[2]
WAIT = 60.0  # seconds: the bound of every wait loop (a hang fails, it never blocks the suite)
#: What apply and reconcile print when a first signal comes while they write (orchestrator/apply/interrupts.py).
FIRST_SIGNAL_NOTICE = "stopping: in-flight calls finish"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(proc: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextmanager
def emulator_process(port: int, db: Path, keys: Path, log: Path) -> Iterator[subprocess.Popen]:
    cmd = [sys.executable, "-m", "orchestrator", "emulator", "serve", "--port", str(port), "--db", str(db),
           "--seed", "demo", "--keys-file", str(keys), "--frozen-clock"]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, cwd=db.parent, stdout=out, stderr=subprocess.STDOUT, env=child_env())
    try:
        deadline = time.monotonic() + WAIT
        while True:
            assert proc.poll() is None, f"the emulator exited: {log.read_text()[-2000:]}"
            assert time.monotonic() < deadline, "the emulator did not start"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        yield proc
    finally:
        stop_process(proc)


def child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHARINGTOOLS_")}
    env["PYTHONPATH"] = str(ROOT)
    return {**env, **extra}


def read_journal(state_db: Path) -> tuple[list[tuple], list[tuple]]:
    """(runs, operations) as the state database holds them right now (read-only, WAL-safe)."""
    if not state_db.exists():
        return [], []
    db = sqlite3.connect(f"file:{state_db}?mode=ro", uri=True, timeout=5)
    try:
        runs = db.execute("SELECT id, status, finished FROM runs ORDER BY id").fetchall()
        ops = db.execute("SELECT run_id, status FROM operations ORDER BY id").fetchall()
    except sqlite3.OperationalError:  # the schema is not written yet
        return [], []
    finally:
        db.close()
    return runs, ops


def start_apply(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "orchestrator", "apply", str(PLAYBOOKS), "--yes", *args]
    with log.open("ab") as out:
        return subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)


def operations_planned(env: dict[str, str]) -> int:
    """How many operations applying the example playbooks takes, from ``plan --format json``."""
    result = CliRunner().invoke(app, ["plan", str(PLAYBOOKS), "--format", "json"],
                                env={**env, "SHARINGTOOLS_RATE": "1000"})
    assert result.exit_code == 0, result.output
    return len(operations_of(Plan.from_json(json.loads(result.stdout)).changes))


def hold_writes(control: str) -> None:
    """From now on the emulator at ``control`` holds every write until it is released."""
    httpx.put(f"{control}/hold", json={}, timeout=10).raise_for_status()


def release_writes(control: str) -> None:
    """Hold nothing more; the held writes (applied already) send their answers, to no one if
    their client is dead. The world is settled when this returns."""
    httpx.delete(f"{control}/hold", timeout=10).raise_for_status()


def signal_mid_write(proc: subprocess.Popen, state_db: Path, control: str, at_least: int, sig: int,
                      log: Path) -> int:
    """Send ``sig`` once the journal holds ``at_least`` operations (all runs) and a write of
    ``proc`` is held; the count then. The writes are held (`hold_writes`): each time one is
    and the journal is short, they are let go and the run takes its next step."""
    deadline = time.monotonic() + WAIT
    while True:
        assert time.monotonic() < deadline, f"apply journaled only {len(read_journal(state_db)[1])} operations"
        if httpx.get(f"{control}/hold", timeout=10).json()["waiting"]:  # the run waits for the test
            journaled = len(read_journal(state_db)[1])
            if journaled >= at_least:
                proc.send_signal(sig)
                return journaled
            httpx.post(f"{control}/hold/release", timeout=10).raise_for_status()
        else:
            assert proc.poll() is None, (f"apply ended (exit {proc.returncode}) before {at_least} operations: "
                                         f"{log.read_text()[-2000:]}")
            time.sleep(0.01)  # poll interval of a bounded wait, not a synchronisation


def signal_when_journaled(proc: subprocess.Popen, state_db: Path, at_least: int, sig: int) -> int:
    """Send ``sig`` once the journal holds ``at_least`` operations (all runs); the count then."""
    deadline = time.monotonic() + WAIT
    while True:
        _, ops = read_journal(state_db)
        if len(ops) >= at_least:
            proc.send_signal(sig)
            return len(ops)
        assert proc.poll() is None, f"apply ended (exit {proc.returncode}) before {at_least} operations ({len(ops)})"
        assert time.monotonic() < deadline, f"apply journaled only {len(ops)} operations"
        time.sleep(0.01)
