"""Run history and the operation journal, in SQLite (default ``.orchestrator/state.db``).

Every operation is written *before* it is sent (``pending``), in a committed transaction, so
a crash or a SIGKILL at any point leaves a journal that says what may have happened. Its end
(``done`` or ``failed``) is buffered and committed in the same transaction as the next
operation's start (or when the run finishes, or the journal is read): one commit per
operation instead of two. An end lost to a SIGKILL leaves its operation ``pending`` (outcome
unknown), which is what the journal says of any operation in flight: ``apply --resume``
re-reads the accounts of the last unfinished run and finishes only what is still needed.
Nothing secret is stored: the operation arguments hold no password or key (kinds keep secrets
as references), and every text passes through the redaction of ``orchestrator.log`` before it
is written.
"""

from __future__ import annotations

import getpass
import json
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.log import redact_value

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started REAL NOT NULL,
    finished REAL,
    command TEXT NOT NULL,
    playbook_hash TEXT,
    status TEXT NOT NULL,          -- running | succeeded | partial | failed | blocked | interrupted
    accounts TEXT NOT NULL,        -- JSON list of account ids the run may touch
    report TEXT                    -- JSON run report
);
CREATE TABLE IF NOT EXISTS operations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    account_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    args TEXT NOT NULL,
    status TEXT NOT NULL,          -- pending | done | failed
    error TEXT,
    started REAL NOT NULL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS operations_run ON operations(run_id);
