"""Crashes and Ctrl-C, with real processes.

SIGKILL: the emulator runs as its own process (uvicorn, a file database); ``orchestrator apply``
runs as a subprocess and is killed with SIGKILL at several points of its journal, the emulator
is restarted once in between (its world survives in the file); ``apply --resume`` then
converges, a plain plan is empty, and the journal shows each killed run as ``running`` with its
operations ``pending`` or ``done``.

SIGINT: in-flight calls finish, the journal is written (no operation left ``pending``), the run
is recorded ``interrupted``, the process exits 130, and ``--resume`` finishes the job.

Where the signal lands does not depend on the machine's speed: the emulator holds every write
of the run (``/_emulator/hold``) and the test lets them go a step at a time until the journal
shows the operations it wants; the signal is sent while a write is held, applied but not
answered, so the run is mid-write and cannot have finished behind the test's back.

Every process is stopped in ``finally``; every wait is bounded.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter

import httpx
import pytest
from typer.testing import CliRunner

from orchestrator.cli.app import app
from tests.harness.stores import SyncStore
from tests.harness import PLAYBOOKS, Served
from tests.harness.processes import (
    WAIT,
    free_port,
    stop_process,
    emulator_process,
    child_env,
    read_journal,
    start_apply,
    operations_planned,
    hold_writes,
    release_writes,
    signal_mid_write,
)

pytestmark = pytest.mark.uvicorn
def test_sigkill_at_several_points_then_resume_converges(tmp_path):
    port, db, keys, state_db = free_port(), tmp_path / "world.db", tmp_path / "keys.json", tmp_path / "state.db"
    log = tmp_path / "processes.log"
    control = f"http://127.0.0.1:{port}/_emulator"
    apply_proc = None
    killed: list[tuple[int, int]] = []  # (run id, operations journaled when killed)

    def kill_at(args: list[str], at_least: int, env: dict[str, str]) -> None:
        """Run apply, SIGKILL it mid-write once the journal holds ``at_least`` operations."""
        nonlocal apply_proc
        hold_writes(control)
        apply_proc = start_apply([*args, "--state-db", str(state_db)], env, tmp_path, log)
        signal_mid_write(apply_proc, state_db, control, at_least, signal.SIGKILL, log)
        assert apply_proc.wait(timeout=WAIT) == -signal.SIGKILL
        release_writes(control)
        killed.append((read_journal(state_db)[0][-1][0], len(read_journal(state_db)[1])))

    try:
        emulator = emulator_process(port, db, keys, log)
        with emulator:
            key = json.loads(keys.read_text())["alice"]
            env = child_env(SHARINGTOOLS_BASE_URL=f"http://127.0.0.1:{port}/api/v1", SHARINGTOOLS_API_KEY=key)
            fast = {**env, "SHARINGTOOLS_RATE": "1000"}
            total = operations_planned(env)
            # early (the first pauses), in the edits, and near the end (activations, verify)
            points = (1, min(40, total // 4), min(150, total - 10))
            assert points[0] < points[1] < points[2], (total, points)
            kill_at([], points[0], fast)
        # the emulator process is gone too; a new one serves the same file
        with emulator_process(port, db, keys, log):
            for at_least in points[1:]:
                kill_at(["--resume"], at_least, fast)

            # What the journal shows: each killed run still `running`, never finished, its
            # operations pending (sent or about to be, outcome unknown: at least the held write's)
            # or done; or, once a later run read them back, done (they took effect) or resolved
            # (a repeat is harmless, or they did not take effect).
            runs, ops = read_journal(state_db)
            assert [r[0] for r in runs] == [k[0] for k in killed]
            by_run = {run_id: Counter(status for r, status in ops if r == run_id) for run_id, _ in killed}
            for run_id, status, finished in runs:
                assert status == "running" and finished is None
                assert by_run[run_id] and set(by_run[run_id]) <= {"pending", "done", "resolved"}, by_run
            assert by_run[killed[-1][0]]["pending"] >= 1, by_run

            runner = CliRunner()
            # Every write the killed runs sent was let go (the emulator applied it) before this:
            # a create the read-back does not find was journaled and never sent, so the resume
            # need not wait for it to land (the settle time; see tests/reliability/test_in_doubt.py).
            result = runner.invoke(app, ["apply", str(PLAYBOOKS), "--resume", "--yes", "--state-db", str(state_db)],
                                   env={**fast, "SHARINGTOOLS_SETTLE_TIME": "0"})
            assert result.exit_code == 0, result.output
            assert "applied and verified" in result.stdout
            plan = runner.invoke(app, ["plan", str(PLAYBOOKS), "--detailed-exitcode"], env=fast)
            assert plan.exit_code == 0, plan.output
            assert "No changes." in plan.stdout

            # nothing was made twice by the runs that were killed after sending a create
            headers = {"Authorization": f"Bearer {key}"}
            captions = httpx.get(f"http://127.0.0.1:{port}/_emulator/state/captions", params={"user_id": 1}).json()
            assert max(Counter(c["title"] for c in captions["items"]).values()) == 1
            comments = httpx.get(f"http://127.0.0.1:{port}/_emulator/state/first_comment_schedules").json()["items"]
            keyed = Counter((s["account_id"], frozenset(t["username"] for t in s["targets"])) for s in comments)
            assert max(keyed.values()) == 1
            assert httpx.get(f"http://127.0.0.1:{port}/api/v1/accounts", headers=headers).status_code == 200

        history = SyncStore(state_db, f"http://127.0.0.1:{port}/api/v1")
        try:
            final = history.runs(1)[0]
            assert final.status == "succeeded"
            assert [r.status for r in history.runs()][1:] == ["running"] * len(killed)
            # the resume finished only what was still needed
            assert set(final.accounts) <= set(history.runs()[-1].accounts)
        finally:
            history.close()
    finally:
        stop_process(apply_proc, signal.SIGKILL)


def test_ctrl_c_finishes_in_flight_calls_records_the_run_and_resume_finishes(served: Served, tmp_path):
    state_db = tmp_path / "state.db"
    log = tmp_path / "apply.log"
    control = f"{served.server.url}/_emulator"
    env = child_env(**served.env())
    proc = None
    try:
        hold_writes(control)
        proc = start_apply(["--state-db", str(state_db)], env, tmp_path, log)
        journaled = signal_mid_write(proc, state_db, control, 30, signal.SIGINT, log)
        # The held writes are the calls in flight: they are let go until the process exits (one
        # sent before the signal was read is let go too; no new one starts after it).
        deadline = time.monotonic() + WAIT
        while proc.poll() is None:
            assert time.monotonic() < deadline, f"apply still running after Ctrl-C: {log.read_text()[-2000:]}"
            httpx.post(f"{control}/hold/release", timeout=10).raise_for_status()
            time.sleep(0.01)  # poll interval of a bounded wait
        assert proc.returncode == 130, log.read_text()[-3000:]
    finally:
        stop_process(proc, signal.SIGKILL)
        release_writes(control)
    output = log.read_text()
    assert "interrupted: in-flight calls finished, the journal is written; run apply --resume" in output

    history = SyncStore(state_db, served.api)
    try:
        (run,) = history.runs()
        assert run.status == "interrupted" and run.finished is not None
        ops = history.operations(run.id)
        assert len(ops) >= journaled
        assert {op["status"] for op in ops} <= {"done", "failed"}  # nothing left pending
        assert run.report is not None and run.report["exit_code"] == 130
    finally:
        history.close()

    runner = CliRunner()
    result = runner.invoke(app, ["apply", str(PLAYBOOKS), "--resume", "--yes", "--state-db", str(state_db)], env=env)
    assert result.exit_code == 0, result.output
    assert "applied and verified" in result.stdout
    plan = runner.invoke(app, ["plan", str(PLAYBOOKS), "--detailed-exitcode"], env=env)
    assert plan.exit_code == 0, plan.output
    history = SyncStore(state_db, served.api)
    try:
        assert [r.status for r in history.runs()] == ["succeeded", "interrupted"]
    finally:
        history.close()
