"""A state database made by real reconcile cycles on the in-process emulator with the demo world
and the example playbooks (``playbooks/``), through every state an account can be in:

1. ``report`` mode: every account with differences is drifted, two are blocked;
2. ``fix``, with every settings PATCH failing on the server: those accounts fail;
3. ``fix`` again within their backoff: backed off;
4. the server fixed, the backoff over: every account in sync but the two blocked;
5. someone changes fashion_nova's Reactions Pro speed in the panel; ``fix`` puts it back.

``mid`` is a copy of the database after cycle 3 (failed and backed-off accounts), ``db`` the
database after cycle 5. The fleet is made on both backends of the state store (``db`` is a
SQLite file or a PostgreSQL URL): every test that reads it runs on both. Demo world facts:
alice owns 25 accounts; food_vegan needs a new Instagram login and food_kitchen's AI-DM
schedule has no OpenAI key (both blocked).
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
from orchestrator.api import SharingtoolsClient
from orchestrator.reconcile.loop import CycleReport, Reconciler, ReconcileOptions
from orchestrator.reconcile.metrics import ReconcileMetrics
from orchestrator.state.db import open_store
from orchestrator.state.store import StateStore, is_postgres_url
from orchestrator.status import create_status_app
from tests.harness import VirtualTime, client_for, executor_for
from tests.harness.postgres import PostgresServer
from tests.harness.stores import TEST_URL

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOKS = ROOT / "playbooks"
BLOCKED = {"food_vegan": "login_required", "food_kitchen": "ai_key_missing"}


@dataclass
class Fleet:
    db: str  # a SQLite file, or a postgresql:// URL
    mid: str
    backend: str = "sqlite"
    reports: list[CycleReport] = field(default_factory=list)


def _copy(source: Path, target: Path) -> None:
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _pg_copy(server: PostgresServer, source: str, name: str) -> str:
    """A copy of the PostgreSQL database ``source`` (no session may be connected to it)."""
    import psycopg

    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source.rsplit("/", 1)[1]}"')
    return server.url(name)


def loop_on(emu: LocalEmulator, client: SharingtoolsClient, book: playbook.Playbook, store: StateStore,
            **options: object) -> Reconciler:
    """A reconciler on ``store`` (either backend), without the run lock."""
    return Reconciler(client, book, ReconcileOptions(**options), history=store,  # type: ignore[arg-type]
                      metrics=ReconcileMetrics(), executor=executor_for(client))


async def _cycles(fleet: Fleet, server: PostgresServer | None) -> None:
    emu = LocalEmulator("demo")
    book = playbook.load([str(PLAYBOOKS)])
    now = [time.time()]

    async def stores() -> tuple[StateStore, StateStore]:
        made = (await open_store(fleet.db, TEST_URL), await open_store(fleet.db, TEST_URL))
        for store in made:
            store.clock = lambda: now[0]  # type: ignore[attr-defined]
        return made

    async with client_for(emu, time=VirtualTime()) as client, emu.http("alice") as alice:
        first, second = await stores()
        report = loop_on(emu, client, book, first, mode="report")
        fix = loop_on(emu, client, book, second, mode="fix")
        for loop in (report, fix):
            loop.clock = lambda: now[0]
        fleet.reports.append(await report.cycle())
        now[0] += 60
        emu.state.faults = FaultConfig(seed=1, methods=["PATCH"], error_rate=1.0, error_statuses={500: 1.0})
        fleet.reports.append(await fix.cycle())
        now[0] += 10
        fleet.reports.append(await fix.cycle())
        await report.history.close()
        await fix.history.close()
        if server is None:
            _copy(Path(fleet.db), Path(fleet.mid))
        else:
            fleet.mid = _pg_copy(server, fleet.db, fleet.db.rsplit("/", 1)[1] + "_mid")
        report.history, fix.history = await stores()
        emu.state.faults = FaultConfig()
        now[0] += 3600
        fleet.reports.append(await fix.cycle())
        changed = await alice.patch("/reactions/schedules/1/settings", json={"likes_speed": 1})
        assert changed.status_code == 200, changed.text
        now[0] += 60
        fleet.reports.append(await fix.cycle())
        await report.history.close()
        await fix.history.close()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def fleet(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Fleet:
    """The fleet after its five cycles, on a SQLite file and on PostgreSQL."""
    server: PostgresServer | None = None
    if request.param == "sqlite":
        tmp = tmp_path_factory.mktemp("fleet")
        made = Fleet(str(tmp / "state.db"), str(tmp / "mid.db"))
    else:
        server = request.getfixturevalue("postgres_server")
        made = Fleet(server.database(), "", "postgresql")
    anyio.run(_cycles, made, server)
    return made


def client_of(app: Starlette) -> httpx.AsyncClient:
    """An HTTP client on the app in process (its sync handlers run in a thread, as served)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://status.test")


@pytest.fixture
async def page(fleet: Fleet) -> Iterator[httpx.AsyncClient]:
    async with client_of(create_status_app(fleet.db)) as client:
        yield client  # type: ignore[misc]


def rows(db: str | Path, sql: str, *args: object) -> list[tuple]:
    """What ``sql`` (``?`` placeholders) finds in the state database, on either backend."""
    if is_postgres_url(str(db)):
        import psycopg

        with psycopg.connect(str(db)) as conn:
            return [tuple(r) for r in conn.execute(sql.replace("%", "%%").replace("?", "%s"), args).fetchall()]
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        return con.execute(sql, args).fetchall()
