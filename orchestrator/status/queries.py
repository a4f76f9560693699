"""Every read the status page makes of the state store, and nothing else: small functions
returning plain dataclasses, over either backend (chosen by the URL, as ``state.db`` does).

The state store's schema (``orchestrator.state.sqlite``, ``orchestrator.state.postgres``,
version 3): the snapshot tables a reconcile cycle writes through ``StateStore.record_status``
(``orchestrator.state.snapshot``), the runs, the journal, ``drift_states`` and
``known_accounts``, every row with its installation. Every read is of one installation: the
one of ``--base-url`` (or the settings' base URL), else the only one the database holds; a
database shared by several installations and none named is a ``StatusInstallationError``
saying which there are.

Reads are read-only: a ``mode=ro`` SQLite connection per serving thread, or a small pool of
read-only PostgreSQL connections; each page's reads run in one read transaction (SQLite's,
PostgreSQL's ``REPEATABLE READ``), so a cycle that commits in between never shows half on one
page. A database older than the snapshot (or that no reconcile has written yet) reads as an
empty fleet, not an error. The page can never write the database a loop or an apply writes.

What the page needs of 10,000 accounts is done by the database, not Python: filters, counts,
sort and the page itself (``LIMIT``/``OFFSET``), and a run's changes are grouped by ``GROUP BY``
(a first cycle at that size has tens of thousands of drift facts). The SQL is one text for
both backends (``?`` placeholders); the few functions that differ are `Dialect`'s.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from orchestrator.contract.vocabulary import AccountState
from orchestrator.state.store import (
    SCHEMA_VERSION,
    Installation,
    StateStoreError,
    is_postgres_url,
    mask_url,
    register_url_secret,
)

T = TypeVar("T")

#: Most in need of a person first: the order of the front page and of ``sort=state``.
STATE_ORDER: tuple[AccountState, ...] = (
    AccountState.FAILED, AccountState.BACKED_OFF, AccountState.BLOCKED, AccountState.DRIFTED,
    AccountState.NOT_SEEN, AccountState.IN_SYNC, AccountState.UNMANAGED)
_STATE_RANK = "CASE state " + " ".join(f"WHEN '{s.value}' THEN {i}" for i, s in enumerate(STATE_ORDER)) + " END"
#: ``sort=`` names and their SQL (a unique tie-break keeps pages stable).
SORTS: dict[str, str] = {
    "username": "username", "state": _STATE_RANK, "since": "since", "differences": "differences",
    "id": "account_id",
}

RUNS_KEPT = 8  # finished runs whose grouped changes are kept in memory (a few MB at most)

# The fleet: every account a cycle judged, and those on the account list no cycle judged yet
# (``known_accounts``, written by every apply's account read, reconcile's too). Its
# placeholders are the installation's (``_FLEET_ARGS`` of them, before a query's own).
_FLEET = """
WITH fleet AS (
    SELECT account_id, username, state, since, run_id, at, kinds, groups, reasons, differences, fixed, notes
    FROM status_accounts WHERE installation = ?
    {not_seen}
)"""
_NOT_SEEN = """
    UNION ALL
    SELECT k.account_id, k.username, 'not_seen', k.seen, NULL, NULL, ',', ',', ',', 0, 0, '[]'
    -- one row per id: a renamed account keeps its old name's row too; the newest name stands
    FROM known_accounts k
    WHERE k.installation = ?
      AND NOT EXISTS (SELECT 1 FROM known_accounts n WHERE n.installation = k.installation
                      AND n.account_id = k.account_id AND n.seen > k.seen)
      AND NOT EXISTS (SELECT 1 FROM status_accounts s WHERE s.installation = k.installation
                      AND s.account_id = k.account_id)"""
_COLUMNS = "account_id, username, state, since, run_id, at, kinds, groups, reasons, differences, fixed, notes"


@dataclass(frozen=True)
class AccountFilter:
    """What the accounts table shows: validated by ``orchestrator.status.params``."""

    state: str | None = None
    kind: str | None = None
    group: str | None = None
    reason: str | None = None
    q: str | None = None
    sort: str = "username"
    descending: bool = False
    page: int = 1
    per_page: int = 50


@dataclass(frozen=True)
class Note:
    kind: str
    reason: str
    message: str


@dataclass(frozen=True)
class AccountRow:
    account_id: int
    username: str
    state: str
    since: float
    run_id: int | None
    at: float | None
    kinds: tuple[str, ...]
    groups: tuple[str, ...]
    reasons: tuple[str, ...]
    differences: int
    fixed: int
    notes: tuple[Note, ...]


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class CycleLine:
    """One reconcile cycle's line (``counts`` is None for a cycle that judged nothing)."""

    run_id: int
    at: float
    mode: str
    result: str
    counts: dict[str, Any] | None


