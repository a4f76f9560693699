"""A plan piped into a reader that stops early (``plan --format json | head``) ends in one clear
line, not a traceback nor a second raw message at exit, and nothing is written to the server.
The plan is written as it is encoded (``orchestrator.render.write_json``), so the pipe closes
while the command is still writing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from orchestrator.emulator.app import create_app
from orchestrator.emulator.server import BackgroundServer, build_state
from tests.harness.hostile import PROCESS_TIMEOUT, ROOT

pytestmark = pytest.mark.uvicorn

PLAYBOOK = """\
version: 1
groups:
  scale:
    usernames: "*_s*"
entries:
  - groups: scale
    reactions:
      settings:
        likes_speed: 4
"""


def test_a_reader_that_stops_early_gets_one_error_line(tmp_path):
    state, keys = build_state(seed="accounts=400")
    (tmp_path / "scale.yaml").write_text(PLAYBOOK)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHARINGTOOLS_")}
    with BackgroundServer(create_app(state)) as server:
        env |= {"PYTHONPATH": str(ROOT), "SHARINGTOOLS_BASE_URL": f"{server.url}/api/v1",
                "SHARINGTOOLS_API_KEY": keys["alice"], "SHARINGTOOLS_RATE": "2000"}
        proc = subprocess.Popen([sys.executable, "-m", "orchestrator", "plan", str(tmp_path / "scale.yaml"),
                                 "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                cwd=tmp_path)
        assert proc.stdout is not None and proc.stderr is not None
        head = proc.stdout.read(64)  # the JSON starts: then the reader goes away
        proc.stdout.close()
        with proc.stderr:
            errors = proc.stderr.read().decode()
        code = proc.wait(timeout=PROCESS_TIMEOUT)
    assert head.startswith(b"{")
    lines = [line for line in errors.splitlines() if line.strip()]
    assert lines == ["error: the output was closed before all of it was written "
                     "(the reader of a pipe stopped early)"], errors
    assert code == 1
    assert not [key for key in state.counters.counts if key[0] != "GET"]
