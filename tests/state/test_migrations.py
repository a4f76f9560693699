"""A state database written by the releases before the store keeps working: it is migrated
on first use (``schema_version``), its rows adopted by the installation that used it, its
per-cycle drift rows folded into states; and repeated reconcile cycles do not grow the drift
record."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from orchestrator.state.lock import old_lock_tag
from orchestrator.state.store import SCHEMA_VERSION
from tests.harness.stores import SyncStore, sqlite_store
from tests.harness.reconcile import client_for, reconciler, write_book

URL = "https://agency.example/api/v1"

# The schema exactly as the code on main before the store created it (state/history.py,
# state/drift.py, state/applied.py of that release), with the rows it wrote.
MAIN_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started REAL NOT NULL, finished REAL, command TEXT NOT NULL,
    playbook_hash TEXT, status TEXT NOT NULL, accounts TEXT NOT NULL, report TEXT);
CREATE TABLE IF NOT EXISTS operations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL REFERENCES runs(id), account_id INTEGER NOT NULL,
    kind TEXT NOT NULL, name TEXT NOT NULL, args TEXT NOT NULL, status TEXT NOT NULL, error TEXT,
    started REAL NOT NULL, finished REAL);
CREATE INDEX IF NOT EXISTS operations_run ON operations(run_id);
ALTER TABLE runs ADD COLUMN host TEXT;
ALTER TABLE runs ADD COLUMN user TEXT;
ALTER TABLE runs ADD COLUMN resumes INTEGER;
CREATE TABLE IF NOT EXISTS drift (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL REFERENCES runs(id), at REAL NOT NULL,
    account_id INTEGER NOT NULL, username TEXT NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL,
    action TEXT NOT NULL, before TEXT, after TEXT, outcome TEXT NOT NULL, reason TEXT);
CREATE INDEX IF NOT EXISTS drift_run ON drift(run_id);
CREATE INDEX IF NOT EXISTS drift_where ON drift(account_id, kind, path);
CREATE TABLE IF NOT EXISTS backoff (
    account_id INTEGER PRIMARY KEY, username TEXT NOT NULL, failures INTEGER NOT NULL, next_try REAL NOT NULL,
    last_error TEXT);
CREATE TABLE IF NOT EXISTS applied_values (
    account_id INTEGER NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL, value TEXT NOT NULL, run_id INTEGER,
    at REAL NOT NULL, PRIMARY KEY (account_id, kind, path));
CREATE TABLE IF NOT EXISTS known_accounts (
    username TEXT PRIMARY KEY, account_id INTEGER NOT NULL, seen REAL NOT NULL);
INSERT INTO runs (started, finished, command, playbook_hash, status, accounts, report, host, user)
    VALUES (100.0, 110.0, 'apply', 'sha256:aa', 'succeeded', '[1,2]', '{"message": "applied"}', 'h', 'u');
INSERT INTO runs (started, command, status, accounts, host, user)
    VALUES (200.0, 'apply', 'interrupted', '[2]', 'h', 'u');
INSERT INTO operations (run_id, account_id, kind, name, args, status, started) VALUES (2, 2, 'reactions', 'activate',
    '{}', 'pending', 200.5);
INSERT INTO runs (started, finished, command, status, accounts)
    VALUES (300.0, 301.0, 'reconcile-report', 'reported', '[]');
INSERT INTO runs (started, finished, command, status, accounts)
    VALUES (400.0, 401.0, 'reconcile-report', 'reported', '[]');
INSERT INTO drift (run_id, at, account_id, username, kind, path, action, before, after, outcome, reason)
    VALUES (3, 300.0, 1, 'nova', 'reactions', 'settings.likes_speed', 'update', '1', '3', 'reported', 'report mode');
INSERT INTO drift (run_id, at, account_id, username, kind, path, action, before, after, outcome, reason)
    VALUES (4, 400.0, 1, 'nova', 'reactions', 'settings.likes_speed', 'update', '1', '3', 'reported', 'report mode');
INSERT INTO backoff VALUES (2, 'luxe', 3, 9999999999.0, 'did not verify');
INSERT INTO applied_values VALUES (1, 'reactions', 'settings.likes_speed', '3', 1, 110.0);
INSERT INTO known_accounts VALUES ('nova', 1, 110.0);
"""


def _main_release_database(db: Path, base_urls: list[str]) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(MAIN_SCHEMA)
    conn.close()
    for url in base_urls:  # the lock files that release left beside the database, one per base URL
        db.with_name(f"{db.name}.{old_lock_tag(url)}.lock").write_text("")


def test_a_database_of_the_release_before_the_store_is_migrated_and_adopted(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    _main_release_database(db, [URL])
    with SyncStore(db, URL) as store:
        runs = store.runs()
        assert [(r.id, r.status) for r in runs] == [(4, "reported"), (3, "reported"), (2, "interrupted"),
                                                    (1, "succeeded")]
        assert store.unfinished() is None  # the newest run is a finished cycle
        assert [o["status"] for o in store.operations(2)] == ["pending"]
        assert set(store.backoffs()) == {2} and store.known_usernames() == {"nova"}
        assert store.last_applied(1, "reactions", "settings.likes_speed") == 3
        (state,) = store.drift_states()
        assert (state.cycles, state.first_run, state.last_run, state.row.outcome) == (2, 3, 4, "reported")
        assert [r.path for r in store.drift_of_run(3)] == ["settings.likes_speed"]
        new = store.start_run("apply", None, [1])
        assert store.runs(1)[0].id == new
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("SELECT COUNT(*) FROM runs WHERE installation=''").fetchone()[0] == 0
    conn.close()
    # another installation on the same file sees none of it
    with SyncStore(db, "https://other.example/api/v1") as other:
        assert other.runs() == [] and other.backoffs() == {}


def test_rows_of_a_database_two_installations_used_stay_apart(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    _main_release_database(db, [URL, "https://other.example/api/v1"])
    with SyncStore(db, URL) as store:
        assert store.runs() == [] and store.unfinished() is None  # never resumed by the wrong one
        assert [r.id for r in store.runs(every_installation=True)] == [4, 3, 2, 1]


async def test_repeated_report_cycles_do_not_grow_the_drift_record(emu, tmp_path: Path) -> None:
    book = write_book(tmp_path)
    async with client_for(emu) as client:
        loop = reconciler(emu, client, book, tmp_path, mode="report")
        sizes = []
        for _ in range(5):
            report = await loop.cycle()
            assert report.exit_code == 2 and report.drift  # drift found, only reported
            sizes.append(len(await loop.history.drift_states()))
        states = await loop.history.drift_states()
        report = json.dumps((await loop.history.runs(1))[0].report)
        await loop.history.close()
    assert sizes[0] > 0 and sizes == [sizes[0]] * 5  # the same facts: the same rows, seen again
    assert {s.cycles for s in states} == {5}
    assert len(report) < 32 * 1024


def test_a_newer_schema_is_one_clear_line(tmp_path: Path) -> None:
    import pytest

    from orchestrator.state.store import StateDbError

    db = tmp_path / "state.db"
    sqlite_store(db).close_sync()  # type: ignore[attr-defined]
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO schema_version VALUES (99, 0)")
    conn.close()
    with pytest.raises(StateDbError) as error:
        sqlite_store(db)
    assert "written by a newer release (schema 99" in str(error.value)
