"""The embedded state store: one SQLite file (default ``.orchestrator/state.db``), the default.

Every call runs on a worker thread of the store's own (one at a time: one connection), so a
write that waits on another process's lock never stops the event loop; that wait is bounded
(``busy_timeout``, 30 s by default): SQLite's own busy handler waits up to a second at a time,
and the store tries again, logging once that the database is busy, until the bound, then
raises ``StateBusyError`` (one line). A lock held for 7 s by a backup or a stuck ``sqlite3``
shell is waited out; one held for ever ends the run cleanly instead of hanging it.

Journal: every operation is written *before* it is sent (``pending``), in a committed
transaction, so a crash or a SIGKILL at any point leaves a journal that says what may have
happened. Its end (``done`` or ``failed``) is buffered and committed in the same transaction
as the next operation's start (or when the run finishes, or the journal is read): one commit
per operation instead of two. WAL with ``synchronous=NORMAL``: a committed entry is in the OS
before the call is sent, so it survives the process being killed; only an OS crash or power
loss can drop the last entries (and then a re-plan converges all the same).

Migrations are versioned (``schema_version``): version 1 is the schema of the releases before
the store (created or completed as they did), version 2 adds the installation to every row,
drift kept as states, the fleet's tables; version 3 the status page's snapshot; version 5 the posts
memory (server ids of playbook items, uploads by content); version 6 operations in doubt (how
each was resolved). A database
from an older release is migrated when first opened; its rows, which name no installation,
are adopted by the installation that opens it when the lock files beside it show no other
installation used it (else they stay apart, listed by ``history --all-installations`` only).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from orchestrator.contract import Claim
from orchestrator.contract.vocabulary import OpStatus
from orchestrator.log import get_logger, redact_value
from orchestrator.plan import Change
from orchestrator.state.fleet import FleetMember, decide_round, reservation_of
from orchestrator.state.lock import RunLock, old_lock_tag, old_lock_tags
from orchestrator.state.snapshot import (
    WRITE_ACCOUNT,
    WRITE_BASE_URL,
    WRITE_CYCLE,
    WRITE_DESIRED,
    WRITE_RECURRING,
    AccountStatus,
    CycleStatus,
    status_write,
)
from orchestrator.state.store import (
    DEFAULT_BUSY_TIMEOUT,
    RESUMABLE,
    SCHEMA_VERSION,
    Backoff,
    BackoffPolicy,
    DriftRow,
    DriftState,
    InDoubt,
    Installation,
    Key,
    ObjectWrites,
    Objects,
    UploadWrites,
    PruneResult,
    Reservation,
    Resolution,
    RetentionPolicy,
    RunLockGrant,
    RunRecord,
    StateBusyError,
    StateDbError,
    UNSETTLED,
    account_field,
    applied_rows,
    claim_rows,
    compact_report,
    drift_key,
    drift_value,
    end_row,
    in_doubt_of,
    user_name,
    wanted_values,
)

log = get_logger("orchestrator.state")
T = TypeVar("T")

# -- migrations --------------------------------------------------------------------------------
# Version 1: the schema of the releases before the store, as they created it (IF NOT EXISTS,
# and the runs columns they added to still older files).
V1 = [
    """CREATE TABLE IF NOT EXISTS runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT, started REAL NOT NULL, finished REAL, command TEXT NOT NULL,
        playbook_hash TEXT, status TEXT NOT NULL, accounts TEXT NOT NULL, report TEXT)""",
    """CREATE TABLE IF NOT EXISTS operations (
        id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL REFERENCES runs(id), account_id INTEGER NOT NULL,
        kind TEXT NOT NULL, name TEXT NOT NULL, args TEXT NOT NULL, status TEXT NOT NULL, error TEXT,
        started REAL NOT NULL, finished REAL)""",
    "CREATE INDEX IF NOT EXISTS operations_run ON operations(run_id)",
    """CREATE TABLE IF NOT EXISTS drift (
        id INTEGER PRIMARY KEY AUTOINCREMENT, run_id INTEGER NOT NULL REFERENCES runs(id), at REAL NOT NULL,
        account_id INTEGER NOT NULL, username TEXT NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL,
        action TEXT NOT NULL, before TEXT, after TEXT, outcome TEXT NOT NULL, reason TEXT)""",
    """CREATE TABLE IF NOT EXISTS backoff (
        account_id INTEGER PRIMARY KEY, username TEXT NOT NULL, failures INTEGER NOT NULL, next_try REAL NOT NULL,
        last_error TEXT)""",
    """CREATE TABLE IF NOT EXISTS applied_values (
        account_id INTEGER NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL, value TEXT NOT NULL, run_id INTEGER,
        at REAL NOT NULL, PRIMARY KEY (account_id, kind, path))""",
    """CREATE TABLE IF NOT EXISTS known_accounts (
        username TEXT PRIMARY KEY, account_id INTEGER NOT NULL, seen REAL NOT NULL)""",
]
V1_RUN_COLUMNS = {"host": "TEXT", "user": "TEXT", "resumes": "INTEGER"}

# Version 2: the installation on every row; drift as states; the fleet's tables.
V2 = [
    "ALTER TABLE runs ADD COLUMN installation TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE runs ADD COLUMN shard TEXT",
    "CREATE INDEX runs_installation ON runs(installation, id)",
    "CREATE INDEX runs_resumes ON runs(resumes)",
    "ALTER TABLE operations ADD COLUMN installation TEXT NOT NULL DEFAULT ''",
    """CREATE TABLE applied_values_v2 (
        installation TEXT NOT NULL, account_id INTEGER NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL,
        value TEXT NOT NULL, run_id INTEGER, at REAL NOT NULL, PRIMARY KEY (installation, account_id, kind, path))""",
    "INSERT INTO applied_values_v2 SELECT '', account_id, kind, path, value, run_id, at FROM applied_values",
    "DROP TABLE applied_values",
    "ALTER TABLE applied_values_v2 RENAME TO applied_values",
    """CREATE TABLE known_accounts_v2 (
        installation TEXT NOT NULL, username TEXT NOT NULL, account_id INTEGER NOT NULL, seen REAL NOT NULL,
        PRIMARY KEY (installation, username))""",
    "INSERT INTO known_accounts_v2 SELECT '', username, account_id, seen FROM known_accounts",
    "DROP TABLE known_accounts",
    "ALTER TABLE known_accounts_v2 RENAME TO known_accounts",
    """CREATE TABLE backoff_v2 (
        installation TEXT NOT NULL, account_id INTEGER NOT NULL, username TEXT NOT NULL, failures INTEGER NOT NULL,
        next_try REAL NOT NULL, last_error TEXT, PRIMARY KEY (installation, account_id))""",
    "INSERT INTO backoff_v2 SELECT '', account_id, username, failures, next_try, last_error FROM backoff",
    "DROP TABLE backoff",
    "ALTER TABLE backoff_v2 RENAME TO backoff",
    """CREATE TABLE drift_states (
        id INTEGER PRIMARY KEY AUTOINCREMENT, installation TEXT NOT NULL, account_id INTEGER NOT NULL,
        username TEXT NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL, action TEXT NOT NULL, before TEXT,
        after TEXT, outcome TEXT NOT NULL, reason TEXT, shard TEXT, first_run INTEGER NOT NULL,
        last_run INTEGER NOT NULL, first_seen REAL NOT NULL, last_seen REAL NOT NULL, cycles INTEGER NOT NULL,
        open INTEGER NOT NULL)""",
    "CREATE INDEX drift_open ON drift_states(installation, open, account_id)",
    "CREATE INDEX drift_last ON drift_states(installation, last_run)",
    # The per-cycle rows of older releases, folded into states: one per distinct fact.
    """INSERT INTO drift_states (installation, account_id, username, kind, path, action, before, after, outcome,
                                 reason, shard, first_run, last_run, first_seen, last_seen, cycles, open)
       SELECT '', account_id, MAX(username), kind, path, action, before, after, outcome, reason, NULL, MIN(run_id),
              MAX(run_id), MIN(at), MAX(at), COUNT(DISTINCT run_id), 0
       FROM drift GROUP BY account_id, kind, path, action, before, after, outcome, reason""",
    "DROP TABLE drift",
    """CREATE TABLE fleet_members (
        installation TEXT NOT NULL, member TEXT NOT NULL, shard TEXT, joined REAL NOT NULL, expires REAL NOT NULL,
        PRIMARY KEY (installation, member))""",
    """CREATE TABLE fleet_rounds (
        installation TEXT NOT NULL, round TEXT NOT NULL, shards INTEGER NOT NULL, opened REAL NOT NULL,
        PRIMARY KEY (installation, round))""",
    """CREATE TABLE fleet_allowance (
        installation TEXT NOT NULL, round TEXT NOT NULL, rule TEXT NOT NULL, used INTEGER NOT NULL,
        allowed INTEGER NOT NULL, at REAL NOT NULL, PRIMARY KEY (installation, round, rule))""",
    """CREATE TABLE store_meta (
        installation TEXT NOT NULL, key TEXT NOT NULL, value TEXT, PRIMARY KEY (installation, key))""",
]
# Version 3: the status page's snapshot (orchestrator.state.snapshot), the installation on every
# row. Tables of the same names an unreleased build made without it are replaced: the next
# cycle writes them again.
V3 = [
    "DROP TABLE IF EXISTS status_accounts",
    "DROP TABLE IF EXISTS status_desired",
    "DROP TABLE IF EXISTS status_recurring",
    "DROP TABLE IF EXISTS status_cycles",
    """CREATE TABLE status_accounts (
        installation TEXT NOT NULL, account_id INTEGER NOT NULL, username TEXT NOT NULL, state TEXT NOT NULL,
        since REAL NOT NULL, run_id INTEGER NOT NULL, at REAL NOT NULL, kinds TEXT NOT NULL, groups TEXT NOT NULL,
        reasons TEXT NOT NULL, differences INTEGER NOT NULL, fixed INTEGER NOT NULL, notes TEXT NOT NULL,
        desired TEXT, PRIMARY KEY (installation, account_id))""",
    "CREATE INDEX status_accounts_state ON status_accounts(installation, state, username)",
    "CREATE INDEX status_accounts_username ON status_accounts(installation, username)",
    """CREATE TABLE status_desired (
        installation TEXT NOT NULL, digest TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (installation, digest))""",
    """CREATE TABLE status_recurring (
        installation TEXT NOT NULL, account_id INTEGER NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL,
        username TEXT NOT NULL, fixed_run INTEGER, came_back INTEGER NOT NULL, last_run INTEGER NOT NULL,
        last_at REAL NOT NULL, PRIMARY KEY (installation, account_id, kind, path))""",
    "CREATE INDEX status_recurring_top ON status_recurring(installation, came_back) WHERE came_back > 0",
    """CREATE TABLE status_cycles (
        installation TEXT NOT NULL, run_id INTEGER NOT NULL, at REAL NOT NULL, mode TEXT NOT NULL,
        result TEXT NOT NULL, counts TEXT, PRIMARY KEY (installation, run_id))""",
]
# Version 4: the window claims (see `StateStore.window_claims`).
V4 = [
    """CREATE TABLE IF NOT EXISTS window_claims (
        installation TEXT NOT NULL, account_id INTEGER NOT NULL, kind TEXT NOT NULL, path TEXT NOT NULL,
        entry TEXT NOT NULL, run_id INTEGER, at REAL NOT NULL, PRIMARY KEY (installation, account_id, kind, path))""",
]
# Version 5: which server object is which playbook item, and uploads by content (the posts
# memory), the installation in every key. Tables of the same names an unreleased build made
# without it are replaced: they are a cache, and losing them costs reads, never a second copy
# (a post's caption mark and an upload's name tell the server's).
V5 = [
    "DROP TABLE IF EXISTS server_objects",
    "DROP TABLE IF EXISTS uploads",
    """CREATE TABLE server_objects (
        installation TEXT NOT NULL, kind TEXT NOT NULL, account_id INTEGER NOT NULL, key TEXT NOT NULL,
        server_id INTEGER NOT NULL, at REAL NOT NULL, PRIMARY KEY (installation, kind, account_id, key))""",
    """CREATE TABLE uploads (
        installation TEXT NOT NULL, sha256 TEXT NOT NULL, media_id INTEGER NOT NULL, at REAL NOT NULL,
        PRIMARY KEY (installation, sha256))""",
]
# Version 6: operations in doubt. How one was resolved (``resolution``) and when (``resolved``);
# an index of the unsettled ones (pending, in doubt), which every apply reads before it plans.
V6 = [
    "ALTER TABLE operations ADD COLUMN resolution TEXT",
    "ALTER TABLE operations ADD COLUMN resolved REAL",
    "CREATE INDEX operations_unsettled ON operations(installation, status) WHERE status IN ('pending', 'in_doubt')",
]
TABLES_WITH_INSTALLATION = ("runs", "operations", "applied_values", "known_accounts", "backoff", "drift_states")
PRUNE_EVERY = 3600.0  # seconds between the automatic prunes of one installation
CHUNK = 500  # runs deleted per transaction: a first prune of a large file never holds the lock long


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


def _busy(exc: sqlite3.Error) -> bool:
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc)


class SqliteStore:
    """The SQLite implementation of ``orchestrator.state.store.StateStore``."""

    def __init__(self, path: str | Path, base_url: str, *, shard: str | None = None,
                 busy_timeout: float = DEFAULT_BUSY_TIMEOUT, retention: RetentionPolicy | None = None,
                 readonly: bool = False, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self.base_url = base_url
        self.installation = Installation.of(base_url)
        self.shard = shard
        self.shards = int(shard.split("/")[1]) if shard else None
        self.busy_timeout = busy_timeout
        self.retention = retention or RetentionPolicy()
        self.readonly = readonly
        self.clock = clock
        self._ends: list[tuple[str, str | None, float, int]] = []  # operation ends not yet committed
        self._limiter = anyio.CapacityLimiter(1)  # one call at a time on the one connection
        self.db = self._connect()

    # -- opening -------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        if not self.readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        target = f"file:{self.path}?mode=ro" if self.readonly else str(self.path)
        # SQLite's busy handler waits up to a second per try; the store's loop bounds the sum.
        db = sqlite3.connect(target, uri=self.readonly, isolation_level=None, check_same_thread=False,
                             timeout=min(1.0, self.busy_timeout))
        if not self.readonly:
            _use_wal(db)
            db.execute("PRAGMA synchronous=NORMAL")  # see the module docstring
        return db

    def open_sync(self) -> SqliteStore:
        """Migrate (when writable) and adopt older rows; then take and release the write lock,
        so that a read-only file fails here, before any request, not mid-run."""
        if self.readonly:
            return self
        self._migrate()
        self._adopt()
        self._retry(lambda: self._tx(lambda db: None, []), "check")
        return self

    def version(self) -> int:
        names = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "schema_version" not in names:
            return 1 if "runs" in names else 0
        return int(self.db.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0])

    def _migrate(self) -> None:
        """Bring the file to ``SCHEMA_VERSION``. Two processes may open it at once (an apply and
        ``history``, two shards): the check and the change are one write transaction, so
        whoever comes second finds the work done."""
        current = self._retry(self.version, "read")
        if current == SCHEMA_VERSION:
            return  # the usual case: nothing written, no write lock taken
        if current > SCHEMA_VERSION:
            raise StateDbError(self.path, f"it was written by a newer release (schema {current}, this one knows "
                                          f"{SCHEMA_VERSION})",
                               "upgrade the orchestrator, or use another state database")

        def migrate(db: sqlite3.Connection) -> None:
            version = self.version()
            if version >= SCHEMA_VERSION:
                return
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied REAL NOT NULL)")
            # Version 1, also completing the files of releases that created tables as they
            # were first needed (drift on the first reconcile, applied values on the first apply).
            if version < 2:
                for statement in V1:
                    db.execute(statement)
                have = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
                for name, sql_type in V1_RUN_COLUMNS.items():
                    if name not in have:
                        db.execute(f"ALTER TABLE runs ADD COLUMN {name} {sql_type}")
            if version < 2:
                if version < 1:
                    db.execute("INSERT INTO schema_version VALUES (1, ?)", (time.time(),))
                for statement in V2:
                    db.execute(statement)
                db.execute("INSERT INTO schema_version VALUES (2, ?)", (time.time(),))
            if version < 3:
                for statement in V3:
                    db.execute(statement)
                db.execute("INSERT INTO schema_version VALUES (3, ?)", (time.time(),))
            if version < 4:
                for statement in V4:
                    db.execute(statement)
                db.execute("INSERT INTO schema_version VALUES (4, ?)", (time.time(),))
            if version < 5:
                for statement in V5:
                    db.execute(statement)
                db.execute("INSERT INTO schema_version VALUES (5, ?)", (time.time(),))
            if version < 6:
                for statement in V6:
                    db.execute(statement)
                db.execute("INSERT INTO schema_version VALUES (6, ?)", (time.time(),))

        self._retry(lambda: self._tx(migrate, []), "migrate")

    def _adopt(self) -> None:
        """Rows of an older release name no installation: this one takes them when no other
        installation's lock file is beside the database (older releases made one per base URL)."""
        if self.db.execute("SELECT 1 FROM runs WHERE installation='' LIMIT 1").fetchone() is None and \
                self.db.execute("SELECT 1 FROM applied_values WHERE installation='' LIMIT 1").fetchone() is None:
            return
        tags = old_lock_tags(self.path)
        if not tags <= {old_lock_tag(self.installation.raw_url or self.base_url)}:
            log.warning("the state database holds runs of an older release for several installations: they stay "
                        "apart (history --all-installations lists them)", database=str(self.path))
            return

        def adopt(db: sqlite3.Connection) -> None:
            for table in TABLES_WITH_INSTALLATION:
                db.execute(f"UPDATE OR IGNORE {table} SET installation=? WHERE installation=''",  # noqa: S608
                           (self.installation.id,))
        self._retry(lambda: self._tx(adopt, []), "adopt")

    # -- the worker thread, the transactions, the busy loop ------------------------------------
    async def _call(self, fn: Callable[[], T]) -> T:
        return await anyio.to_thread.run_sync(fn, limiter=self._limiter)

    def _tx(self, fn: Callable[[sqlite3.Connection], T], ends: list[tuple[str, str | None, float, int]]) -> T:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if ends:
                self.db.executemany("UPDATE operations SET status=?, error=?, finished=? WHERE id=?", ends)
            result = fn(self.db)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return result

    def _retry(self, fn: Callable[[], T], what: str) -> T:
        """``fn``, tried again while another process holds the lock, for ``busy_timeout`` at most."""
        deadline = time.monotonic() + self.busy_timeout
        warned = False
        while True:
            try:
                return fn()
            except sqlite3.Error as exc:
                if _busy(exc) and time.monotonic() < deadline:
                    if not warned:
                        warned = True
                        log.warning("state database busy: another process holds its lock; waiting",
                                    database=str(self.path), up_to_seconds=self.busy_timeout, during=what)
                    continue
                if _busy(exc):
                    raise StateBusyError(
                        f"the state database {self.path} was locked by another process for more than "
                        f"{self.busy_timeout:.0f} s: what was journaled is kept; find what holds it (a backup, "
                        "an open sqlite3 shell), or raise SHARINGTOOLS_STATE_BUSY_TIMEOUT") from None
                raise StateDbError(self.path, _reason(exc)) from None
            except OSError as exc:
                raise StateDbError(self.path, _reason(exc)) from None

    async def _write(self, fn: Callable[[sqlite3.Connection], T], what: str = "write") -> T:
        ends, self._ends = self._ends, []  # taken on the loop's thread: op_finished appends there
        try:
            return await self._call(lambda: self._retry(lambda: self._tx(fn, ends), what))
        except BaseException:
            self._ends = ends + self._ends
            raise

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._call(lambda: self._retry(lambda: fn(self.db), "read"))

    async def close(self) -> None:
        with contextlib.suppress(StateBusyError, StateDbError):
            await self.flush()
        await self._call(self.db.close)

    def close_sync(self) -> None:
        if self._ends:
            with contextlib.suppress(StateBusyError, StateDbError):
                ends, self._ends = self._ends, []
                self._retry(lambda: self._tx(lambda db: None, ends), "flush")
        self.db.close()

    async def flush(self) -> None:
        """Commit the buffered operation ends."""
        if self._ends:
            await self._write(lambda db: None, "flush")

    # -- runs ------------------------------------------------------------------------------------
    async def start_run(self, command: str, playbook_hash: str | None, accounts: Sequence[int],
                        resumes: int | None = None) -> int:
        """A new run, with who ran it (host, user), its shard, and the run it resumes, if any."""
        import socket

        row = (self.installation.id, self.shard, self.clock(), command, playbook_hash, "running",
               json.dumps(sorted(set(accounts)), separators=(",", ":")), socket.gethostname(), user_name(), resumes)

        def insert(db: sqlite3.Connection) -> int:
            cur = db.execute("INSERT INTO runs (installation, shard, started, command, playbook_hash, status, accounts,"
                             " host, user, resumes) VALUES (?,?,?,?,?,?,?,?,?,?)", row)
            assert cur.lastrowid is not None  # an INSERT always sets it
            return cur.lastrowid
        return await self._write(insert)

    async def finish_run(self, run_id: int, status: str, report: Mapping[str, Any]) -> None:
        body = compact_report(report)
        await self._write(lambda db: db.execute(
            "UPDATE runs SET finished=?, status=?, report=? WHERE id=? AND installation=?",
            (self.clock(), str(status), body, run_id, self.installation.id)))
        await self.maybe_prune()

    _RUN_COLUMNS = ("id, started, finished, command, status, accounts, report, playbook_hash, host, user, resumes, "
                    "(SELECT MIN(r2.id) FROM runs r2 WHERE r2.resumes = runs.id), shard, installation")

    @staticmethod
    def _record(r: Sequence[Any]) -> RunRecord:
        return RunRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6]) if r[6] else None,
                         *r[7:])

    async def runs(self, limit: int = 20, *, every_installation: bool = False) -> list[RunRecord]:
        where, args = ("", ()) if every_installation else ("WHERE installation=?", (self.installation.id,))
        rows = await self._read(lambda db: db.execute(
            f"SELECT {self._RUN_COLUMNS} FROM runs {where} ORDER BY id DESC LIMIT ?",  # noqa: S608
            (*args, limit)).fetchall())
        return [self._record(r) for r in rows]

    async def run(self, run_id: int) -> RunRecord | None:
        """One run of this installation by id (``history show``), or None."""
        r = await self._read(lambda db: db.execute(
            f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id=? AND installation=?",  # noqa: S608
            (run_id, self.installation.id)).fetchone())
        return None if r is None else self._record(r)

    async def unfinished(self) -> RunRecord | None:
        """The newest run of this installation (and shard) if it never finished or was interrupted."""
        r = await self._read(lambda db: db.execute(
            f"SELECT {self._RUN_COLUMNS} FROM runs WHERE installation=? AND shard IS ? ORDER BY id DESC LIMIT 1",  # noqa: S608
            (self.installation.id, self.shard)).fetchone())
        if r is None:
            return None
        run = self._record(r)
        return run if run.status in RESUMABLE else None

    # -- the journal -----------------------------------------------------------------------------
    async def op_started(self, run_id: int, account_id: int, kind: str, name: str, args: Any) -> int:
        row = (self.installation.id, run_id, account_id, str(kind), str(name),
               json.dumps(redact_value(args), default=str), "pending", self.clock())

        def insert(db: sqlite3.Connection) -> int:
            cur = db.execute("INSERT INTO operations (installation, run_id, account_id, kind, name, args, status, "
                             "started) VALUES (?,?,?,?,?,?,?,?)", row)
            assert cur.lastrowid is not None
            return cur.lastrowid
        return await self._write(insert, "journal")

    def op_finished(self, op_id: int, error: str | None = None, status: OpStatus | None = None) -> None:
        """Record an operation's end; committed with the next write (see the module's docstring)."""
        self._ends.append(end_row(op_id, error, status, self.clock()))

    async def in_doubt(self) -> list[InDoubt]:
        """This installation's and shard's operations whose effect is unknown, oldest first."""
        await self.flush()
        rows = await self._read(lambda db: db.execute(
            "SELECT o.id, o.run_id, o.account_id, o.kind, o.name, o.args, o.status, COALESCE(o.finished, o.started), "
            "o.error FROM operations o JOIN runs r ON r.id = o.run_id WHERE o.installation=? AND o.status IN (?, ?) "
            "AND r.shard IS ? ORDER BY o.id", (self.installation.id, *UNSETTLED, self.shard)).fetchall())
        return [in_doubt_of(r) for r in rows]

    async def resolve(self, resolutions: Sequence[Resolution]) -> None:
        """Record what a run found of operations in doubt (see `Resolution`)."""
        if not resolutions:
            return
        at, inst = self.clock(), self.installation.id
        rows = [(str(r.status), redact_value(r.note), at, r.op_id, inst) for r in resolutions]
        await self._write(lambda db: db.executemany(
            "UPDATE operations SET status=?, resolution=?, resolved=? WHERE id=? AND installation=?",
            rows))

    async def operations(self, run_id: int) -> list[dict[str, Any]]:
        await self.flush()
        rows = await self._read(lambda db: db.execute(
            "SELECT id, account_id, kind, name, args, status, error FROM operations WHERE run_id=? AND installation=?"
            " ORDER BY id", (run_id, self.installation.id)).fetchall())
        return [{"id": r[0], "account_id": r[1], "kind": r[2], "name": r[3], "args": json.loads(r[4]),
                 "status": r[5], "error": r[6]} for r in rows]

    # -- applied values, known accounts ----------------------------------------------------------
    async def record_applied(self, changes: Iterable[Change], run_id: int | None = None) -> None:
        """Remember what these (applied and verified) changes set; removals forget the path."""
        changes = list(changes)
        rows, gone = applied_rows(changes, run_id, self.clock())
        if not rows and not gone:
            return
        claims = claim_rows(changes, run_id, self.clock())
        inst = self.installation.id

        def write(db: sqlite3.Connection) -> None:
            db.executemany("INSERT OR REPLACE INTO applied_values VALUES (?,?,?,?,?,?,?)", [(inst, *r) for r in rows])
            db.executemany("DELETE FROM applied_values WHERE installation=? AND account_id=? AND kind=? AND path=?",
                           [(inst, *g) for g in gone])
            db.executemany("INSERT OR REPLACE INTO window_claims VALUES (?,?,?,?,?,?,?)", [(inst, *c) for c in claims])
            db.executemany("DELETE FROM window_claims WHERE installation=? AND account_id=? AND kind=? AND path=?",
                           [(inst, *g) for g in gone])
        await self._write(write)

    async def window_claims(self) -> frozenset[Claim]:
        rows = await self._read(lambda db: db.execute(
            "SELECT account_id, kind, path, entry FROM window_claims WHERE installation=?",
            (self.installation.id,)).fetchall())
        return frozenset(Claim(*r) for r in rows)

    async def record_accounts(self, accounts: Iterable[Any]) -> None:
        """Remember the live accounts (``id`` and ``username``) an apply read."""
        now, inst = self.clock(), self.installation.id
        rows = [(inst, str(account_field(a, "username")).casefold(), int(account_field(a, "id")), now)
                for a in accounts]
        await self._write(lambda db: db.executemany("INSERT OR REPLACE INTO known_accounts VALUES (?,?,?,?)", rows))

    async def known_usernames(self) -> frozenset[str]:
        rows = await self._read(lambda db: db.execute(
            "SELECT username FROM known_accounts WHERE installation=?", (self.installation.id,)).fetchall())
        return frozenset(r[0] for r in rows)

    async def last_applied(self, account_id: int, kind: str, path: str) -> object | None:
        row = await self._read(lambda db: db.execute(
            "SELECT value FROM applied_values WHERE installation=? AND account_id=? AND kind=? AND path=?",
            (self.installation.id, account_id, str(kind), path)).fetchone())
        return json.loads(row[0]) if row else None

    async def applied_drift(self, changes: Iterable[Change]) -> frozenset[Key]:
        """The changes that undo drift: the plan wants again what the last apply set."""
        wanted = wanted_values(changes)
        if not wanted:
            return frozenset()
        rows = await self._read(lambda db: db.execute(
            "SELECT account_id, kind, path, value FROM applied_values WHERE installation=?",
            (self.installation.id,)).fetchall())
        return frozenset((a, k, p) for a, k, p, v in rows if wanted.get((a, k, p)) == v)

    # -- the posts memory ------------------------------------------------------------------------
    async def remembered(self) -> tuple[Objects, dict[str, int]]:
        """Which server object is which playbook item, and uploads by content, of this installation."""
        inst = self.installation.id

        def read(db: sqlite3.Connection) -> tuple[Objects, dict[str, int]]:
            objects = {(k, int(a), key): int(s) for k, a, key, s in db.execute(
                "SELECT kind, account_id, key, server_id FROM server_objects WHERE installation=?", (inst,))}
            uploads = {sha: int(m) for sha, m in db.execute(
                "SELECT sha256, media_id FROM uploads WHERE installation=?", (inst,))}
            return objects, uploads
        return await self._read(read)

    async def save_identities(self, objects: ObjectWrites, uploads: UploadWrites) -> None:
        """Remember (an id) or forget (None) these entries, in one transaction."""
        if not objects and not uploads:
            return
        now, inst = self.clock(), self.installation.id

        def write(db: sqlite3.Connection) -> None:
            db.executemany("INSERT OR REPLACE INTO server_objects VALUES (?,?,?,?,?,?)",
                           [(inst, str(k), a, key, s, now) for (k, a, key), s in objects.items() if s is not None])
            db.executemany("DELETE FROM server_objects WHERE installation=? AND kind=? AND account_id=? AND key=?",
                           [(inst, str(k), a, key) for (k, a, key), s in objects.items() if s is None])
            db.executemany("INSERT OR REPLACE INTO uploads VALUES (?,?,?,?)",
                           [(inst, sha, m, now) for sha, m in uploads.items() if m is not None])
            db.executemany("DELETE FROM uploads WHERE installation=? AND sha256=?",
                           [(inst, sha) for sha, m in uploads.items() if m is None])
        await self._write(write)

    # -- drift -----------------------------------------------------------------------------------
    async def record_drift(self, run_id: int, rows: Sequence[DriftRow], read: Collection[int],
                           now: float | None = None) -> None:
        """What one cycle found, as changes of state: a fact seen again as it was only moves its
        ``last_seen`` (and count); a new or changed fact opens a state (closing the old one); an
        open fact of an account the cycle read and found in sync is closed."""
        at = self.clock() if now is None else now
        inst = self.installation.id
        accounts = set(read) | {r.account_id for r in rows}

        def write(db: sqlite3.Connection) -> None:
            open_states: dict[tuple[int, str, str], tuple[int, tuple[Any, ...]]] = {}
            for sid, account_id, kind, path, action, before, after, outcome, reason in db.execute(
                    "SELECT id, account_id, kind, path, action, before, after, outcome, reason FROM drift_states"
                    " WHERE installation=? AND open=1", (inst,)):
                if account_id in accounts:
                    open_states[(account_id, kind, path)] = (sid, (action, before, after, outcome, reason))
            seen, bump, close, new = set(), [], [], []
            for row in rows:
                key, value = drift_key(row), drift_value(row)
                if key in seen:
                    continue
                seen.add(key)
                state = open_states.get(key)
                if state is not None and state[1] == value:
                    bump.append((run_id, at, row.username, self.shard, state[0]))
                    continue
                if state is not None:
                    close.append((state[0],))
                new.append((inst, row.account_id, row.username, row.kind, row.path, *value, self.shard, run_id,
                            run_id, at, at, 1, 1))
            close += [(sid,) for key, (sid, _) in open_states.items() if key not in seen and key[0] in read]
            db.executemany("UPDATE drift_states SET last_run=?, last_seen=?, cycles=cycles+1, username=?, shard=?"
                           " WHERE id=?", bump)
            db.executemany("UPDATE drift_states SET open=0 WHERE id=?", close)
            db.executemany("INSERT INTO drift_states (installation, account_id, username, kind, path, action, before,"
                           " after, outcome, reason, shard, first_run, last_run, first_seen, last_seen, cycles, open)"
                           " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", new)
        await self._write(write)

    async def drift_of_run(self, run_id: int) -> list[DriftRow]:
        """What the cycle ``run_id`` found: the states that held during it (of its shard)."""
        run = await self.run(run_id)
        if run is None or not run.command.startswith("reconcile"):
            return []
        rows = await self._read(lambda db: db.execute(
            "SELECT account_id, username, kind, path, action, before, after, outcome, reason FROM drift_states"
            " WHERE installation=? AND first_run<=? AND last_run>=? AND shard IS ? ORDER BY username, kind, path",
            (self.installation.id, run_id, run_id, run.shard)).fetchall())
        return [DriftRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]) if r[5] else None,
                         json.loads(r[6]) if r[6] else None, r[7], r[8]) for r in rows]

    async def drift_states(self, *, open_only: bool = False) -> list[DriftState]:
        rows = await self._read(lambda db: db.execute(
            "SELECT account_id, username, kind, path, action, before, after, outcome, reason, first_run, last_run,"
            " first_seen, last_seen, cycles, open, shard FROM drift_states WHERE installation=?"
            + (" AND open=1" if open_only else "") + " ORDER BY id", (self.installation.id,)).fetchall())
        return [DriftState(DriftRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]) if r[5] else None,
                                    json.loads(r[6]) if r[6] else None, r[7], r[8]),
                           r[9], r[10], r[11], r[12], r[13], bool(r[14]), r[15]) for r in rows]

    async def hot_spots(self, limit: int = 10, min_cycles: int = 2, recent: int = 50) -> list[dict[str, Any]]:
        """What keeps drifting: (account, kind, path) by the number of cycles it drifted in
        (``min_cycles`` at least: a first apply is not drift that comes back) among the last
        ``recent`` cycles, blocked items apart (they wait on a person)."""
        inst = self.installation.id

        def query(db: sqlite3.Connection) -> list[Any]:
            since = db.execute("SELECT id FROM runs WHERE installation=? AND command LIKE 'reconcile%'"
                               " ORDER BY id DESC LIMIT 1 OFFSET ?", (inst, recent - 1)).fetchone()
            return db.execute(
                "SELECT username, kind, path, SUM(cycles) AS n, MAX(last_seen) FROM drift_states"
                " WHERE installation=? AND outcome != 'blocked' AND last_run >= ?"
                " GROUP BY account_id, kind, path HAVING n >= ? ORDER BY n DESC, username, kind, path LIMIT ?",
                (inst, since[0] if since else 0, min_cycles, limit)).fetchall()
        rows = await self._read(query)
        return [{"username": r[0], "kind": r[1], "path": r[2], "cycles": r[3], "last": r[4]} for r in rows]

    # -- backoff ---------------------------------------------------------------------------------
    async def backoffs(self) -> dict[int, Backoff]:
        rows = await self._read(lambda db: db.execute(
            "SELECT account_id, username, failures, next_try, last_error FROM backoff WHERE installation=?",
            (self.installation.id,)).fetchall())
        return {r[0]: Backoff(*r) for r in rows}

    async def backoff_failed(self, account_id: int, username: str, error: str, policy: BackoffPolicy,
                             now: float | None = None) -> Backoff:
        """One more failure for ``account_id``: its next try moves out exponentially."""
        at = self.clock() if now is None else now
        inst = self.installation.id

        def write(db: sqlite3.Connection) -> Backoff:
            row = db.execute("SELECT failures FROM backoff WHERE installation=? AND account_id=?",
                             (inst, account_id)).fetchone()
            failures = (row[0] if row else 0) + 1
            entry = Backoff(account_id, username, failures, at + policy.delay(failures), redact_value(error))
            db.execute("INSERT OR REPLACE INTO backoff VALUES (?,?,?,?,?,?)",
                       (inst, entry.account_id, entry.username, entry.failures, entry.next_try, entry.last_error))
            return entry
        return await self._write(write)

    async def backoff_forget(self, account_ids: Iterable[int]) -> None:
        ids = [(self.installation.id, a) for a in account_ids]
        if ids:
            await self._write(lambda db: db.executemany(
                "DELETE FROM backoff WHERE installation=? AND account_id=?", ids))

    # -- the status page's snapshot -----------------------------------------------------------------
    async def record_status(self, cycle: CycleStatus, accounts: Sequence[AccountStatus] | None,
                            drift: Iterable[DriftRow] = ()) -> None:
        """One cycle's status rows (``orchestrator.state.snapshot``), in one transaction."""
        rows = status_write(self.installation.id, self.installation.url, cycle, accounts, drift)

        def write(db: sqlite3.Connection) -> None:
            db.execute(WRITE_CYCLE, rows.cycle)
            db.execute(WRITE_BASE_URL, rows.base_url)
            db.executemany(WRITE_RECURRING, rows.recurring)
            if rows.fleet:
                db.executemany(WRITE_DESIRED, rows.desired)
                db.executemany(WRITE_ACCOUNT, rows.accounts)
                for sql, args in rows.deletes():
                    db.execute(sql, args)
        await self._write(write, "status")

    # -- the lock --------------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def lock(self, command: str) -> AsyncIterator[RunLockGrant]:
        """The run lock (``orchestrator.state.lock``): ``LockHeld`` at once when another live
        process holds it; the grant names a dead holder it took over from."""
        lock = RunLock(self.path, self.base_url, command, self.shard)
        me = lock.acquire()
        try:
            yield RunLockGrant(me, lock.previous)
        finally:
            lock.release()

    # -- the fleet -------------------------------------------------------------------------------
    async def reserve(self, shards: int, amounts: Mapping[str, int], limits: Mapping[str, int], *,
                      round_id: str | None = None, window: float = 600.0) -> Reservation:
        """Reserve ``amounts`` (per policy rule) of the fleet's ``limits`` for this shard, all or
        none, in one transaction: the shards of one round together never pass a limit."""
        inst, now = self.installation.id, time.time()

        def write(db: sqlite3.Connection) -> Reservation:
            latest = db.execute("SELECT round, opened FROM fleet_rounds WHERE installation=? AND shards=?"
                                " ORDER BY opened DESC LIMIT 1", (inst, shards)).fetchone()
            name, opened = decide_round(round_id, latest, shards, now, window)
            if opened:
                db.execute("INSERT OR IGNORE INTO fleet_rounds VALUES (?,?,?,?)", (inst, name, shards, now))
            used = {rule: row[0] for rule, *row in db.execute(
                "SELECT rule, used FROM fleet_allowance WHERE installation=? AND round=?", (inst, name))}
            answer = reservation_of(name, amounts, limits, used)
            if answer.granted:
                for rule, amount in amounts.items():
                    db.execute("INSERT INTO fleet_allowance VALUES (?,?,?,?,?,?) ON CONFLICT (installation, round, "
                               "rule) DO UPDATE SET used = used + excluded.used, at = excluded.at",
                               (inst, name, rule, amount, limits.get(rule, 0), now))
            return answer
        return await self._write(write, "reserve")

    def fleet_member(self, rate: float, concurrency: int,
                     on_share: Any) -> contextlib.AbstractAsyncContextManager[None]:
        """This process as a live member of the fleet for the ``with`` block: ``on_share`` is
        told its share of ``rate`` and ``concurrency`` now and whenever the live members change."""
        return FleetMember(self, rate, concurrency, on_share).run()

    async def fleet_join(self, member: str, ttl: float) -> None:
        now = time.time()
        await self._write(lambda db: db.execute("INSERT OR REPLACE INTO fleet_members VALUES (?,?,?,?,?)",
                                                (self.installation.id, member, self.shard, now, now + ttl)))

    async def fleet_beat(self, member: str, ttl: float) -> int:
        """Renew ``member``'s lease; how many members are live (this one included)."""
        inst = self.installation.id

        def write(db: sqlite3.Connection) -> int:
            now = time.time()
            db.execute("UPDATE fleet_members SET expires=? WHERE installation=? AND member=?",
                       (now + ttl, inst, member))
            return int(db.execute("SELECT COUNT(*) FROM fleet_members WHERE installation=? AND expires>?",
                                  (inst, now)).fetchone()[0])
        return await self._write(write, "heartbeat")

    async def fleet_leave(self, member: str) -> None:
        await self._write(lambda db: db.execute("DELETE FROM fleet_members WHERE installation=? AND member=?",
                                                (self.installation.id, member)))

    # -- retention -------------------------------------------------------------------------------
    async def prune(self, policy: RetentionPolicy | None = None, *, now: float | None = None) -> PruneResult:
        """Delete what ``policy`` no longer keeps (see ``RetentionPolicy``), a chunk of runs per
        transaction, so a first prune of a large file never holds the lock for long."""
        policy = policy or self.retention
        at = self.clock() if now is None else now
        cutoff, inst = at - policy.older_than, self.installation.id

        def doomed(db: sqlite3.Connection) -> list[int]:
            newest = db.execute("SELECT MAX(id) FROM runs WHERE installation=?", (inst,)).fetchone()[0]
            kept = db.execute("SELECT id FROM runs WHERE installation=? ORDER BY id DESC LIMIT 1 OFFSET ?",
                              (inst, max(0, policy.keep - 1))).fetchone()
            floor = kept[0] if kept else 0
            return [r[0] for r in db.execute(
                "SELECT id FROM runs WHERE installation=? AND id != ? AND (started < ? OR id < ?) ORDER BY id LIMIT ?",
                (inst, newest or 0, cutoff, floor, CHUNK))]

        runs = operations = 0
        while True:
            ids = await self._read(doomed)
            if not ids:
                break
            marks = ",".join("?" * len(ids))

            def delete(db: sqlite3.Connection, ids: list[int] = ids, marks: str = marks) -> int:
                n = db.execute(f"DELETE FROM operations WHERE run_id IN ({marks})", ids).rowcount  # noqa: S608
                db.execute(f"DELETE FROM runs WHERE id IN ({marks})", ids)  # noqa: S608
                return n
            operations += await self._write(delete, "prune")
            runs += len(ids)

        def rest(db: sqlite3.Connection) -> int:
            n = db.execute("DELETE FROM drift_states WHERE installation=? AND last_seen < ?", (inst, cutoff)).rowcount
            db.execute("DELETE FROM fleet_rounds WHERE installation=? AND opened < ?", (inst, at - 86400))
            db.execute("DELETE FROM status_cycles WHERE installation=? AND at < ?", (inst, cutoff))
            db.execute("DELETE FROM status_recurring WHERE installation=? AND last_at < ?", (inst, cutoff))
            db.execute("DELETE FROM fleet_allowance WHERE installation=? AND at < ?", (inst, at - 86400))
            db.execute("DELETE FROM fleet_members WHERE installation=? AND expires < ?", (inst, at - 3600))
            db.execute("INSERT OR REPLACE INTO store_meta VALUES (?, 'last_prune', ?)", (inst, str(at)))
            return int(n)
        drift = await self._write(rest, "prune")
        return PruneResult(runs, operations, drift)

    async def maybe_prune(self, policy: RetentionPolicy | None = None) -> PruneResult | None:
        """``prune`` when this installation was last pruned more than an hour ago."""
        row = await self._read(lambda db: db.execute(
            "SELECT value FROM store_meta WHERE installation=? AND key='last_prune'",
            (self.installation.id,)).fetchone())
        if row is not None and self.clock() - float(row[0]) < PRUNE_EVERY:
            return None
        return await self.prune(policy)

    # -- for tests and benchmarks -----------------------------------------------------------------
    def member_id(self) -> str:
        return uuid.uuid4().hex

