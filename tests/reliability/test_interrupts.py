"""Ctrl-C and SIGTERM end a run promptly, whatever the server does.

- while reading (a slow server; a server that is not there): the first signal ends the
  command at once, exit 130 (SIGINT) or 143 (SIGTERM), nothing written;
- while writing to a server that hangs: the first signal stops new work and gives in-flight
  calls a few seconds; a second cancels them at once; the run is recorded, never "running";
- after the server died mid-apply: the signal ends the retrying at once (no retry loop
  ignoring it).

Each wait is bounded (`WAIT`, `REACH`): the bound says "within seconds", it is not a timing
measurement. No test sleeps for a fixed time: each waits for what it needs to have happened
(reads held at the server, the first signal's notice, a call retried), then acts.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from orchestrator.emulator.faults import FaultConfig, LatencySpec
from tests.harness import PLAYBOOKS, Served
from tests.harness.processes import (FIRST_SIGNAL_NOTICE, child_env, emulator_process, free_port, read_journal,
                                     signal_when_journaled)

pytestmark = pytest.mark.uvicorn
WAIT = 15.0  # seconds a signalled process may take to exit (GRACE is 5)
REACH = 60.0  # seconds a command may take to reach a point a test waits for (start-up, the first reads)


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "orchestrator", *args], stdout=out, stderr=subprocess.STDOUT,
                                env=env)


def _until(done: Callable[[], bool], proc: subprocess.Popen, log: Path, what: str, within: float = REACH) -> None:
    """Poll ``done()`` until it is true; fail, saying ``what`` never happened, if ``proc`` ends
    first or ``within`` seconds pass."""
    deadline = time.monotonic() + within
    while not done():
        if proc.poll() is not None:
            raise AssertionError(f"the command ended (exit {proc.returncode}) before {what}: {log.read_text()[-2000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {within:g} s: {log.read_text()[-2000:]}")
        time.sleep(0.01)  # poll interval of a bounded wait, not a synchronisation


def _retried_after_a_transport_error(log: Path) -> bool:
    """Whether the command's debug log shows a call sent again after it got no answer: a
    ``request`` line with ``transport-error`` on an attempt after the first."""
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith("{") and '"transport-error"' in line:
            try:
                entry = json.loads(line)
            except ValueError:  # a line still being written
                continue
            if entry.get("event") == "request" and entry.get("attempt", 1) > 1:
                return True
    return False


def _wait_until_it_handles_signals(proc: subprocess.Popen, log: Path) -> None:
    """Wait (bounded) until the command has its own SIGINT and SIGTERM handlers, which it sets
    as its work starts: the kernel shows SIGTERM among the signals the process catches
    (``SigCgt`` in /proc; the interpreter catches SIGINT from its start, SIGTERM only then).
    With no server to watch, that is how the test knows the command is past its start-up."""
    status = Path(f"/proc/{proc.pid}/status")
    if not status.exists():
        pytest.skip("no /proc to read the caught signals from")
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, log.read_text()[-2000:]
        caught = next((int(line.split()[1], 16) for line in status.read_text().splitlines()
                       if line.startswith("SigCgt:")), 0)
        if caught & (1 << (signal.SIGTERM - 1)):
            return
        assert time.monotonic() < deadline, "the command never set its signal handlers"
        time.sleep(0.01)  # poll interval of a bounded wait


def _ended(proc: subprocess.Popen, log: Path) -> int:
    try:
        return proc.wait(timeout=WAIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        raise AssertionError(f"still running {WAIT} s after the signal: {log.read_text()[-2000:]}") from None


@pytest.mark.parametrize(("command", "sig", "code"), [("plan", signal.SIGINT, 130), ("apply", signal.SIGTERM, 143)])
def test_a_signal_while_reading_a_slow_server_ends_at_once(served: Served, tmp_path, command, sig, code):
    # Every answer 4 s late: a plan takes far longer.
    served.state.faults = FaultConfig(latency=LatencySpec(probability=1.0, mean_ms=4_000))
    log = tmp_path / "out.log"
    extra = ["--yes", "--state-db", str(tmp_path / "state.db")] if command == "apply" else []
    proc = _start([command, str(PLAYBOOKS), *extra], child_env(**served.env()), log)
    try:
        # The first read is answered (4 s), then the reads it leads to are sent together and
        # wait behind their slow answers: the signal comes while several are held at the server.
        _until(lambda: served.state.counters.in_flight >= 2, proc, log, "two reads held at the server at once")
        proc.send_signal(sig)
        assert _ended(proc, log) == code, log.read_text()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in log.read_text()
    assert served.writes() == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_retrying_a_server_that_is_not_there_ends_at_once(tmp_path, sig):
    port = free_port()  # nothing listens: every attempt is refused and retried for up to 120 s
    log = tmp_path / "out.log"
    env = child_env(SHARINGTOOLS_BASE_URL=f"http://127.0.0.1:{port}/api/v1", SHARINGTOOLS_API_KEY="sht_" + "a" * 64)
    proc = _start(["apply", str(PLAYBOOKS), "--yes", "--state-db", str(tmp_path / "state.db")], env, log)
    try:
        _wait_until_it_handles_signals(proc, log)
        proc.send_signal(sig)
        assert _ended(proc, log) == 128 + sig, log.read_text()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_second_ctrl_c_cancels_hanging_writes_at_once_and_the_run_is_recorded(served: Served, tmp_path):
    """Writes hang (60 s each); the first Ctrl-C waits for them (at most GRACE), the second ends now."""
    state_db, log = tmp_path / "state.db", tmp_path / "out.log"
    served.state.faults = FaultConfig(methods=["POST", "PATCH", "PUT", "DELETE"],
                                      latency=LatencySpec(probability=1.0, mean_ms=30_000))
    proc = _start(["apply", str(PLAYBOOKS), "--yes", "--state-db", str(state_db)], child_env(**served.env()), log)
    try:
        # The first Ctrl-C comes once a write is journaled and hangs at the server.
        _until(lambda: bool(read_journal(state_db)[1]) and served.state.counters.in_flight >= 1, proc, log,
               "a journaled write held at the server")
        proc.send_signal(signal.SIGINT)
        # It is taken as the first of two: apply says so, and waits for the calls in flight (GRACE,
        # 5 s, at most; the writes hang for 30), so it is still running when the second comes.
        _until(lambda: FIRST_SIGNAL_NOTICE in log.read_text(), proc, log, "the first Ctrl-C's notice")
        assert proc.poll() is None, log.read_text()[-2000:]
        proc.send_signal(signal.SIGINT)
        assert _ended(proc, log) == 130, log.read_text()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    output = log.read_text()
    assert "Traceback" not in output and "stopping now" in output
    runs, ops = read_journal(state_db)
    assert [status for _, status, _ in runs] == ["interrupted"], runs
    # Nothing left pending: the writes sent (hanging) are in doubt, any journaled but not sent failed.
    statuses = {status for _, status in ops}
    assert "in_doubt" in statuses and statuses <= {"in_doubt", "failed"}, ops


def test_ctrl_c_after_the_server_died_mid_apply_ends_promptly(tmp_path):
    """The server dies while apply writes: its calls are refused and retried (50 attempts, far
    longer than the test), so none ends by itself; a Ctrl-C then ends the run within the grace,
    recorded "interrupted" (the calls cancelled, the run resumable)."""
    port, db, keys, state_db = free_port(), tmp_path / "world.db", tmp_path / "keys.json", tmp_path / "state.db"
    log = tmp_path / "out.log"
    proc = None
    try:
        with emulator_process(port, db, keys, log):
            key = json.loads(keys.read_text())["alice"]
            env = child_env(SHARINGTOOLS_BASE_URL=f"http://127.0.0.1:{port}/api/v1", SHARINGTOOLS_API_KEY=key,
                            SHARINGTOOLS_RATE="20",  # slow: hundreds of writes left when the server dies
                            # No call gives up within the test: every one still retries when the signal comes.
                            SHARINGTOOLS_RETRY_ATTEMPTS="50", SHARINGTOOLS_RETRY_DEADLINE="600")
            # Debug logs (JSON lines on stderr) show each attempt: how the test sees the retries.
            proc = _start(["--log-level", "debug", "--log-format", "json", "apply", str(PLAYBOOKS), "--yes",
                           "--state-db", str(state_db)], env, log)
            signal_when_journaled(proc, state_db, 2, 0)  # signal 0: only wait for two operations
        # the emulator is stopped here: the apply's calls now fail and are retried
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/_emulator/health", timeout=1)
        _until(lambda: _retried_after_a_transport_error(log), proc, log, "a call retried after the server died")
        assert proc.poll() is None, log.read_text()[-2000:]
        proc.send_signal(signal.SIGINT)
        assert _ended(proc, log) == 130, log.read_text()[-2000:]
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
    runs, _ = read_journal(state_db)
    # The grace ran out on calls still retrying: they were cancelled, the run is interrupted
    # (resumable; never "running", and not "partial", which needs calls that ended by themselves).
    assert [status for _, status, _ in runs] == ["interrupted"], runs


def test_ctrl_c_at_the_confirmation_prompt_ends_at_once(served: Served, tmp_path):
    """On a terminal (pexpect), apply asks before it writes; Ctrl-C at that prompt ends the run
    with 130 and nothing written (the blocked read of the terminal does not hold the process)."""
    import pexpect

    child = pexpect.spawn(sys.executable, ["-m", "orchestrator", "apply", str(PLAYBOOKS), "--state-db",
                                           str(tmp_path / "state.db")], env=child_env(**served.env()), timeout=60,
                          encoding="utf-8")
    try:
        child.expect("Enter a value")
        child.sendintr()
        child.expect(pexpect.EOF, timeout=WAIT)
    finally:
        child.close(force=True)
    assert child.exitstatus == 130, child.before
    assert served.writes() == []
