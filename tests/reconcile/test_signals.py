"""SIGTERM and Ctrl-C stop the loop cleanly: in-flight calls finish, the journal is written,
the process exits 143 or 130, mid-cycle or between cycles."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.harness import PLAYBOOKS, WAIT


def _runs(db: Path) -> list[tuple[int, str, str]]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        try:
            return conn.execute("SELECT id, command, status FROM runs ORDER BY id").fetchall()
        except sqlite3.OperationalError:
            return []


def _ops(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        try:
            return [r[0] for r in conn.execute("SELECT status FROM operations")]
        except sqlite3.OperationalError:
            return []


def _start(world: dict[str, str], db: Path, tmp_path: Path, rate: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SHARINGTOOLS_BASE_URL": world["url"], "SHARINGTOOLS_API_KEY": world["key"]}
    return subprocess.Popen([sys.executable, "-m", "orchestrator", "reconcile", str(PLAYBOOKS), "--every", "1h",
                             "--state-db", str(db), "--rate", rate], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _until(proc: subprocess.Popen[bytes], ready, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT
    while not ready():
        assert proc.poll() is None, f"the reconciler ended before {what}"
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.05)


def test_sigterm_mid_cycle_finishes_in_flight_calls_and_exits_143(served: dict[str, str], tmp_path: Path) -> None:
    world = served
    db = tmp_path / "state.db"
    proc = _start(world, db, tmp_path, rate="20")
    try:
        _until(proc, lambda: len(_ops(db)) >= 3, "journaled an operation")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=WAIT) == 143
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=WAIT)
    [(_, command, status)] = _runs(db)
    assert (command, status) == ("reconcile-fix", "interrupted")
    assert "pending" not in _ops(db)  # what was sent finished and was written down


def test_ctrl_c_between_cycles_exits_130_at_once(served: dict[str, str], tmp_path: Path) -> None:
    world = served
    db = tmp_path / "state.db"
    proc = _start(world, db, tmp_path, rate="2000")
    try:
        _until(proc, lambda: any(s != "running" for _, _, s in _runs(db)), "finished a cycle")
        proc.send_signal(signal.SIGINT)  # it now waits an hour for the next cycle
        assert proc.wait(timeout=WAIT) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=WAIT)
    assert [s for _, _, s in _runs(db)] == ["succeeded"]
