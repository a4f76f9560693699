"""``orchestrator history``: when each run started, how long it took, who ran it (user@host),
the playbook hash, how it ended, and which run resumed which; older databases gain the new
columns when opened, also by two openers at once."""

from __future__ import annotations

import socket
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from typer.testing import CliRunner

from orchestrator.cli.app import app
from orchestrator.state.db import open_sqlite
from orchestrator.state.sqlite import V1_RUN_COLUMNS
from tests.harness.stores import TEST_URL, SyncStore

WAIT = 30.0  # seconds: the bound of every wait on a thread (a hang fails, it never blocks the suite)


def test_history_lines_say_when_who_what_and_the_resume_links(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with SyncStore(db) as history:
        first = history.start_run("apply", "sha256:" + "ab" * 32, [1, 2])
        history.finish_run(first, "interrupted", {"message": "interrupted: in-flight calls finished, the journal "
                                                             "is written; run apply --resume", "plan": {"total": 7}})
        second = history.start_run("apply", "sha256:" + "ab" * 32, [2], resumes=first)
        history.finish_run(second, "succeeded", {"message": "applied and verified", "plan": {"total": 3}})
    result = CliRunner().invoke(app, ["history", "--state-db", str(db)], env={"SHARINGTOOLS_BASE_URL": TEST_URL})
    assert result.exit_code == 0, result.output
    newest, oldest = result.stdout.strip().splitlines()
    host = socket.gethostname()
    assert newest.startswith(f"#{second} apply succeeded 20")
    assert f"@{host}" in newest and "playbooks sha256:abababab" in newest and "changes=3 accounts=1" in newest
    assert f"(resumes #{first})" in newest and newest.endswith("applied and verified")
    assert oldest.startswith(f"#{first} apply interrupted 20") and "s) by " in oldest
    assert oldest.endswith(f"the journal is written; resumed by #{second}") and "run apply --resume" not in oldest
    # another installation's history is its own
    other = CliRunner().invoke(app, ["history", "--state-db", str(db)],
                               env={"SHARINGTOOLS_BASE_URL": "https://other.example/api/v1"})
    assert other.exit_code == 0 and other.stdout.strip() == "", other.output


def _old_database(db: Path) -> None:
    """A state database as the first releases wrote it: WAL, and ``runs`` without the later columns."""
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, started REAL NOT NULL, finished REAL, "
                     "command TEXT NOT NULL, playbook_hash TEXT, status TEXT NOT NULL, accounts TEXT NOT NULL, "
                     "report TEXT)")
        conn.execute("INSERT INTO runs (started, command, status, accounts) VALUES (1.0, 'apply', 'running', '[]')")
    conn.close()


def test_an_older_database_gains_the_new_columns(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    _old_database(db)
    with SyncStore(db) as history:
        (old,) = history.runs()
        assert (old.host, old.user, old.resumes, old.duration) == (None, None, None, None)
        new = history.start_run("apply", None, [])
        assert history.runs(1)[0].id == new and history.runs(1)[0].host == socket.gethostname()


def _open_at_once(openers: list[Callable[[], object]]) -> list[BaseException]:
    """Run every opener on its own thread (each its own connection), started together; what
    each raised. Bounded: a thread still running after ``WAIT`` fails the test."""
    start = threading.Barrier(len(openers), timeout=WAIT)
    failures: list[BaseException] = []

    def open_one(opener: Callable[[], object]) -> None:
        start.wait()
        try:
            opener().close_sync()  # type: ignore[attr-defined]
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    threads = [threading.Thread(target=open_one, args=(o,), name=f"opener-{i}") for i, o in enumerate(openers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=WAIT)
    assert not any(t.is_alive() for t in threads), "an opener hangs"
    return failures


def _schema_of(db: Path) -> tuple[str, set[str], set[str]]:
    with sqlite3.connect(db) as conn:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        columns = {row[1] for row in conn.execute("PRAGMA table_info(runs)")}
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    return mode, columns, names


@pytest.mark.parametrize("old", [True, False], ids=["older database", "new file"])
def test_openers_that_all_see_an_old_schema_all_succeed(tmp_path: Path, old: bool) -> None:
    """Several processes opening a file that needs migrating together (an apply and
    ``history``, two shards): the migration is one write transaction that checks the version
    inside it, so whoever comes second finds it done (never "duplicate column name")."""
    for round_ in range(10):
        db = tmp_path / f"state{round_}.db"
        if old:
            _old_database(db)
        assert _open_at_once([lambda db=db: open_sqlite(db, TEST_URL) for _ in range(4)]) == [], round_
        mode, columns, names = _schema_of(db)
        assert mode == "wal" and set(V1_RUN_COLUMNS) | {"installation", "shard"} <= columns
        assert {"runs", "operations", "schema_version", "drift_states"} <= names
        with SyncStore(db) as history:
            assert [r.status for r in history.runs()] == (["running"] if old else [])
            new = history.start_run("apply", None, [1])
            assert history.runs(1)[0].id == new and history.runs(1)[0].host == socket.gethostname()
