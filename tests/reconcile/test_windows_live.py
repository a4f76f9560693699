"""A campaign window on real time: ``reconcile --every 1h`` as a real process wakes at the
window's start and at its end, not an hour later.

The emulator is served by uvicorn on 127.0.0.1 on its running clock; the window opens 15 s
after the test starts and closes 15 s later. The test watches the API (a bounded poll of a
condition, never a sleep standing in for one): the settings change soon after the start and go
back soon after the end, the window's target is added and then removed; the cycle is recorded
as caused by the window; ``plan --at`` a moment inside the window, run before it opens, lists
exactly what the loop then applies; metrics name the window."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from orchestrator.emulator.app import create_app
from orchestrator.emulator.server import BackgroundServer, build_state
from tests.harness.processes import free_port

pytestmark = [pytest.mark.uvicorn, pytest.mark.slow]

NOVA = 1  # fashion_nova
WAIT = 60  # seconds: an upper bound for a process to reach a point, never a timing assertion
LEAD, LENGTH = 15, 15  # the window opens LEAD s from now (a first cycle and a plan fit in it on a loaded
# machine) and stays open LENGTH s (more than WITHIN: its opening cycle ends before it closes)
WITHIN = 10  # the bound: the change is live within this many seconds of a boundary
ENTRY = "Flash sale"


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _playbook(start: datetime, end: datetime) -> str:
    return f"""\
version: 1
groups:
  nova: {{accounts: [fashion_nova]}}
entries:
  - name: Baseline
    groups: nova
    reactions:
      state: active
      settings: {{likes_speed: 2}}
  - name: {ENTRY}
    groups: nova
    when: {{from: {_stamp(start)}, until: {_stamp(end)}}}
    reactions:
      settings: {{likes_speed: 4}}
      targets: [{{hashtag: flashsale}}]
