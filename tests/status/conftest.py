"""A state database made by real reconcile cycles on the in-process emulator with the demo world
and the example playbooks (``playbooks/``), through every state an account can be in:

1. ``report`` mode: every account with differences is drifted, two are blocked;
2. ``fix``, with every settings PATCH failing on the server: those accounts fail;
3. ``fix`` again within their backoff: backed off;
4. the server fixed, the backoff over: every account in sync but the two blocked;
5. someone changes fashion_nova's Reactions Pro speed in the panel; ``fix`` puts it back.

``mid`` is a copy of the database after cycle 3 (failed and backed-off accounts), ``db`` the
database after cycle 5. Demo world facts: alice owns 25 accounts; food_vegan needs a new
Instagram login and food_kitchen's AI-DM schedule has no OpenAI key (both blocked).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import httpx
import pytest
from starlette.applications import Starlette

from orchestrator import playbook
from orchestrator.emulator.faults import FaultConfig
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.reconcile.loop import CycleReport
from orchestrator.status import create_status_app
from tests.reconcile.conftest import VirtualTime, client_for, reconciler

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"
BLOCKED = {"food_vegan": "login_required", "food_kitchen": "ai_key_missing"}


@dataclass
class Fleet:
    db: Path
    mid: Path
    reports: list[CycleReport] = field(default_factory=list)


def _copy(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


async def _cycles(tmp: Path, fleet: Fleet) -> None:
    emu = LocalEmulator("demo")
    book = playbook.load([str(PLAYBOOKS)])
    now = [time.time()]
    async with client_for(emu, time=VirtualTime()) as client, emu.http("alice") as alice:
        report = reconciler(emu, client, book, tmp, lock=False, mode="report")
        fix = reconciler(emu, client, book, tmp, lock=False, mode="fix")
        for loop in (report, fix):
            loop.clock = loop.drift.clock = lambda: now[0]
        fleet.reports.append(await report.cycle())
        now[0] += 60
        emu.state.faults = FaultConfig(seed=1, methods=["PATCH"], error_rate=1.0, error_statuses={500: 1.0})
        fleet.reports.append(await fix.cycle())
        now[0] += 10
        fleet.reports.append(await fix.cycle())
        fix.history.flush()
        _copy(tmp / "state.db", fleet.mid)
        emu.state.faults = FaultConfig()
        now[0] += 3600
        fleet.reports.append(await fix.cycle())
        changed = await alice.patch("/reactions/schedules/1/settings", json={"likes_speed": 1})
        assert changed.status_code == 200, changed.text
        now[0] += 60
        fleet.reports.append(await fix.cycle())
        report.history.close()
        fix.history.close()


@pytest.fixture(scope="session")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    tmp = tmp_path_factory.mktemp("fleet")
    made = Fleet(tmp / "state.db", tmp / "mid.db")
    anyio.run(_cycles, tmp, made)
    return made


def client_of(app: Starlette) -> httpx.AsyncClient:
    """An HTTP client on the app in process (its sync handlers run in a thread, as served)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://status.test")


@pytest.fixture
async def page(fleet: Fleet) -> Iterator[httpx.AsyncClient]:
    async with client_of(create_status_app(fleet.db)) as client:
        yield client  # type: ignore[misc]


def rows(db: Path, sql: str, *args: object) -> list[tuple]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        return con.execute(sql, args).fetchall()
