"""The run lock: one apply or reconcile cycle at a time per installation and state database;
the second says who holds it and exits 1; a SIGKILLed holder's lock is taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.harness import PLAYBOOKS, WAIT
from orchestrator.cli.app import app
from orchestrator.state.lock import LockHeld, RunLock, lock_path, read_holder



def test_a_second_holder_is_refused_with_the_first_ones_name(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with RunLock(db, "https://a.example/api/v1", "reconcile --mode fix"):
        with pytest.raises(LockHeld) as held:
            RunLock(db, "https://a.example/api/v1", "apply").acquire()
        assert f"reconcile --mode fix (pid {os.getpid()} on " in str(held.value)
        # another installation has its own lock beside the same database
        with RunLock(db, "https://b.example/api/v1", "apply"):
            pass
    with RunLock(db, "https://a.example/api/v1", "apply") as again:  # released: free again
        assert again.previous is None  # a clean release leaves no holder behind
    assert read_holder(lock_path(db, "https://a.example/api/v1")) is None


def test_a_sigkilled_holders_lock_is_taken_over(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    url = "https://a.example/api/v1"
    code = (
        "import sys, time; from orchestrator.state.lock import RunLock; "
        f"lock = RunLock({str(db)!r}, {url!r}, 'apply'); lock.acquire(); print('held', flush=True); time.sleep(600)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld) as held:
            RunLock(db, url, "apply").acquire()
        assert held.value.holder is not None and held.value.holder.pid == holder.pid
        holder.send_signal(signal.SIGKILL)
        assert holder.wait(timeout=WAIT) == -signal.SIGKILL
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=WAIT)
        if holder.stdout is not None:
            holder.stdout.close()
    lock = RunLock(db, url, "apply")
    lock.acquire()  # the kernel released the dead holder's flock: taken over at once
    try:
        assert lock.previous is not None and lock.previous.pid == holder.pid  # it knows whom it replaced
        assert read_holder(lock.path).pid == os.getpid()  # type: ignore[union-attr]
    finally:
        lock.release()


def test_two_reconcilers_started_together_one_runs_the_other_exits_1(served: dict[str, str], tmp_path: Path) -> None:
    world = served
    env = {**os.environ, "SHARINGTOOLS_BASE_URL": world["url"], "SHARINGTOOLS_API_KEY": world["key"],
           "SHARINGTOOLS_CONCURRENCY": "2"}
    db = tmp_path / "state.db"
    path = lock_path(db, world["url"])
    # The first one reads slowly (2 requests a second), so its cycle holds the lock for a while.
    first = subprocess.Popen([sys.executable, "-m", "orchestrator", "reconcile", str(PLAYBOOKS), "--mode", "report",
                              "--every", "1h", "--state-db", str(db), "--rate", "2"],
                             env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + WAIT
        while (holder := read_holder(path)) is None or holder.pid != first.pid:
            assert first.poll() is None and time.monotonic() < deadline, "the first reconciler never took the lock"
            time.sleep(0.05)
        runner = CliRunner()
        env_cli = {"SHARINGTOOLS_BASE_URL": world["url"], "SHARINGTOOLS_API_KEY": world["key"]}
        second = runner.invoke(app, ["reconcile", str(PLAYBOOKS), "--once", "--state-db", str(db)], env=env_cli)
        assert second.exit_code == 1, second.output
        assert f"reconcile --mode report (pid {first.pid} on " in second.stderr
        assert second.stderr.startswith("error: another run holds the lock on this installation and state database")
        apply = runner.invoke(app, ["apply", str(PLAYBOOKS), "--yes", "--state-db", str(db)], env=env_cli)
        assert apply.exit_code == 1 and f"pid {first.pid}" in apply.stderr, apply.output

        first.send_signal(signal.SIGKILL)  # killed mid-cycle, holding the lock
        assert first.wait(timeout=WAIT) == -signal.SIGKILL
        assert read_holder(path).pid == first.pid  # type: ignore[union-attr]  # its name is still in the file
        third = runner.invoke(app, ["--log-level", "warning", "reconcile", str(PLAYBOOKS), "--once", "--state-db",
                                    str(db)], env={**env_cli, "SHARINGTOOLS_RATE": "2000"})
        assert third.exit_code == 0, third.output
        assert "lock taken over from a process that died holding it" in third.stderr
        assert read_holder(path) is None  # released at the end of the cycle
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(timeout=WAIT)
