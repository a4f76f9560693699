"""SIGKILL at random points of an apply, then SIGKILL of its resume, then a resume that
finishes: the fleet converges and nothing is made twice. The points are drawn from a seeded
random generator (printed on failure), so a failing draw repeats; each kill lands while a write
is held at the server (``signal_mid_write``), whatever the machine's speed.

Builds on tests/apply/test_interrupt.py (fixed points, the emulator restarted in between).
"""

from __future__ import annotations

import json
import os
import random
import signal
from collections import Counter

import httpx
import pytest
from typer.testing import CliRunner

from orchestrator.cli.app import app
from tests.harness import PLAYBOOKS
from tests.harness.processes import (
    WAIT,
    start_apply,
    emulator_process,
    child_env,
    free_port,
    hold_writes,
    read_journal,
    operations_planned,
    release_writes,
    signal_mid_write,
    stop_process,
)

pytestmark = pytest.mark.uvicorn
SEED = int(os.environ.get("RELIABILITY_SEED", "20261201"))


def test_sigkill_at_random_points_and_of_the_resume_then_resume_converges(tmp_path):
    rng = random.Random(SEED)
    port, db, keys, state_db = free_port(), tmp_path / "world.db", tmp_path / "keys.json", tmp_path / "state.db"
    log = tmp_path / "processes.log"
    proc = None
    try:
        with emulator_process(port, db, keys, log):
            key = json.loads(keys.read_text())["alice"]
            env = child_env(SHARINGTOOLS_BASE_URL=f"http://127.0.0.1:{port}/api/v1", SHARINGTOOLS_API_KEY=key)
            fast = {**env, "SHARINGTOOLS_RATE": "1000"}
            control = f"http://127.0.0.1:{port}/_emulator"
            total = operations_planned(env)
            first = rng.randint(1, total // 3)
            second = rng.randint(first + 1, first + total // 3)
            for args, at in ((["--state-db", str(state_db)], first),
                             (["--resume", "--state-db", str(state_db)], second)):  # the second kill hits a resume
                hold_writes(control)
                proc = start_apply(args, fast, tmp_path, log)
                signal_mid_write(proc, state_db, control, at, signal.SIGKILL, log)
                assert proc.wait(timeout=WAIT) == -signal.SIGKILL, f"seed {SEED}"
                release_writes(control)
            runs, _ = read_journal(state_db)
            assert [status for _, status, _ in runs] == ["running", "running"], (SEED, runs)

            runner = CliRunner()
            # Every write the killed runs sent was let go (the emulator applied it) before this:
            # a create its read-back does not find was journaled and never sent, so the resume
            # need not wait for it to land (the settle time; see tests/reliability/test_in_doubt.py).
            result = runner.invoke(app, ["apply", str(PLAYBOOKS), "--resume", "--yes", "--state-db", str(state_db)],
                                   env={**fast, "SHARINGTOOLS_SETTLE_TIME": "0"})
            assert result.exit_code == 0, (SEED, result.output)
            plan = runner.invoke(app, ["plan", str(PLAYBOOKS), "--detailed-exitcode"], env=fast)
            assert plan.exit_code == 0, (SEED, plan.output)

            base = f"http://127.0.0.1:{port}/_emulator/state"
            captions = httpx.get(f"{base}/captions", params={"user_id": 1}).json()["items"]
            assert max(Counter(c["title"] for c in captions).values()) == 1, SEED
            comments = httpx.get(f"{base}/first_comment_schedules").json()["items"]
            keyed = Counter((s["account_id"], frozenset(t["username"] for t in s["targets"])) for s in comments)
            assert max(keyed.values()) == 1, SEED
    finally:
        stop_process(proc, signal.SIGKILL)