"""
# Columns added since the first schema: added to an older database when it is opened.
RUN_COLUMNS = {"host": "TEXT", "user": "TEXT", "resumes": "INTEGER"}
SCHEMA_OBJECTS = {"runs", "operations", "operations_run"}


@dataclass(frozen=True)
class RunRecord:
    id: int
    started: float
    finished: float | None
    command: str
    status: str
    accounts: list[int]
    report: dict[str, Any] | None
    playbook_hash: str | None = None
    host: str | None = None
    user: str | None = None
    resumes: int | None = None  # the run this one resumed
    resumed_by: int | None = None  # the run that resumed this one

    @property
    def duration(self) -> float | None:
        return None if self.finished is None else self.finished - self.started


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container's arbitrary uid)
        return None


def _use_wal(db: sqlite3.Connection, within: float = 5.0) -> None:
    """Put the database in WAL mode (a no-op once it is: the mode is kept in the file).

    Switching takes an exclusive lock, and SQLite refuses it at once, without waiting out its
    busy timeout, to a connection that loses the race for it (two processes opening a new
    database together): the loser tries again, for ``within`` seconds at most, and then finds
    the file switched by the winner."""
    deadline = time.monotonic() + within
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


class History:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        _use_wal(self.db)
        # WAL with synchronous=NORMAL: a committed entry is in the OS before the call is sent, so
        # it survives the process being killed at any point; only an OS crash or power loss can
        # drop the last entries (and then a re-plan converges all the same). FULL would fsync
        # twice per operation on the event loop, about 4 ms each, capping apply near 125 ops/s.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._ends: list[tuple[str, str | None, float, int]] = []  # operation ends not yet committed
        self._create_or_migrate()

    def _create_or_migrate(self) -> None:
        """Create the tables, or add the columns an older database lacks.

        Two processes may open the same database at once (an apply and ``history``, two
        shards): both would see a column missing and the second ``ALTER TABLE`` would fail with
        "duplicate column name". So the check and the change are one write transaction
        (``BEGIN IMMEDIATE`` waits for the other's): whoever comes second finds the columns
        there. Statements run one by one, since ``executescript`` would commit the transaction."""
        if self._current():
            return  # the usual case: nothing to write, no write lock taken (a read-only copy opens)
        with self._tx() as db:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            have = self._run_columns()
            for name, sql_type in RUN_COLUMNS.items():
                if name not in have:
                    db.execute(f"ALTER TABLE runs ADD COLUMN {name} {sql_type}")

    def _current(self) -> bool:
        """Whether every table, index and column of the schema is there."""
        names = {row[0] for row in self.db.execute("SELECT name FROM sqlite_master")}
        return names >= SCHEMA_OBJECTS and self._run_columns() >= RUN_COLUMNS.keys()

    def _run_columns(self) -> set[str]:
        return {row[1] for row in self.db.execute("PRAGMA table_info(runs)")}

    def close(self) -> None:
        self.flush()
        self.db.close()

    def flush(self) -> None:
        """Commit the buffered operation ends."""
        if self._ends:
            with self._tx():
                pass

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        ends, self._ends = self._ends, []
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if ends:
                self.db.executemany("UPDATE operations SET status=?, error=?, finished=? WHERE id=?", ends)
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            self._ends = ends + self._ends
            raise
        self.db.execute("COMMIT")

    # -- runs ----------------------------------------------------------------------------------
    def start_run(self, command: str, playbook_hash: str | None, accounts: list[int],
                  resumes: int | None = None) -> int:
        """A new run, with who ran it (host, user) and the run it resumes, if any."""
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO runs (started, command, playbook_hash, status, accounts, host, user, resumes) "
                "VALUES (?,?,?,?,?,?,?,?)",
                (time.time(), command, playbook_hash, "running", json.dumps(sorted(set(accounts))),
                 socket.gethostname(), _user(), resumes),
            )
        assert cur.lastrowid is not None  # an INSERT always sets it
        return cur.lastrowid

    def finish_run(self, run_id: int, status: str, report: dict[str, Any]) -> None:
        with self._tx() as db:
            db.execute("UPDATE runs SET finished=?, status=?, report=? WHERE id=?",
                       (time.time(), status, json.dumps(redact_value(report), default=str), run_id))

    def runs(self, limit: int = 20) -> list[RunRecord]:
        rows = self.db.execute(
            "SELECT id, started, finished, command, status, accounts, report, playbook_hash, host, user, resumes, "
            "(SELECT MIN(r2.id) FROM runs r2 WHERE r2.resumes = runs.id) FROM runs ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [RunRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6]) if r[6] else None,
                          *r[7:]) for r in rows]

    def run(self, run_id: int) -> RunRecord | None:
        """One run by id (``history show``), or None."""
        r = self.db.execute(
            "SELECT id, started, finished, command, status, accounts, report FROM runs WHERE id=?", (run_id,)
        ).fetchone()
        if r is None:
            return None
        return RunRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6]) if r[6] else None)

    def unfinished(self) -> RunRecord | None:
        """The newest run that never finished (killed) or was interrupted, if it is the newest run."""
        latest = self.runs(1)
        if latest and latest[0].status in ("running", "interrupted", "partial"):
            return latest[0]
        return None

    # -- operations ----------------------------------------------------------------------------
    def op_started(self, run_id: int, account_id: int, kind: str, name: str, args: Any) -> int:
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO operations (run_id, account_id, kind, name, args, status, started) VALUES (?,?,?,?,?,?,?)",
                (run_id, account_id, kind, name, json.dumps(redact_value(args), default=str), "pending", time.time()),
            )
        assert cur.lastrowid is not None  # an INSERT always sets it
        return cur.lastrowid

    def op_finished(self, op_id: int, error: str | None = None) -> None:
        """Record an operation's end; committed with the next write (see the module's docstring)."""
        self._ends.append(("failed" if error else "done", redact_value(error) if error else None, time.time(), op_id))

    def operations(self, run_id: int) -> list[dict[str, Any]]:
        self.flush()
        rows = self.db.execute(
            "SELECT id, account_id, kind, name, args, status, error FROM operations WHERE run_id=? ORDER BY id",
            (run_id,),
        ).fetchall()
        return [{"id": r[0], "account_id": r[1], "kind": r[2], "name": r[3], "args": json.loads(r[4]),
                 "status": r[5], "error": r[6]} for r in rows]