"""


@pytest.fixture
def world() -> Iterator[dict[str, Any]]:
    state, keys = build_state(seed="demo", real_clock=True)
    with BackgroundServer(create_app(state)) as server:
        yield {"url": f"{server.url}/api/v1", "key": keys["alice"]}


class Watch:
    """Polls the API for what the window changes on fashion_nova, noting when each state is first seen."""

    def __init__(self, world: dict[str, Any]) -> None:
        self.http = httpx.Client(base_url=world["url"], headers={"Authorization": f"Bearer {world['key']}"},
                                 timeout=10)

    def speed(self) -> int:
        data = self.http.get(f"/reactions/schedules/{NOVA}/settings").json()["data"]
        return int(data.get("settings", data)["likes_speed"])

    def targets(self) -> set[str]:
        data = self.http.get(f"/reactions/schedules/{NOVA}/targets").json()["data"]
        return {t["value"] for t in data["targets"]}

    def until(self, ready: Callable[[], bool], proc: subprocess.Popen[bytes], what: str,
              deadline: float) -> datetime:
        """The wall time ``ready()`` first held; fails if the process ends or ``deadline`` passes."""
        while not ready():
            assert proc.poll() is None, f"the reconciler ended before {what}"
            assert time.time() < deadline, f"never {what}"
            time.sleep(0.2)
        return datetime.now(UTC)


def _cli(world: dict[str, Any], *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHARINGTOOLS_BASE_URL": world["url"], "SHARINGTOOLS_API_KEY": world["key"]}
    return subprocess.run([sys.executable, "-m", "orchestrator", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=WAIT)


def _drift_of(world: dict[str, Any], db: Path, run_id: int, cwd: Path) -> dict[str, Any]:
    shown = _cli(world, "history", "show", str(run_id), "--json", "--state-db", str(db), cwd=cwd)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def _runs(world: dict[str, Any], db: Path, cwd: Path) -> list[dict[str, Any]]:
    import sqlite3

    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        try:
            rows = conn.execute("SELECT id, status, report FROM runs ORDER BY id").fetchall()
        except sqlite3.OperationalError:
            return []
    return [{"id": r[0], "status": r[1], "report": json.loads(r[2]) if r[2] else None} for r in rows]


def _same(change: dict[str, Any]) -> tuple[Any, ...]:
    return (change["account_id"], change["kind"], change["action"], change["path"],
            json.dumps(change["before"], sort_keys=True), json.dumps(change["after"], sort_keys=True))


def test_reconcile_wakes_at_the_window_and_takes_back_what_it_added(world: dict[str, Any], tmp_path: Path) -> None:
    start = (datetime.now(UTC) + timedelta(seconds=LEAD)).replace(microsecond=0)
    end = start + timedelta(seconds=LENGTH)
    book = tmp_path / "campaign.yaml"
    book.write_text(_playbook(start, end))
    db = tmp_path / "state.db"
    port = free_port()
    env = {**os.environ, "SHARINGTOOLS_BASE_URL": world["url"], "SHARINGTOOLS_API_KEY": world["key"]}
    stdout, stderr = tmp_path / "reconcile.out", tmp_path / "reconcile.err"
    with stdout.open("wb") as out_file, stderr.open("wb") as err_file:  # files, not pipes: nothing can fill up
        proc = subprocess.Popen([sys.executable, "-m", "orchestrator", "reconcile", str(book), "--every", "1h",
                                 "--state-db", str(db), "--metrics-port", str(port)], env=env, cwd=tmp_path,
                                stdout=out_file, stderr=err_file)
    watch = Watch(world)
    try:
        # The first cycle applies the baseline; the window is ahead.
        watch.until(lambda: any(r["status"] != "running" for r in _runs(world, db, tmp_path)), proc,
                    "finished its first cycle", time.time() + WAIT)
        assert watch.speed() == 2 and "flashsale" not in watch.targets()

        # Before the window opens: what a plan at a moment inside it says the loop will apply.
        assert datetime.now(UTC) < start, "the first cycle took the whole lead: nothing left to compare"
        inside = start + timedelta(seconds=LENGTH // 2)
        planned = _cli(world, "plan", str(book), "--at", _stamp(inside), "--format", "json", "--state-db", str(db),
                       cwd=tmp_path)
        assert planned.returncode == 0, planned.stderr
        plan = json.loads(planned.stdout)
        assert plan["windows"]["open"] == [ENTRY]
        expected = sorted(_same(c) for c in plan["changes"])
        assert {(c[2], c[3]) for c in expected} == {("update", "settings.likes_speed"),
                                                     ("add", "targets[hashtag:flashsale]")}

        # The window opens: the loop wakes for it, not an hour later.
        opened = watch.until(lambda: watch.speed() == 4 and "flashsale" in watch.targets(), proc,
                             "applied the window", start.timestamp() + WAIT)
        assert start <= opened <= start + timedelta(seconds=WITHIN), (start, opened)
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert f'orchestrator_window_active{{entry="{ENTRY}"}} 1.0' in metrics

        # It closes: the speed goes back to the baseline's, the target the window added goes.
        closed = watch.until(lambda: watch.speed() == 2 and "flashsale" not in watch.targets(), proc,
                             "took the window back", end.timestamp() + WAIT)
        assert end <= closed <= end + timedelta(seconds=WITHIN), (end, closed)
    finally:
        watch.http.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=WAIT)
    out = stdout.read_text()

    # Three cycles: the start, and one per boundary, each recorded with its cause.
    runs = [r for r in _runs(world, db, tmp_path) if r["report"]]
    causes = [(r["report"]["reconcile"]["cause"]["reason"],
               [(w["entry"], w["event"]) for w in r["report"]["reconcile"]["cause"].get("windows", [])])
              for r in runs]
    assert causes == [("start", []), ("window", [(ENTRY, "open")]), ("window", [(ENTRY, "close")])], causes
    assert f'(window: "{ENTRY}" opened)' in out and f'(window: "{ENTRY}" closed)' in out

    # What the window's cycle applied is exactly what plan --at showed before it opened.
    applied = _drift_of(world, db, runs[1]["id"], tmp_path)
    assert sorted(_same(row) for row in applied["drift"] if row["outcome"] == "fixed") == expected
    # Closing took back only what the window added, and recorded why.
    taken_back = _drift_of(world, db, runs[2]["id"], tmp_path)
    assert {(row["action"], row["path"]) for row in taken_back["drift"]} == {
        ("update", "settings.likes_speed"), ("remove", "targets[hashtag:flashsale]")}
    history = _cli(world, "history", "--state-db", str(db), cwd=tmp_path)
    assert f'(window: "{ENTRY}" closed)' in history.stdout
