"""No interrupt ever makes a second copy: creates in doubt are read back before they are repeated.

The emulator is served by uvicorn, which does not cancel a handler when its client goes away,
and a latency fault makes every first-comment create wait ``LATE`` seconds *before* it is
handled: a create the client gave up on (a second Ctrl-C, SIGKILL, a timeout) lands on the
server seconds later, after a resume's read. That is how a real server behaves with a request
it accepted, and it is where an immediate read-back alone duplicates.

The moments that matter are states, never delays: the signal goes when the server holds the
creates (``in_flight``), the landing is awaited by polling ``in_flight`` down to 0, each with a
bound. ``LATE`` only has to outlast the resume that runs at once (which the test checks: the
creates are still in flight when it ends).
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from orchestrator.cli.app import app
from orchestrator.emulator.faults import FaultConfig, LatencySpec
from tests.harness.processes import child_env
from tests.harness import LAUNCH_COMMENTS, Served, write_playbook

pytestmark = pytest.mark.uvicorn
WAIT = 30.0  # seconds: the bound of every wait (a hang fails, it never blocks the suite)
LATE = 8_000  # ms a first-comment create waits at the server before it is handled
SLOTS = 4  # the client's concurrency: creates in flight at once
ACCOUNTS = 25


def _slow_creates(served: Served) -> None:
    served.state.faults = FaultConfig(methods=["POST"], path_regex="/first-comment/schedules$",
                                      latency=LatencySpec(probability=1.0, distribution="fixed", mean_ms=LATE))


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "orchestrator", *args], stdout=out, stderr=subprocess.STDOUT,
                                env=env)


def _until(what: str, done, proc: subprocess.Popen | None = None, log: Path | None = None) -> None:  # noqa: ANN001
    deadline = time.monotonic() + WAIT
    while not done():
        if proc is not None:
            assert proc.poll() is None, f"the command ended (exit {proc.returncode}): {log.read_text()[-2000:]}"  # type: ignore[union-attr]
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.02)  # poll interval of a bounded wait


def _schedules(served: Served) -> Counter[int]:
    """Launch schedules per account, as the emulator holds them."""
    items = httpx.get(f"{served.server.url}/_emulator/state/first_comment_schedules", timeout=10).json()["items"]
    return Counter(s["account_id"] for s in items if {t["username"] for t in s["targets"]} == {"launchbrand"})


def _statuses(state_db: Path) -> Counter[str]:
    db = sqlite3.connect(f"file:{state_db}?mode=ro", uri=True, timeout=5)
    try:
        return Counter(r[0] for r in db.execute("SELECT status FROM operations WHERE kind='first_comment'"))
    finally:
        db.close()


def _resolutions(state_db: Path) -> Counter[str]:
    db = sqlite3.connect(f"file:{state_db}?mode=ro", uri=True, timeout=5)
    try:
        return Counter(r[0].split(" (")[0] for r in db.execute(
            "SELECT resolution FROM operations WHERE resolution IS NOT NULL"))
    finally:
        db.close()


def _apply(pb: Path, state_db: Path, env: dict[str, str], *extra: str):  # noqa: ANN202
    return CliRunner().invoke(app, ["apply", str(pb), "--yes", "--state-db", str(state_db), *extra], env=env)


def _in_sync(pb: Path, state_db: Path, env: dict[str, str]) -> None:
    plan = CliRunner().invoke(app, ["plan", str(pb), "--detailed-exitcode", "--state-db", str(state_db)], env=env)
    assert plan.exit_code == 0, plan.output  # only the blocked activations of two logged-out accounts are left
    assert "may still take effect" not in plan.output


def _interrupted_mid_create(served: Served, tmp_path: Path, how: str) -> tuple[Path, Path, dict[str, str]]:
    """Apply the playbook with slow creates and stop it once ``SLOTS`` creates are at the server:
    ``how`` is ``"double-ctrl-c"`` (SIGINT, then SIGINT again once it said it is stopping) or
    ``"kill"`` (SIGKILL). Returns the playbook, the state database and the environment."""
    pb = write_playbook(tmp_path / "pb", LAUNCH_COMMENTS)
    state_db, log = tmp_path / "state.db", tmp_path / "apply.log"
    env = child_env(**served.env(SHARINGTOOLS_CONCURRENCY=str(SLOTS)))
    _slow_creates(served)
    proc = _start(["apply", str(pb), "--yes", "--state-db", str(state_db)], env, log)
    try:
        _until(f"{SLOTS} creates at the server", lambda: served.state.counters.in_flight >= SLOTS, proc, log)
        if how == "kill":
            proc.kill()
            assert proc.wait(timeout=WAIT) == -signal.SIGKILL
        else:
            proc.send_signal(signal.SIGINT)
            _until("the first Ctrl-C is acknowledged", lambda: "stopping:" in log.read_text(), proc, log)
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=WAIT) == 130, log.read_text()[-2000:]
            assert "Traceback" not in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert served.state.counters.in_flight == SLOTS  # the creates it gave up on are still coming
    served.state.faults = FaultConfig()  # the resumes' own creates are answered at once
    return pb, state_db, env


def test_double_ctrl_c_then_resume_makes_no_duplicate(served: Served, tmp_path: Path) -> None:
    pb, state_db, env = _interrupted_mid_create(served, tmp_path, "double-ctrl-c")
    # The creates that were sent are in doubt; those still waiting for a slot were never sent.
    journal = _statuses(state_db)
    assert journal["in_doubt"] == SLOTS and journal["pending"] == 0, journal

    # The resume at once: the creates in doubt are not found yet (they have not landed), so their
    # accounts are held, with when to come back; every other account is created.
    first = _apply(pb, state_db, env, "--resume")
    assert first.exit_code == 4, first.output
    assert first.output.count("may still take effect on the server") >= SLOTS, first.output
    assert "run apply --resume after" in first.output
    assert served.state.counters.in_flight == SLOTS  # it ran before they landed
    assert max(_schedules(served).values()) == 1
    assert len(_schedules(served)) == ACCOUNTS - SLOTS

    _until("the cancelled creates land", lambda: served.state.counters.in_flight == 0)
    assert len(_schedules(served)) == ACCOUNTS and max(_schedules(served).values()) == 1

    # The next resume finds them (they took effect after all) and has nothing left to do.
    second = _apply(pb, state_db, env, "--resume")
    assert second.exit_code == 0, second.output
    schedules = _schedules(served)
    assert len(schedules) == ACCOUNTS and set(schedules.values()) == {1}
    assert _resolutions(state_db)["took effect after all"] == SLOTS
    assert _statuses(state_db)["in_doubt"] == 0
    _in_sync(pb, state_db, env)


def test_kill_9_then_resume_makes_no_duplicate(served: Served, tmp_path: Path) -> None:
    pb, state_db, env = _interrupted_mid_create(served, tmp_path, "kill")
    # A killed run leaves its journaled creates pending: sent or not, nobody can tell.
    pending = _statuses(state_db)["pending"]
    assert pending >= SLOTS

    first = _apply(pb, state_db, env, "--resume")
    assert first.exit_code == 4, first.output
    assert first.output.count("may still take effect on the server") >= pending, first.output
    assert served.state.counters.in_flight == SLOTS
    assert max(_schedules(served).values()) == 1

    _until("the creates the killed run sent land", lambda: served.state.counters.in_flight == 0)
    # Those found took effect; those journaled but never sent stay held until the settle time...
    second = _apply(pb, state_db, env, "--resume")
    assert _resolutions(state_db)["took effect after all"] == SLOTS
    assert second.exit_code == (4 if pending > SLOTS else 0), second.output
    assert max(_schedules(served).values()) == 1
    # ... which, once passed (a second here), makes them "did not take effect": created now, once.
    third = _apply(pb, state_db, {**env, "SHARINGTOOLS_SETTLE_TIME": "1"}, "--resume")
    assert third.exit_code == 0, third.output
    schedules = _schedules(served)
    assert len(schedules) == ACCOUNTS and set(schedules.values()) == {1}
    assert _resolutions(state_db)["did not take effect"] == pending - SLOTS
    _in_sync(pb, state_db, env)


def test_a_timed_out_create_the_read_back_misses_is_held_then_found_never_sent_twice(served: Served,
                                                                                   tmp_path: Path) -> None:
    """The answer times out (1 s) while the server waits ``LATE`` before handling the create: the
    client's read-back finds nothing, so it does not resend (it would make a second copy); the
    run journals it in doubt, the next holds the account, and once it landed, one finds it."""
    pb = write_playbook(tmp_path / "pb", LAUNCH_COMMENTS)
    state_db = tmp_path / "state.db"
    env = child_env(**served.env(SHARINGTOOLS_TIMEOUT="1"))
    _slow_creates(served)
    first = _apply(pb, state_db, env, "--limit", "fashion_nova")
    assert first.exit_code == 4, first.output
    assert _statuses(state_db)["in_doubt"] == 1
    assert served.state.counters.in_flight == 1  # sent once, and never again

    served.state.faults = FaultConfig()
    held = _apply(pb, state_db, env, "--limit", "fashion_nova")
    assert held.exit_code == 4, held.output
    assert "may still take effect on the server" in held.output
    assert not _schedules(served)  # not created by the hold
    plan = CliRunner().invoke(app, ["plan", str(pb), "--limit", "fashion_nova", "--state-db", str(state_db)],
                              env=env)
    assert "may still take effect" in plan.output  # a reviewer sees why the create is not planned
    assert "create" not in plan.stdout.split("Blocked")[0]

    _until("the timed-out create lands", lambda: served.state.counters.in_flight == 0)
    found = _apply(pb, state_db, env, "--limit", "fashion_nova")
    assert found.exit_code == 0, found.output
    assert _schedules(served) == Counter({1: 1})
    assert _resolutions(state_db)["took effect after all"] == 1
    posts = sum(n for (m, route, _, _), n in served.state.counters.counts.items()
                if m == "POST" and route.endswith("/first-comment/schedules"))
    assert posts == 1