@dataclass(frozen=True)
class RunLine:
    id: int
    started: float
    finished: float | None
    command: str
    status: str
    message: str
    changes: int | None
    host: str | None
    user: str | None
    outcomes: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DriftEvent:
    """One drift row: what differed in one cycle, and what the cycle did about it."""

    run_id: int
    at: float
    account_id: int
    username: str
    kind: str
    path: str
    action: str
    before: Any
    after: Any
    outcome: str
    reason: str | None
    #: The drift record keeps a fact as a state: ``run_id``/``at`` are its last sighting,
    #: these its first and how many cycles saw it.
    first_run: int | None = None
    first_seen: float | None = None
    cycles: int = 1


@dataclass(frozen=True)
class AccountRecord:
    """An account's row, what the playbook wants of it, the drift its last cycle found, its history."""

    row: AccountRow
    desired: dict[str, list[tuple[str, Any, str | None]]] | None  # kind -> [(path, value, source)]
    last_cycle: list[DriftEvent]
    events: list[DriftEvent]
    runs: list[RunLine]


@dataclass(frozen=True)
class ChangeCount:
    """Identical drift rows of one run, counted: the run page groups these as a plan does."""

    kind: str
    action: str
    path: str
    before: Any
    after: Any
    outcome: str
    reason: str | None
    count: int
    accounts: list[tuple[int, str]]  # (id, username) of the first few, by username


@dataclass(frozen=True)
class RunRecord:
    run: RunLine
    report: dict[str, Any]
    changes: list[ChangeCount]
    operations: dict[str, dict[str, int]]  # "kind name" -> {status: n}, from the journal


@dataclass(frozen=True)
class HotSpot:
    account_id: int
    username: str
    kind: str
    path: str
    came_back: int  # cycles that found it changed again after one had put it back
    last: float


@dataclass(frozen=True)
class Overview:
    """The front page's numbers."""

    counts: dict[str, int]
    blocked: dict[str, int]  # reason -> accounts
    waiting: Page[AccountRow]
    last_cycle: CycleLine | None
    last_run: RunLine | None
    cycles: list[CycleLine]
    hot_spots: list[HotSpot]


class StateDbMissing(Exception):
    """There is no state database at the path (no loop or apply has written one yet), or the
    PostgreSQL one cannot be reached (its message says which, a password masked)."""


class StatusInstallationError(StateStoreError):
    """The database holds several installations and none was named (or the named one is not
    among them when it holds others): one line naming them."""


# -- the two backends ------------------------------------------------------------------------
class Dialect:
    """The SQL that differs between SQLite and PostgreSQL (the rest is one text)."""

    name = "sqlite"
    run_user = "user"

    def contains(self, column: str) -> str:
        return f"instr({column}, ?) > 0"

    def json_field(self, column: str, *path: str) -> str:
        return f"json_extract({column}, '$.{'.'.join(path)}')"

    def lines(self, expr: str) -> str:
        return f"group_concat({expr}, char(10))"

    def same(self, column: str) -> str:
        return f"{column} IS ?"


