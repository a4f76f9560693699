"""Two applies at once on one state database must not overlap: one runs, the other exits 1
saying who holds the lock (orchestrator/lock.py), and nothing is made twice on the server."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.harness import PLAYBOOKS, Served
from tests.harness.processes import child_env

pytestmark = pytest.mark.uvicorn


def test_two_applies_at_once_do_not_overlap(served: Served, tmp_path: Path):
    state_db = tmp_path / "state.db"
    env = child_env(**served.env(SHARINGTOOLS_RATE="200"))
    cmd = [sys.executable, "-m", "orchestrator", "apply", str(PLAYBOOKS), "--yes", "--state-db", str(state_db)]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    results = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            results.append((proc.returncode, out, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 1], results
    loser = next(err for code, _, err in results if code == 1)
    assert "lock" in loser.lower() and "Traceback" not in loser
    comments = httpx.get(f"{served.server.url}/_emulator/state/first_comment_schedules").json()["items"]
    captions = httpx.get(f"{served.server.url}/_emulator/state/captions").json()["items"]
    assert not [t for t, n in Counter(c["title"] for c in captions).items() if n > 1]
    keyed = Counter((s["account_id"], frozenset(t["username"] for t in s["targets"])) for s in comments)
    assert not [k for k, n in keyed.items() if n > 1]
