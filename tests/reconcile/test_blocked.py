"""Blocked changes: what the server would undo is named, never attempted, and applied once
the reason is gone; the rules themselves are pure and tested on plain values."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from typer.testing import CliRunner

from orchestrator.planning.blockers import (
    ACCOUNT_INACTIVE,
    LOGIN_REQUIRED,
    NO_AI_KEY,
    classify,
)
from orchestrator.cli.app import app
from orchestrator.emulator.app import create_app
from orchestrator.emulator.server import BackgroundServer, build_state
from orchestrator.plan import Change

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
NEED_LOGIN = ("food_vegan", "fitness_lift")


def _change(account_id: int, kind: str, action: str, path: str = "state", after: object = "active",
            ref: object = None) -> Change:
    return Change(account_id, f"acct{account_id}", kind, action, path, "paused", after, "p.yaml:1:1", ref)


def test_only_switching_on_is_blocked_on_an_account_that_needs_a_login() -> None:
    accounts = {1: SimpleNamespace(login_required=True, is_active=True),
                2: SimpleNamespace(login_required=False, is_active=False),
                3: SimpleNamespace(login_required=False, is_active=True)}
    changes = [
        _change(1, "reactions", "activate"), _change(1, "reactions", "update", "settings.likes_speed", 4),
        _change(1, "reactions", "pause", after="paused"), _change(1, "leads", "start", "tasks[x].state", "running"),
        _change(1, "account", "set", "proxy", "auto"),
        _change(2, "welcomedm", "activate"), _change(3, "welcomedm", "activate"),
    ]
    allowed, blocked = classify(changes, accounts)
    assert {(b.account_id, b.kind, b.change.action, b.reason) for b in blocked} == {  # type: ignore[union-attr]
        (1, "reactions", "activate", LOGIN_REQUIRED), (1, "leads", "start", LOGIN_REQUIRED),
        (2, "welcomedm", "activate", ACCOUNT_INACTIVE)}
    assert {(c.account_id, c.action) for c in allowed} == {(1, "update"), (1, "pause"), (1, "set"), (3, "activate")}
    assert blocked[0].message.startswith("acct1 needs a new Instagram login: its schedules would be switched off")


def test_a_schedule_created_active_on_such_an_account_is_created_paused() -> None:
    create = Change(1, "a", "first_comment", "create", "schedules[x]", None,
                    {"targets": [], "comments": ["hi"], "comment_mode": "random", "is_active": True}, "p.yaml:1:1")
    allowed, [blocked] = classify([create], {1: SimpleNamespace(login_required=True, is_active=True)})
    assert allowed[0].after["is_active"] is False
    assert (blocked.change.action, blocked.change.path) == ("activate", "schedules[x].state")  # type: ignore[union-attr]


def test_an_ai_dm_schedule_without_a_key_is_blocked() -> None:
    live = {(3, "ai_dm"): {"schedules": [{"id": 7, "is_active": False, "api_key_configured": False}]}}
    account = SimpleNamespace(login_required=False, is_active=True)
    _, [blocked] = classify([_change(3, "ai_dm", "activate", ref=7)], {3: account}, live)
    assert blocked.reason == NO_AI_KEY and "has no OpenAI API key" in blocked.message


# -- on the emulator's live clock, through the command line ------------------------------------
class LiveWorld:
    def __init__(self, server: BackgroundServer, keys: dict[str, str]) -> None:
        self.server, self.keys = server, keys
        self.url = server.url

    def env(self, **extra: str) -> dict[str, str]:
        return {"SHARINGTOOLS_BASE_URL": f"{self.url}/api/v1", "SHARINGTOOLS_API_KEY": self.keys["alice"],
                "SHARINGTOOLS_RATE": "2000", "SHARINGTOOLS_CONCURRENCY": "32", **extra}

    def control(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        return httpx.request(method, f"{self.url}/_emulator{path}", timeout=30, **kwargs)  # type: ignore[arg-type]

    def api(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys['alice']}"}
        return httpx.request(method, f"{self.url}/api/v1{path}", headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def live() -> Iterator[LiveWorld]:
    """The demo world on its live clock, served by uvicorn on 127.0.0.1, its engine passing
    every 0.2 s from a thread (as the server's cron does every few seconds)."""
    state, keys = build_state(seed="demo", real_clock=True)
    with BackgroundServer(create_app(state)) as server:
        world = LiveWorld(server, keys)
        done = threading.Event()

        def engine() -> None:
            while not done.wait(0.2):
                world.control("POST", "/tick")

        thread = threading.Thread(target=engine, name="engine", daemon=True)
        thread.start()
        try:
            yield world
        finally:
            done.set()
            thread.join(timeout=10)


def test_apply_converges_on_the_live_clock_and_blocked_changes_wait_for_a_login(
    live: LiveWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    db = str(tmp_path / "state.db")

    def cli(*args: str) -> object:
        return runner.invoke(app, list(args), env=live.env())

    applied = cli("apply", str(PLAYBOOKS), "--yes", "--state-db", db)
    assert applied.exit_code == 0, applied.output  # type: ignore[attr-defined]
    assert "food_vegan needs a new Instagram login" in applied.stdout  # type: ignore[attr-defined]

    plan = cli("plan", str(PLAYBOOKS), "--detailed-exitcode")
    assert plan.exit_code == 0, plan.output  # type: ignore[attr-defined]
    # a minute's worth of engine passes: the server switches off what it switches off; still no change
    assert live.control("POST", "/clock/advance", json={"seconds": 60, "ticks": 12}).status_code == 200
    again = cli("plan", str(PLAYBOOKS), "--detailed-exitcode", "--format", "json")
    assert again.exit_code == 0, again.output  # type: ignore[attr-defined]
    blocked = json.loads(again.stdout)["blocked"]  # type: ignore[attr-defined]
    assert {b["username"] for b in blocked if b["reason"] == "login_required"} == set(NEED_LOGIN)

    # the accounts log in again (a cookie refresh clears login_required): the next cycle activates them
    accounts = {
        a["username"]: a for a in live.api("GET", "/accounts", params={"per_page": 100}).json()["data"]["items"]
    }
    for name in NEED_LOGIN:
        assert live.api("POST", f"/accounts/{accounts[name]['id']}/refresh-cookies").status_code == 200
    cycle = cli("reconcile", str(PLAYBOOKS), "--once", "--state-db", db)
    assert cycle.exit_code == 0, cycle.output  # type: ignore[attr-defined]
    assert "needs a new Instagram login" not in cycle.stdout  # type: ignore[attr-defined]
    for name in NEED_LOGIN:
        schedules = live.control("GET", "/state/welcomedm_schedules", params={"account_id": accounts[name]["id"]})
        items = schedules.json()["items"]
        assert items and all(s["is_active"] for s in items), (name, items)
    final = cli("plan", str(PLAYBOOKS), "--detailed-exitcode", "--format", "json")
    assert final.exit_code == 0, final.output  # type: ignore[attr-defined]
    left = {b["reason"] for b in json.loads(final.stdout)["blocked"]}  # type: ignore[attr-defined]
    assert left == {"ai_key_missing"}  # food_kitchen's AI-DM still needs a key: only a person can add one