class PostgresDialect(Dialect):
    name = "postgresql"
    run_user = "run_user"

    def contains(self, column: str) -> str:
        return f"strpos({column}, ?) > 0"

    def json_field(self, column: str, *path: str) -> str:
        return f"({column}::json #>> '{{{','.join(path)}}}')"

    def lines(self, expr: str) -> str:
        return f"string_agg({expr}, chr(10))"

    def same(self, column: str) -> str:
        return f"{column} IS NOT DISTINCT FROM ?"


class Reader(Protocol):
    """One read transaction's queries (``?`` placeholders)."""

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def one(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None: ...


class _SqliteReader:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.db.execute(sql, tuple(args)).fetchall()

    def one(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.db.execute(sql, tuple(args)).fetchone()
        return row


class _PostgresReader:
    def __init__(self, conn: Any) -> None:
        self.conn = conn

    @staticmethod
    def _sql(sql: str) -> str:
        assert "%" not in sql
        return sql.replace("?", "%s")

    def all(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(self._sql(sql), tuple(args)).fetchall())

    def one(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = self.conn.execute(self._sql(sql), tuple(args)).fetchone()
        return row


class _Backend(Protocol):
    dialect: Dialect
    where: str

    def read(self) -> contextlib.AbstractContextManager[Reader]: ...
    def tables(self, db: Reader) -> set[str]: ...
    def close(self) -> None: ...


class SqliteBackend:
    """A state database file, read-only: a ``mode=ro`` connection per serving thread."""

    dialect = Dialect()

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.where = str(self.path)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._guard = threading.Lock()

    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            if not self.path.is_file():
                raise StateDbMissing(str(self.path))
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None,
                                 check_same_thread=False)
            db.execute("PRAGMA query_only=ON")
            self._local.db = db
            with self._guard:
                self._all.append(db)
        return db

    @contextmanager
    def read(self) -> Iterator[Reader]:
        """One read transaction: every query of one page sees the same commit."""
        db = self._connect()
        db.execute("BEGIN")
        try:
            yield _SqliteReader(db)
        finally:
            db.execute("COMMIT")

    def tables(self, db: Reader) -> set[str]:
        return {r[0] for r in db.all("SELECT name FROM sqlite_master WHERE type='table'")}

    def close(self) -> None:
        with self._guard:
            for db in self._all:
                db.close()
            self._all.clear()


class PostgresBackend:
    """A PostgreSQL state store, read-only: a small pool of ``READ ONLY``, ``REPEATABLE READ``
    connections (opened on the first page; a server away is a 503 page, not a crash)."""

    dialect = PostgresDialect()

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        register_url_secret(url)
        self.url, self.where, self.timeout = url, mask_url(url), timeout
        self._pool: Any = None
        self._guard = threading.Lock()

    def _error(self, exc: BaseException) -> StateDbMissing:
        from orchestrator.log import redact_text

        import re
        from urllib.parse import unquote, urlsplit

        reason = redact_text(" ".join(str(exc).split()) or type(exc).__name__).replace(self.url, self.where)
        password = urlsplit(self.url).password
        for secret in {password, unquote(password)} if password else set():
            reason = reason.replace(secret, "***")  # whatever the driver quoted, never the password
        reason = re.sub(r"(?i)(password=)[^\s&]+", r"\1***", reason)
        return StateDbMissing(f"{self.where} (it cannot be read: {reason})")

    def _open(self) -> Any:
        with self._guard:
            if self._pool is None:
                import psycopg
                from psycopg_pool import ConnectionPool

                def configure(conn: Any) -> None:
                    conn.read_only = True
                    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ

                try:  # one connection first: a server away is one line at once, not a pool's retries
                    psycopg.connect(self.url, connect_timeout=max(2, int(self.timeout))).close()
                except psycopg.Error as exc:
                    raise self._error(exc) from None
                pool = ConnectionPool(self.url, min_size=1, max_size=4, open=False, configure=configure,
                                      timeout=self.timeout, kwargs={"connect_timeout": max(2, int(self.timeout))})
                try:
                    pool.open(wait=True, timeout=self.timeout)
                except Exception as exc:  # noqa: BLE001 - the pool's timeout or a driver error: one line
                    pool.close()
                    raise self._error(exc) from None
                self._pool = pool
            return self._pool

    @contextmanager
    def read(self) -> Iterator[Reader]:
        import psycopg
        from psycopg_pool import PoolTimeout

        pool = self._open()
        try:
            with pool.connection() as conn:  # one transaction, committed (read-only) on the way out
                yield _PostgresReader(conn)
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise self._error(exc) from None

    def tables(self, db: Reader) -> set[str]:
        return {r[0] for r in db.all("SELECT table_name FROM information_schema.tables"
                                     " WHERE table_schema = ANY (current_schemas(false))")}

    def close(self) -> None:
        with self._guard:
            if self._pool is not None:
                self._pool.close()
                self._pool = None


def backend_of(target: str | os.PathLike[str]) -> SqliteBackend | PostgresBackend:
    """The backend ``target`` names: a ``postgresql://`` URL, else a SQLite file."""
    text = os.fspath(target).strip()
    return PostgresBackend(text) if is_postgres_url(text) else SqliteBackend(text)


#: The tables that say which installations a database holds.
_INSTALLATIONS = ("SELECT installation FROM runs WHERE installation != ''"
                  " UNION SELECT installation FROM status_cycles")


class StatusSource:
    """The state store at ``target`` (a SQLite file or a ``postgresql://`` URL), read-only, for
    the status page, scoped to one installation: ``base_url``'s, else the only one it holds."""

    def __init__(self, target: str | os.PathLike[str], base_url: str | None = None) -> None:
        self.backend = backend_of(target)
        self.dialect = self.backend.dialect
        self.where = self.backend.where
        self.base_url = base_url
        self._installation: str | None = Installation.of(base_url).id if base_url else None
        self._unseen: tuple[tuple[Any, ...], bool] | None = None  # (tables' state, some account never judged)
        self._runs_done: OrderedDict[tuple[int, int], RunRecord] = OrderedDict()  # finished runs, recently seen

    @property
    def path(self) -> str:
        """Where the store is, fit to print (a password masked)."""
        return self.where

    def close(self) -> None:
        self.backend.close()

    # -- the installation ------------------------------------------------------------------
    def installations(self) -> dict[str, str]:
        """id -> base URL (the id itself where no cycle recorded the URL) of every installation
        the database holds rows of."""
        with self.backend.read() as db:
            return self._installations(db, self._tables(db))

    def _installations(self, db: Reader, tables: set[str]) -> dict[str, str]:
        if "runs" not in tables:
            return {}
        urls = dict(db.all("SELECT installation, value FROM store_meta WHERE key = 'base_url'"))
        sql = _INSTALLATIONS if "status_cycles" in tables else _INSTALLATIONS.split(" UNION ")[0]
        return {i: urls.get(i, i) for (i,) in sorted(db.all(sql))}

    def installation(self) -> str:
        """The installation every read is of (worked out once): ``StatusInstallationError``
        when the database holds several and none was named."""
        if self._installation is None:
            found = self.installations()
            if len(found) > 1:
                names = ", ".join(sorted(found.values()))
                raise StatusInstallationError(
                    f"the state database {self.where} holds {len(found)} installations ({names}): name one with "
                    "--base-url (or SHARINGTOOLS_BASE_URL)")
            if not found:
                return ""  # nothing yet: an empty page, worked out again on the next one
            self._installation = next(iter(found))
        return self._installation

    def check(self) -> None:
        """Fail now, in one line, rather than on the first page: the database is missing or
        unreachable (``StateDbMissing``), or holds several installations and none was named."""
        with self.backend.read() as db:
            tables = self._tables(db)
            found = self._installations(db, tables)
        if self._installation is not None:
            if found and self._installation not in found:
                url = Installation.of(self.base_url or "").url
                raise StatusInstallationError(
                    f"the state database {self.where} holds no rows of {url} (it holds "
                    f"{', '.join(sorted(found.values()))}): check --base-url")
            return
        self.installation()

    # -- reads -------------------------------------------------------------------------------
    @contextmanager
    def _read(self) -> Iterator[tuple[Reader, set[str], str]]:
        """One read transaction (every query of one page sees the same commit), the tables
        of the store's schema, and the installation."""
        inst = self.installation()
        with self.backend.read() as db:
            yield db, self._tables(db), inst

    def _tables(self, db: Reader) -> set[str]:
        """The tables present, when the schema has the installation on every row (version 2
        or later; an older file, never opened by this release's store, reads as empty)."""
        tables = self.backend.tables(db)
        if "schema_version" not in tables:
            return set()
        version = db.one("SELECT COALESCE(MAX(version), 0) FROM schema_version")
        return tables if version is not None and 2 <= int(version[0]) <= SCHEMA_VERSION else set()

    def _fleet(self, db: Reader, tables: set[str], inst: str) -> tuple[str, list[Any]] | None:
        """The SQL that names the fleet (``fleet``) and its arguments, None before any cycle
        wrote it.

        Usually every account on the list has a status row, and then the fleet is the
        status table itself, whose indexes serve the sort and the filters. Only when some
        account was never judged does the fleet need the union with the account list (a
        whole-table sort). Which case holds is worked out once per change of either table."""
        if "status_accounts" not in tables:
            return None
        plain = (_FLEET.format(not_seen=""), [inst])
        key = db.one("SELECT (SELECT MAX(seen) FROM known_accounts WHERE installation = ?),"
                     " (SELECT COUNT(*) FROM known_accounts WHERE installation = ?),"
                     " (SELECT MAX(at) FROM status_accounts WHERE installation = ?),"
                     " (SELECT COUNT(*) FROM status_accounts WHERE installation = ?)", [inst] * 4)
        state = (inst, *(key or ()))
        if self._unseen is None or self._unseen[0] != state:
            missing = db.one("SELECT EXISTS (SELECT 1 FROM known_accounts k WHERE k.installation = ? AND NOT EXISTS"
                             " (SELECT 1 FROM status_accounts s WHERE s.installation = k.installation"
                             " AND s.account_id = k.account_id))", [inst])
            self._unseen = (state, bool(missing and missing[0]))
        return (_FLEET.format(not_seen=_NOT_SEEN), [inst, inst]) if self._unseen[1] else plain

    # -- the fleet -------------------------------------------------------------------------
    def overview(self, *, waiting: int = 20, cycles: int = 60, hot_spots: int = 10) -> Overview:
        with self._read() as (db, tables, inst):
            fleet = self._fleet(db, tables, inst)
            counts: dict[str, int] = {}
            blocked: dict[str, int] = {}
            if fleet is not None:
                sql, args = fleet
                counts = {s: int(n) for s, n in db.all(f"{sql} SELECT state, COUNT(*) FROM fleet GROUP BY state",
                                                       args)}
                for (reasons,) in db.all("SELECT reasons FROM status_accounts WHERE installation = ?"
                                         " AND reasons != ','", [inst]):
                    for reason in reasons.strip(",").split(","):
                        blocked[reason] = blocked.get(reason, 0) + 1
            waits = self._accounts(db, fleet, AccountFilter(state=AccountState.BLOCKED, per_page=waiting))
            lines = self._cycles(db, tables, inst, cycles)
            runs = self._runs(db, tables, inst, 0, 1)
            return Overview(counts, dict(sorted(blocked.items())), waits, lines[0] if lines else None,
                            runs[0] if runs else None, lines, self._hot_spots(db, tables, inst, hot_spots))

    def accounts(self, f: AccountFilter) -> Page[AccountRow]:
        with self._read() as (db, tables, inst):
            return self._accounts(db, self._fleet(db, tables, inst), f)

    def _accounts(self, db: Reader, fleet: tuple[str, list[Any]] | None, f: AccountFilter) -> Page[AccountRow]:
        if fleet is None:
            return Page([], 0, f.page, f.per_page)
        sql, fleet_args = fleet
        where: list[str] = []
        args: list[Any] = [*fleet_args]
        if f.state:
            where.append("state = ?")
            args.append(str(f.state))
        for column, value in (("kinds", f.kind), ("groups", f.group), ("reasons", f.reason)):
            if value:
                where.append(self.dialect.contains(column))
                args.append(f",{value},")
        if f.q:
            where.append(self.dialect.contains("lower(username)"))
            args.append(f.q.casefold())
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        found = db.one(f"{sql} SELECT COUNT(*) FROM fleet{clause}", args)
        total = int(found[0]) if found else 0
        order = f"{SORTS[f.sort]} {'DESC' if f.descending else 'ASC'}, username, account_id"
        rows = db.all(f"{sql} SELECT {_COLUMNS} FROM fleet{clause} ORDER BY {order} LIMIT ? OFFSET ?",
                      [*args, f.per_page, (f.page - 1) * f.per_page])
        return Page([_account_row(r) for r in rows], total, f.page, f.per_page)

    def groups(self) -> list[str]:
        """Every group an account is in, as the last cycle saw the playbooks."""
        with self._read() as (db, tables, inst):
            if "status_accounts" not in tables:
                return []
            found: set[str] = set()
            for (groups,) in db.all("SELECT DISTINCT groups FROM status_accounts WHERE installation = ?", [inst]):
                found.update(g for g in groups.split(",") if g)
            return sorted(found)

    def account(self, account_id: int, *, events: int = 100, runs: int = 20) -> AccountRecord | None:
        with self._read() as (db, tables, inst):
            fleet = self._fleet(db, tables, inst)
            if fleet is None:
                return None
            sql, args = fleet
            r = db.one(f"{sql} SELECT {_COLUMNS} FROM fleet WHERE account_id = ? LIMIT 1", [*args, account_id])
            if r is None:
                return None
            row = _account_row(r)
            desired = None
            body = db.one("SELECT d.body FROM status_accounts s JOIN status_desired d ON d.installation ="
                          " s.installation AND d.digest = s.desired WHERE s.installation = ? AND s.account_id = ?",
                          [inst, account_id])
            if body is not None:
                desired = {kind: [tuple(f) for f in fields] for kind, fields in json.loads(body[0]).items()}
            history: list[DriftEvent] = []
            last: list[DriftEvent] = []
            if "drift_states" in tables:
                history = [_event(e) for e in db.all(
                    f"SELECT {_EVENT} FROM drift_states WHERE installation = ? AND account_id = ?"
                    " ORDER BY last_run DESC, id DESC LIMIT ?", [inst, account_id, events])]
                if row.run_id is not None:
                    last = [_event(e) for e in db.all(
                        f"SELECT {_EVENT} FROM drift_states WHERE installation = ? AND account_id = ?"
                        " AND first_run <= ? AND last_run >= ? ORDER BY kind, path",
                        [inst, account_id, row.run_id, row.run_id])]
            ids = sorted({e.run_id for e in history} | ({row.run_id} if row.run_id else set()), reverse=True)[:runs]
            return AccountRecord(row, desired, last, history, self._runs_by_id(db, tables, inst, ids))

    # -- runs ------------------------------------------------------------------------------
    def runs(self, page: int = 1, per_page: int = 25) -> Page[RunLine]:
        with self._read() as (db, tables, inst):
            found = db.one("SELECT COUNT(*) FROM runs WHERE installation = ?", [inst]) if "runs" in tables else None
            total = int(found[0]) if found else 0
            return Page(self._runs(db, tables, inst, (page - 1) * per_page, per_page), total, page, per_page)

    def run(self, run_id: int, *, accounts_shown: int = 12) -> RunRecord | None:
        with self._read() as (db, tables, inst):
            found = self._runs_by_id(db, tables, inst, [run_id])
            if not found:
                return None
            line = found[0]
            # A finished run never changes: its grouped changes (tens of thousands of drift
            # facts for a first cycle at 10,000 accounts) are worked out once. A cycle's drift
            # is complete once its status line is written (the last thing a cycle records);
            # later cycles only move the last sighting of the facts that still hold.
            key = (run_id, accounts_shown)
            cached = self._runs_done.get(key)
            if cached is not None and cached.run == line:
                self._runs_done.move_to_end(key)
                return cached
            if line.command.startswith("reconcile"):
                done = "status_cycles" in tables and db.one(
                    "SELECT 1 FROM status_cycles WHERE installation = ? AND run_id = ?", [inst, run_id]) is not None
            else:
                done = line.finished is not None
            meta = db.one("SELECT report, shard FROM runs WHERE installation = ? AND id = ?", [inst, run_id])
            report, shard = meta if meta else (None, None)
            changes: list[ChangeCount] = []
            if "drift_states" in tables and line.command.startswith("reconcile"):
                # The facts that held during the cycle (of its shard), identical ones (and
                # reasons) counted by the database, with who; trimmed below to the first few
                # by name. A blocked row's reason names its account (what to do is said once
                # per reason, by the run's blocked list): those group without it.
                who_expr = self.dialect.lines("CAST(account_id AS TEXT) || ' ' || username")
                for kind, action, path, before, after, outcome, reason, n, who in db.all(
                        f"SELECT kind, action, path, before, after, outcome, {_WHY} AS why, COUNT(*), {who_expr}"
                        " FROM drift_states WHERE installation = ? AND first_run <= ? AND last_run >= ?"
                        f" AND {self.dialect.same('shard')}"
                        " GROUP BY kind, action, path, before, after, outcome, why",
                        [inst, run_id, run_id, shard]):
                    shown = sorted((w.split(" ", 1) for w in who.split("\n")), key=lambda p: p[1])[:accounts_shown]
                    changes.append(ChangeCount(kind, action, path, _json(before), _json(after), outcome, reason,
                                               int(n), [(int(i), name) for i, name in shown]))
            operations: dict[str, dict[str, int]] = {}
            if "operations" in tables:
                for kind, name, status, n in db.all(
                        "SELECT kind, name, status, COUNT(*) FROM operations WHERE installation = ? AND run_id = ?"
                        " GROUP BY kind, name, status ORDER BY kind, name, status", [inst, run_id]):
                    operations.setdefault(f"{kind} {name}", {})[status] = int(n)
            record = RunRecord(line, json.loads(report) if report else {}, changes, operations)
            if done:
                self._runs_done[key] = record
                while len(self._runs_done) > RUNS_KEPT:
                    self._runs_done.popitem(last=False)
            return record

    def _runs(self, db: Reader, tables: set[str], inst: str, offset: int, limit: int) -> list[RunLine]:
        if "runs" not in tables:
            return []
        ids = [r[0] for r in db.all("SELECT id FROM runs WHERE installation = ? ORDER BY id DESC LIMIT ? OFFSET ?",
                                    [inst, limit, offset])]
        return self._runs_by_id(db, tables, inst, ids)

    def _runs_by_id(self, db: Reader, tables: set[str], inst: str, ids: Sequence[int]) -> list[RunLine]:
        if not ids or "runs" not in tables:
            return []
        marks = ",".join("?" * len(ids))
        outcomes: dict[int, dict[str, int]] = {}
        if "status_cycles" in tables:  # a cycle's counts, written once: no scan of its drift
            for run_id, counts in db.all(
                    f"SELECT run_id, counts FROM status_cycles WHERE installation = ? AND run_id IN ({marks})",
                    [inst, *ids]):
                outcomes[int(run_id)] = json.loads(counts).get("outcomes", {}) if counts else {}
        # The report is JSON; the database picks out its two fields, so a page of runs never parses reports.
        d = self.dialect
        rows = db.all(
            f"SELECT id, started, finished, command, status, {d.json_field('report', 'message')},"
            f" {d.json_field('report', 'plan', 'total')}, host, {d.run_user}, shard FROM runs"
            f" WHERE installation = ? AND id IN ({marks}) ORDER BY id DESC", [inst, *ids])
        for r in rows:  # a reconcile run older than the snapshot: its outcomes from the drift record
            if int(r[0]) not in outcomes and str(r[3]).startswith("reconcile") and "drift_states" in tables:
                outcomes[int(r[0])] = {o: int(n) for o, n in db.all(
                    "SELECT outcome, COUNT(*) FROM drift_states WHERE installation = ? AND first_run <= ?"
                    f" AND last_run >= ? AND {d.same('shard')} GROUP BY outcome", [inst, r[0], r[0], r[9]])}
        return [RunLine(int(r[0]), r[1], r[2], r[3], r[4], r[5] or "", _int(r[6]), r[7], r[8],
                        outcomes.get(int(r[0]), {})) for r in rows]

    # -- drift over time -------------------------------------------------------------------
    def cycles(self, limit: int = 60) -> list[CycleLine]:
        with self._read() as (db, tables, inst):
            return self._cycles(db, tables, inst, limit)

    def _cycles(self, db: Reader, tables: set[str], inst: str, limit: int) -> list[CycleLine]:
        """The last ``limit`` cycles, newest first."""
        if "status_cycles" not in tables:
            return []
        return [CycleLine(int(r[0]), r[1], r[2], r[3], json.loads(r[4]) if r[4] else None) for r in db.all(
            "SELECT run_id, at, mode, result, counts FROM status_cycles WHERE installation = ?"
            " ORDER BY run_id DESC LIMIT ?", [inst, limit])]

    def hot_spots(self, limit: int = 10) -> list[HotSpot]:
        with self._read() as (db, tables, inst):
            return self._hot_spots(db, tables, inst, limit)

    def _hot_spots(self, db: Reader, tables: set[str], inst: str, limit: int, cycles: int = 20) -> list[HotSpot]:
        """What keeps drifting: (account, kind, field) by how many cycles found it changed
        again after a cycle had put it back, among those found changed in the last
        ``cycles`` cycles. Drift only reported, or that took two cycles to fix, is not drift
        that comes back; blocked changes wait on a person. The loop keeps the counts
        (``status_recurring``): this is one indexed read."""
        if "status_recurring" not in tables or "status_cycles" not in tables:
            return []
        oldest = db.one("SELECT MIN(run_id) FROM (SELECT run_id FROM status_cycles WHERE installation = ?"
                        " ORDER BY run_id DESC LIMIT ?) AS recent", [inst, cycles])
        if oldest is None or oldest[0] is None:
            return []
        return [HotSpot(int(r[0]), r[1], r[2], r[3], int(r[4]), r[5]) for r in db.all(
            "SELECT account_id, username, kind, path, came_back, last_at FROM status_recurring"
            " WHERE installation = ? AND came_back > 0 AND last_run >= ?"
            " ORDER BY came_back DESC, last_at DESC, username, kind, path LIMIT ?", [inst, oldest[0], limit])]


_WHY = "CASE WHEN outcome = 'blocked' THEN NULL ELSE reason END"
_EVENT = ("last_run, last_seen, account_id, username, kind, path, action, before, after, outcome, reason,"
          " first_run, first_seen, cycles")


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


def _event(r: Sequence[Any]) -> DriftEvent:
    return DriftEvent(int(r[0]), r[1], int(r[2]), r[3], r[4], r[5], r[6], _json(r[7]), _json(r[8]), r[9], r[10],
                      int(r[11]), r[12], int(r[13]))


def _int(value: Any) -> int | None:
    """A JSON number the database picked out of a report (PostgreSQL gives it as text)."""
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _listed(text: str) -> tuple[str, ...]:
    return tuple(v for v in text.split(",") if v)


def _account_row(r: Sequence[Any]) -> AccountRow:
    notes = tuple(Note(*n) for n in json.loads(r[11]))
    return AccountRow(int(r[0]), r[1], r[2], r[3], None if r[4] is None else int(r[4]), r[5], _listed(r[6]),
                      _listed(r[7]), _listed(r[8]), r[9], r[10], notes)
