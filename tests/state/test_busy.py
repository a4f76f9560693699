"""A SQLite state database locked by another process: apply waits it out (bounded) and
succeeds, or ends with one clear line; a reconcile cycle fails and the loop goes on. The lock
is held by a real second process (``BEGIN IMMEDIATE``), released when the test says so."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestrator.reconcile.loop import EXIT_ERROR, EXIT_OK, CycleReport
from tests.harness import Served, client_for, serve_demo
from tests.harness.stores import sqlite_store
from tests.harness.reconcile import reconciler, write_book

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"
WAIT = 120.0  # seconds: the bound of every wait on a process, never a timing assertion
HOLDER = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
db.execute("PRAGMA journal_mode=WAL")
db.execute("BEGIN IMMEDIATE")  # the write lock, until told to let go
print("held", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
"""


@contextmanager
def write_lock(db: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding ``db``'s write lock until a line is written to its stdin."""
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        yield holder
    finally:
        release(holder)
        for pipe in (holder.stdin, holder.stdout):
            if pipe is not None:
                pipe.close()


def release(holder: subprocess.Popen[str]) -> None:
    if holder.poll() is None and holder.stdin is not None and not holder.stdin.closed:
        assert holder.stdin is not None
        holder.stdin.write("go\n")
        holder.stdin.flush()
        holder.wait(timeout=WAIT)


def _env(served: Served, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHARINGTOOLS_")}
    return {**env, "PYTHONPATH": str(ROOT), **served.env(), **extra}


def test_apply_waits_out_a_lock_held_by_another_process_and_succeeds(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    sqlite_store(db).close_sync()  # type: ignore[attr-defined]  # the file exists, migrated
    log = tmp_path / "apply.log"
    with serve_demo() as served, write_lock(db) as holder:
        with log.open("wb") as out:
            apply = subprocess.Popen([sys.executable, "-m", "orchestrator", "--log-format", "json", "apply",
                                      str(PLAYBOOKS), "--yes", "--state-db", str(db)], cwd=tmp_path,
                                     env=_env(served), stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + WAIT
            while "state database busy" not in log.read_text():  # it is waiting on the lock
                assert apply.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline, "apply never reported the busy database"
                time.sleep(0.05)  # poll interval of a bounded wait
            release(holder)
            assert apply.wait(timeout=WAIT) == 0, log.read_text()[-3000:]
        finally:
            if apply.poll() is None:
                apply.kill()
                apply.wait(timeout=WAIT)
    assert "applied and verified" in log.read_text()


def test_a_lock_held_past_the_bound_is_one_clear_line(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    sqlite_store(db).close_sync()  # type: ignore[attr-defined]
    with serve_demo() as served, write_lock(db):
        result = subprocess.run([sys.executable, "-m", "orchestrator", "apply", str(PLAYBOOKS), "--yes",
                                 "--state-db", str(db)], cwd=tmp_path, capture_output=True, text=True, timeout=WAIT,
                                env=_env(served, SHARINGTOOLS_STATE_BUSY_TIMEOUT="1"))
        assert served.writes() == []  # nothing was sent: the check comes before any request
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert lines == [f"error: the state database {db} was locked by another process for more than 1 s: what was "
                     "journaled is kept; find what holds it (a backup, an open sqlite3 shell), or raise "
                     "SHARINGTOOLS_STATE_BUSY_TIMEOUT"], result.stderr
    assert "Traceback" not in result.stderr


async def test_a_reconcile_cycle_fails_on_a_locked_database_and_the_loop_goes_on(emu, tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    book = write_book(tmp_path)
    reports: list[CycleReport] = []
    async with client_for(emu) as client:
        loop = reconciler(emu, client, book, tmp_path, lock=False, mode="report")
        loop.history.busy_timeout = 0.5  # type: ignore[attr-defined]
        with write_lock(db) as holder:

            async def between(report: CycleReport) -> None:
                reports.append(report)
                release(holder)  # the lock goes after the first cycle

            async def no_wait(seconds: float) -> None:
                return None

            code = await loop.run(max_cycles=2, on_cycle=between, sleep=no_wait, signals=False)
        await loop.history.close()
    first, second = reports
    assert first.exit_code == EXIT_ERROR
    assert first.message.startswith(f"this cycle failed: the state database {db} was locked by another process")
    assert first.message.endswith("the next one runs as planned")
    assert second.exit_code in (EXIT_OK, 2) and second.run_id is not None and code == second.exit_code
