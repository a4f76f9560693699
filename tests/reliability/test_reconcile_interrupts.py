"""The reconcile loop stops on SIGINT and SIGTERM exactly as apply does, and records what it did.

``orchestrator reconcile`` runs as a real process against the emulator served by uvicorn:

- **while reading** a server that answers after 6 s, the first signal ends it at once (exit
  143 or 130, before the read it waited for was answered) with at most a handful of further
  requests at the server; the cycle is recorded ``interrupted``, nothing written;
- **while writing**, every first-comment create waits 12 s at the server before it is handled
  (uvicorn handles it even after its client went away, as a real server does): the first
  SIGTERM stops new work and gives the creates in flight the grace (5 s, less than their 12),
  then cancels them; a second SIGTERM cancels them at once. Either way the cycle is recorded
  ``interrupted``, no difference is ``fixed`` (nothing was verified), the creates sent are
  journaled ``in_doubt`` as apply journals them, and the next cycles read them back before
  repeating any: held while they may still land, found once they have, no duplicate.

The moments that matter are states, polled with a bound: the signal goes once the server
holds the requests (``in_flight``), the second once the first is acknowledged in the log.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from orchestrator.apply.executor import CANCELLED, NOT_SENT
from orchestrator.emulator.faults import FaultConfig, LatencySpec
from tests.harness import LAUNCH_COMMENTS, PLAYBOOKS, Served, write_playbook
from tests.harness.processes import FIRST_SIGNAL_NOTICE

pytestmark = pytest.mark.uvicorn
ROOT = Path(__file__).resolve().parents[2]
WAIT = 30.0  # seconds: the bound of every wait (a hang fails, it never blocks the suite)
HANDFUL = 5  # requests the server may still receive after the signal while reading
SLOW_READ = 6_000  # ms every answer takes while the loop reads
LATE = 12_000  # ms a first-comment create waits at the server before it is handled: the grace (5 s), the
# loop's exit and a whole next cycle (the held one, about 2 s, more on a loaded machine) must fit in it
SLOTS = 4  # the client's concurrency: creates in flight at once
ACCOUNTS = 25


def _env(served: Served, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHARINGTOOLS_")}
    return {**env, "PYTHONPATH": str(ROOT), **served.env(**extra)}


def _reconcile(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "orchestrator", "reconcile", *args], stdout=out,
                                stderr=subprocess.STDOUT, env=env)


def _until(what: str, done: Callable[[], bool], proc: subprocess.Popen[bytes] | None = None,
           log: Path | None = None) -> None:
    deadline = time.monotonic() + WAIT
    while not done():
        if proc is not None:
            assert proc.poll() is None, f"ended (exit {proc.returncode}) before {what}: " + (
                log.read_text()[-2000:] if log else "")
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.02)  # poll interval of a bounded wait


def _ended(proc: subprocess.Popen[bytes], log: Path) -> int:
    try:
        return proc.wait(timeout=WAIT)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)
        raise AssertionError(f"still running {WAIT} s after the signal: {log.read_text()[-2000:]}") from None


def _received(served: Served) -> int:
    """Requests the server has received: answered, and still being handled."""
    return sum(served.state.counters.counts.values()) + served.state.counters.in_flight


def _db(state_db: Path, sql: str) -> list[tuple]:
    db = sqlite3.connect(f"file:{state_db}?mode=ro", uri=True, timeout=5)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def _schedules(served: Served) -> Counter[int]:
    """Launch schedules per account, as the emulator holds them."""
    items = httpx.get(f"{served.server.url}/_emulator/state/first_comment_schedules", timeout=10).json()["items"]
    return Counter(s["account_id"] for s in items if {t["username"] for t in s["targets"]} == {"launchbrand"})


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_while_a_cycle_reads_a_slow_server_ends_it_at_once(served: Served, tmp_path: Path, sig: int,
                                                                    code: int) -> None:
    served.state.faults = FaultConfig(latency=LatencySpec(probability=1.0, distribution="fixed", mean_ms=SLOW_READ))
    state_db, log = tmp_path / "state.db", tmp_path / "reconcile.log"
    proc = _reconcile([str(PLAYBOOKS), "--every", "1h", "--state-db", str(state_db)], _env(served), log)
    try:
        _until("a read at the server", lambda: served.state.counters.in_flight >= 1, proc, log)
        before = _received(served)
        proc.send_signal(sig)
        assert _ended(proc, log) == code, log.read_text()[-2000:]
        # It ended before the slow read it was waiting for was answered: it did not wait for it.
        in_flight = served.state.counters.in_flight
    finally:
        if proc.poll() is None:
            proc.kill()
    assert in_flight >= 1
    assert _received(served) - before <= HANDFUL  # the reads did not go on
    output = log.read_text()
    assert "Traceback" not in output
    assert "cycle 1: interrupted interrupted while reading: nothing was changed" in output
    assert served.writes() == []
    assert _db(state_db, "SELECT command, status FROM runs") == [("reconcile-fix", "interrupted")]
    assert _db(state_db, "SELECT COUNT(*) FROM drift_states") == [(0,)]


def _cycle_stopped_mid_create(served: Served, tmp_path: Path, *, twice: bool) -> tuple[Path, Path, dict[str, str], str]:
    """A loop whose first cycle is stopped by SIGTERM once ``SLOTS`` creates are at the server
    (``twice``: SIGTERM again once the first is acknowledged). Returns the playbook, the state
    database, the environment and what the loop wrote."""
    pb = write_playbook(tmp_path / "pb", LAUNCH_COMMENTS)
    state_db, log = tmp_path / "state.db", tmp_path / "reconcile.log"
    env = _env(served, SHARINGTOOLS_CONCURRENCY=str(SLOTS))
    served.state.faults = FaultConfig(methods=["POST"], path_regex="/first-comment/schedules$",
                                      latency=LatencySpec(probability=1.0, distribution="fixed", mean_ms=LATE))
    proc = _reconcile([str(pb), "--every", "1h", "--state-db", str(state_db)], env, log)
    try:
        _until(f"{SLOTS} creates at the server", lambda: served.state.counters.in_flight >= SLOTS, proc, log)
        proc.send_signal(signal.SIGTERM)
        _until("the signal is acknowledged", lambda: FIRST_SIGNAL_NOTICE in log.read_text(), proc, log)
        if twice:
            proc.send_signal(signal.SIGTERM)
        assert _ended(proc, log) == 143, log.read_text()[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    # It ended before the server handled the creates it gave up on: they are still coming.
    assert served.state.counters.in_flight == SLOTS
    served.state.faults = FaultConfig()  # the next cycles' own creates are answered at once
    return pb, state_db, env, log.read_text()


def _recorded_interrupted(state_db: Path) -> None:
    """The cycle's run is interrupted; nothing fixed (nothing was verified); the creates sent
    are in doubt in the journal and interrupted in the drift; the rest not started."""
    assert _db(state_db, "SELECT command, status FROM runs") == [("reconcile-fix", "interrupted")]
    outcomes = Counter(o for (o,) in _db(state_db, "SELECT outcome FROM drift_states"))
    # Every account's create; the activations of the two that need a new login are blocked.
    assert outcomes == Counter({"interrupted": SLOTS, "not_started": ACCOUNTS - SLOTS, "blocked": 2}), outcomes
    # Journaled: the creates sent, in doubt; those still waiting for a connection, not sent.
    journal = Counter(_db(state_db, "SELECT status, error FROM operations"))
    assert journal[("in_doubt", CANCELLED)] == SLOTS
    assert set(journal) - {("in_doubt", CANCELLED), ("failed", NOT_SENT)} == set(), journal
    [(report,)] = _db(state_db, "SELECT report FROM runs")
    assert json.loads(report)["reconcile"]["result"] == "interrupted"


def test_sigterm_while_a_cycle_writes_waits_for_the_calls_in_flight_at_most_the_grace(served: Served,
                                                                                      tmp_path: Path) -> None:
    pb, state_db, env, output = _cycle_stopped_mid_create(served, tmp_path, twice=False)
    assert "Traceback" not in output and "stopping now" not in output  # one signal: the grace ran out
    assert "interrupted: requests in flight were cancelled" in output
    _recorded_interrupted(state_db)

    # The next cycle at once: the creates in doubt have not landed, so their accounts are held
    # (not created again); every other account is created.
    held = subprocess.run([sys.executable, "-m", "orchestrator", "reconcile", str(pb), "--once", "--state-db",
                           str(state_db)], env=env, capture_output=True, text=True, timeout=120)
    assert held.returncode == 4, held.stdout + held.stderr
    assert held.stdout.count("held: ") == SLOTS, held.stdout
    assert served.state.counters.in_flight == SLOTS  # it ran before they landed
    assert len(_schedules(served)) == ACCOUNTS - SLOTS and max(_schedules(served).values()) == 1

    _until("the cancelled creates land", lambda: served.state.counters.in_flight == 0)
    found = subprocess.run([sys.executable, "-m", "orchestrator", "reconcile", str(pb), "--once", "--state-db",
                            str(state_db)], env=env, capture_output=True, text=True, timeout=120)
    assert found.returncode == 0, found.stdout + found.stderr
    schedules = _schedules(served)
    assert len(schedules) == ACCOUNTS and set(schedules.values()) == {1}  # no duplicate
    resolutions = Counter(r.split(" (")[0] for (r,) in _db(state_db, "SELECT resolution FROM operations "
                                                                     "WHERE resolution IS NOT NULL"))
    assert resolutions["took effect after all"] == SLOTS


def test_a_second_sigterm_cancels_the_calls_in_flight_at_once(served: Served, tmp_path: Path) -> None:
    _, state_db, _, output = _cycle_stopped_mid_create(served, tmp_path, twice=True)
    assert "Traceback" not in output
    assert "stopping now: requests in flight are cancelled" in output
    _recorded_interrupted(state_db)
