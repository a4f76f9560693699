"""``apply`` on a terminal (a pseudo-terminal, through pexpect) against a real uvicorn on
127.0.0.1: the plan and the prompt are printed after the progress display stops, in
Terraform's words; only ``yes`` applies, anything else cancels and changes nothing."""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from pathlib import Path

import pexpect
import pytest

from tests.harness import PLAYBOOKS, Served

pytestmark = pytest.mark.uvicorn
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def spawn(served: Served, tmp_path: Path, *args: str) -> pexpect.spawn:
    env = {**os.environ, **served.env(), "SHARINGTOOLS_STATE_DB": str(tmp_path / "state.db"),
           "COLUMNS": "160", "LINES": "50", "TERM": "xterm"}
    env.pop("SHARINGTOOLS_CONFIG", None)
    return pexpect.spawn(sys.executable, ["-m", "orchestrator", "apply", str(PLAYBOOKS), *args], env=env,
                         cwd=str(tmp_path), encoding="utf-8", timeout=60, dimensions=(50, 160))


def shown(child: pexpect.spawn) -> str:
    return ANSI.sub("", child.before or "")


def test_the_prompt_follows_the_plan_and_anything_but_yes_cancels(served: Served, tmp_path: Path) -> None:
    child = spawn(served, tmp_path)
    child.expect("Enter a value: ")
    before = shown(child)
    # The plan, the counts by kind and action, then Terraform's question, in that order.
    summary = before.rindex("Plan: ")
    table = before.rindex("Changes by kind and action")
    question = before.rindex("Do you want to perform these actions?")
    assert table < summary < question
    assert "Only 'yes' will be accepted to approve." in before[question:]
    assert "Flagships go faster" in before  # entry names in the grouped plan
    child.sendline("y")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1
    assert "apply cancelled: nothing was changed" in shown(child)
    assert served.writes() == []


def test_yes_applies(served: Served, tmp_path: Path) -> None:
    child = spawn(served, tmp_path)
    child.expect("Enter a value: ")
    child.sendline("yes")
    child.expect(pexpect.EOF, timeout=120)
    child.close()
    assert "applied and verified" in shown(child), shown(child)[-2000:]
    assert child.exitstatus == 0
    assert served.writes()


def test_ctrl_c_while_reading_exits_130_within_5_seconds(served: Served, tmp_path: Path) -> None:
    import httpx

    # A slow server: every answer takes a second, so reading the demo world takes long.
    httpx.put(f"{served.server.url}/_emulator/faults",
              json={"latency": {"probability": 1.0, "distribution": "fixed", "mean_ms": 1000}}).raise_for_status()
    child = spawn(served, tmp_path)
    child.expect("reading")
    child.kill(signal.SIGINT)
    started = time.monotonic()
    child.expect(pexpect.EOF, timeout=30)
    child.close()
    assert child.exitstatus == 130
    assert time.monotonic() - started < 5


def test_plan_shows_its_reading_on_the_terminal_while_stdout_goes_to_a_file(served: Served, tmp_path: Path) -> None:
    env = {**os.environ, **served.env(), "TERM": "xterm"}
    env.pop("SHARINGTOOLS_CONFIG", None)
    out = tmp_path / "plan.md"
    command = f'"{sys.executable}" -m orchestrator plan "{PLAYBOOKS}" -f markdown > "{out}"'
    child = pexpect.spawn("/bin/sh", ["-c", command],
                          env=env, cwd=str(tmp_path), encoding="utf-8", timeout=60, dimensions=(50, 160))
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "reading · " in ANSI.sub("", child.before) and " req/s " in child.before
    assert out.read_text().startswith("### Sharingtools plan") and "req/s" not in out.read_text()
