"""Every read the status page makes of the state database, and nothing else: small functions
returning plain dataclasses, so that pointing the page at another store is this one file.

Reads are read-only (``mode=ro``): the page can never write the database a reconcile loop
or an apply is writing. One connection per serving thread; each page's reads run in one
read transaction, so a cycle that commits in between never shows half on one page. A
database older than the status tables (or that no reconcile has written yet) reads as an
empty fleet, not an error.

What the page needs of 10,000 accounts is done by SQLite, not Python: filters, counts, sort
and the page itself (``LIMIT``/``OFFSET``), and a run's changes are grouped by ``GROUP BY``
(a first cycle at that size has tens of thousands of rows).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from orchestrator.contract.vocabulary import AccountState

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
# (``known_accounts``, written by every apply's account read, reconcile's too).
_FLEET = """
WITH fleet AS (
    SELECT account_id, username, state, since, run_id, at, kinds, groups, reasons, differences, fixed, notes
    FROM status_accounts
    {not_seen}
)"""
_NOT_SEEN = """
    UNION ALL
    SELECT k.account_id, k.username, 'not_seen', k.seen, NULL, NULL, ',', ',', ',', 0, 0, '[]'
    -- one row per id: a renamed account keeps its old name's row too (SQLite takes the
    -- username of the row holding MAX(seen), the newest name)
    FROM (SELECT account_id, username, MAX(seen) AS seen FROM known_accounts GROUP BY account_id) k
    WHERE NOT EXISTS (SELECT 1 FROM status_accounts s WHERE s.account_id = k.account_id)"""
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
    """There is no state database at the path (no loop or apply has written one yet)."""


class StatusSource:
    """The state database at ``path``, read-only, for the status page."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._unseen: tuple[tuple[Any, ...], bool] | None = None  # (tables' state, some account never judged)
        self._runs_done: OrderedDict[tuple[int, int], RunRecord] = OrderedDict()  # finished runs, recently seen

    # -- connections -----------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            if not self.path.is_file():
                raise StateDbMissing(str(self.path))
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, isolation_level=None,
                                 check_same_thread=False)
            db.execute("PRAGMA query_only=ON")
            self._local.db = db
        return db

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: every query of one page sees the same commit."""
        db = self._connect()
        db.execute("BEGIN")
        try:
            yield db
        finally:
            db.execute("COMMIT")

    @staticmethod
    def _tables(db: sqlite3.Connection) -> set[str]:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    def _fleet(self, db: sqlite3.Connection, tables: set[str]) -> str | None:
        """The SQL that names the fleet (``fleet``), None before any cycle wrote it.

        Usually every account on the list has a status row, and then the fleet is the
        status table itself, whose indexes serve the sort and the filters. Only when some
        account was never judged does the fleet need the union with the account list (a
        whole-table sort). Which case holds is worked out once per change of either table."""
        if "status_accounts" not in tables:
            return None
        plain = _FLEET.format(not_seen="")
        if "known_accounts" not in tables:
            return plain
        key = db.execute("SELECT (SELECT MAX(seen) FROM known_accounts), (SELECT COUNT(*) FROM known_accounts),"
                         " (SELECT MAX(at) FROM status_accounts), (SELECT COUNT(*) FROM status_accounts)").fetchone()
        if self._unseen is None or self._unseen[0] != key:
            missing = db.execute("SELECT EXISTS (SELECT 1 FROM known_accounts k WHERE NOT EXISTS"
                                 " (SELECT 1 FROM status_accounts s WHERE s.account_id = k.account_id))").fetchone()[0]
            self._unseen = (key, bool(missing))
        return _FLEET.format(not_seen=_NOT_SEEN) if self._unseen[1] else plain

    # -- the fleet -------------------------------------------------------------------------
    def overview(self, *, waiting: int = 20, cycles: int = 60, hot_spots: int = 10) -> Overview:
        with self._read() as db:
            tables = self._tables(db)
            fleet = self._fleet(db, tables)
            counts: dict[str, int] = {}
            blocked: dict[str, int] = {}
            if fleet is not None:
                counts = dict(db.execute(f"{fleet} SELECT state, COUNT(*) FROM fleet GROUP BY state").fetchall())
                for (reasons,) in db.execute("SELECT reasons FROM status_accounts WHERE reasons != ','"):
                    for reason in reasons.strip(",").split(","):
                        blocked[reason] = blocked.get(reason, 0) + 1
            waits = self._accounts(db, fleet, AccountFilter(state=AccountState.BLOCKED, per_page=waiting))
            lines = self._cycles(db, tables, cycles)
            runs = self._runs(db, tables, 0, 1)
            return Overview(counts, dict(sorted(blocked.items())), waits, lines[0] if lines else None,
                            runs[0] if runs else None, lines, self._hot_spots(db, tables, hot_spots))

    def accounts(self, f: AccountFilter) -> Page[AccountRow]:
        with self._read() as db:
            return self._accounts(db, self._fleet(db, self._tables(db)), f)

    def _accounts(self, db: sqlite3.Connection, fleet: str | None, f: AccountFilter) -> Page[AccountRow]:
        if fleet is None:
            return Page([], 0, f.page, f.per_page)
        where, args = [], []
        if f.state:
            where.append("state = ?")
            args.append(f.state)
        for column, value in (("kinds", f.kind), ("groups", f.group), ("reasons", f.reason)):
            if value:
                where.append(f"instr({column}, ?) > 0")
                args.append(f",{value},")
        if f.q:
            where.append("instr(lower(username), ?) > 0")
            args.append(f.q.casefold())
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        total = db.execute(f"{fleet} SELECT COUNT(*) FROM fleet{clause}", args).fetchone()[0]
        order = f"{SORTS[f.sort]} {'DESC' if f.descending else 'ASC'}, username, account_id"
        rows = db.execute(f"{fleet} SELECT {_COLUMNS} FROM fleet{clause} ORDER BY {order} LIMIT ? OFFSET ?",
                          [*args, f.per_page, (f.page - 1) * f.per_page]).fetchall()
        return Page([_account_row(r) for r in rows], total, f.page, f.per_page)

    def groups(self) -> list[str]:
        """Every group an account is in, as the last cycle saw the playbooks."""
        with self._read() as db:
            if "status_accounts" not in self._tables(db):
                return []
            found: set[str] = set()
            for (groups,) in db.execute("SELECT DISTINCT groups FROM status_accounts"):
                found.update(g for g in groups.split(",") if g)
            return sorted(found)

    def account(self, account_id: int, *, events: int = 100, runs: int = 20) -> AccountRecord | None:
        with self._read() as db:
            tables = self._tables(db)
            fleet = self._fleet(db, tables)
            if fleet is None:
                return None
            r = db.execute(f"{fleet} SELECT {_COLUMNS} FROM fleet WHERE account_id = ? LIMIT 1",
                           (account_id,)).fetchone()
            if r is None:
                return None
            row = _account_row(r)
            desired = None
            body = db.execute("SELECT d.body FROM status_accounts s JOIN status_desired d ON d.digest = s.desired"
                              " WHERE s.account_id = ?", (account_id,)).fetchone()
            if body is not None:
                desired = {kind: [tuple(f) for f in fields] for kind, fields in json.loads(body[0]).items()}
            history: list[DriftEvent] = []
            last: list[DriftEvent] = []
            if "drift" in tables:
                history = [_event(e) for e in db.execute(
                    f"SELECT {_EVENT} FROM drift WHERE account_id = ? ORDER BY id DESC LIMIT ?", (account_id, events))]
                if row.run_id is not None:
                    last = [_event(e) for e in db.execute(
                        f"SELECT {_EVENT} FROM drift WHERE account_id = ? AND run_id = ? ORDER BY kind, path",
                        (account_id, row.run_id))]
            ids = sorted({e.run_id for e in history} | ({row.run_id} if row.run_id else set()), reverse=True)[:runs]
            return AccountRecord(row, desired, last, history, self._runs_by_id(db, tables, ids))

    # -- runs ------------------------------------------------------------------------------
    def runs(self, page: int = 1, per_page: int = 25) -> Page[RunLine]:
        with self._read() as db:
            tables = self._tables(db)
            total = db.execute("SELECT COUNT(*) FROM runs").fetchone()[0] if "runs" in tables else 0
            return Page(self._runs(db, tables, (page - 1) * per_page, per_page), total, page, per_page)

    def run(self, run_id: int, *, accounts_shown: int = 12) -> RunRecord | None:
        with self._read() as db:
            tables = self._tables(db)
            found = self._runs_by_id(db, tables, [run_id])
            if not found:
                return None
            line = found[0]
            # A finished run never changes: its grouped changes (tens of thousands of rows
            # for a first cycle at 10,000 accounts) are worked out once. A cycle's drift is
            # complete once its status line is written (the last thing a cycle records).
            key = (run_id, accounts_shown)
            cached = self._runs_done.get(key)
            if cached is not None and cached.run == line:
                self._runs_done.move_to_end(key)
                return cached
            if line.command.startswith("reconcile"):
                done = "status_cycles" in tables and db.execute(
                    "SELECT 1 FROM status_cycles WHERE run_id = ?", (run_id,)).fetchone() is not None
            else:
                done = line.finished is not None
            report = db.execute("SELECT report FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
            changes: list[ChangeCount] = []
            if "drift" in tables:
                # Identical rows (and reasons) counted by SQLite; group_concat keeps who, trimmed below
        # to the first few by name. A blocked row's reason names its account (what to do is
        # said once per reason, by the run's blocked list): those group without it.
                for kind, action, path, before, after, outcome, reason, n, who in db.execute(
                        f"SELECT kind, action, path, before, after, outcome, {_WHY} AS why, COUNT(*),"
                        " group_concat(account_id || ' ' || username, char(10)) FROM drift WHERE run_id = ?"
                        " GROUP BY kind, action, path, before, after, outcome, why", (run_id,)):
                    shown = sorted((w.split(" ", 1) for w in who.split("\n")), key=lambda p: p[1])[:accounts_shown]
                    changes.append(ChangeCount(kind, action, path, _json(before), _json(after), outcome, reason, n,
                                               [(int(i), name) for i, name in shown]))
            operations: dict[str, dict[str, int]] = {}
            if "operations" in tables:
                for kind, name, status, n in db.execute(
                        "SELECT kind, name, status, COUNT(*) FROM operations WHERE run_id = ?"
                        " GROUP BY kind, name, status ORDER BY kind, name, status", (run_id,)):
                    operations.setdefault(f"{kind} {name}", {})[status] = n
            record = RunRecord(line, json.loads(report) if report else {}, changes, operations)
            if done:
                self._runs_done[key] = record
                while len(self._runs_done) > RUNS_KEPT:
                    self._runs_done.popitem(last=False)
            return record

    def _runs(self, db: sqlite3.Connection, tables: set[str], offset: int, limit: int) -> list[RunLine]:
        if "runs" not in tables:
            return []
        ids = [r[0] for r in db.execute("SELECT id FROM runs ORDER BY id DESC LIMIT ? OFFSET ?", (limit, offset))]
        return self._runs_by_id(db, tables, ids)

    def _runs_by_id(self, db: sqlite3.Connection, tables: set[str], ids: Sequence[int]) -> list[RunLine]:
        if not ids or "runs" not in tables:
            return []
        marks = ",".join("?" * len(ids))
        outcomes: dict[int, dict[str, int]] = {}
        if "status_cycles" in tables:  # a cycle's counts, written once: no scan of its drift rows
            for run_id, counts in db.execute(
                    f"SELECT run_id, counts FROM status_cycles WHERE run_id IN ({marks})", list(ids)):
                outcomes[run_id] = json.loads(counts).get("outcomes", {}) if counts else {}
        missing = [i for i in ids if i not in outcomes]
        if missing and "drift" in tables:
            for run_id, outcome, n in db.execute(
                    f"SELECT run_id, outcome, COUNT(*) FROM drift WHERE run_id IN ({','.join('?' * len(missing))})"
                    " GROUP BY run_id, outcome", missing):
                outcomes.setdefault(run_id, {})[outcome] = n
        # The report is JSON; SQLite picks out its two fields, so a page of runs never parses reports.
        rows = db.execute(
            "SELECT id, started, finished, command, status, json_extract(report, '$.message'),"
            f" json_extract(report, '$.plan.total'), host, user FROM runs WHERE id IN ({marks}) ORDER BY id DESC",
            list(ids)).fetchall()
        return [RunLine(r[0], r[1], r[2], r[3], r[4], r[5] or "", r[6], r[7], r[8], outcomes.get(r[0], {}))
                for r in rows]

    # -- drift over time -------------------------------------------------------------------
    def cycles(self, limit: int = 60) -> list[CycleLine]:
        with self._read() as db:
            return self._cycles(db, self._tables(db), limit)

    def _cycles(self, db: sqlite3.Connection, tables: set[str], limit: int) -> list[CycleLine]:
        """The last ``limit`` cycles, newest first."""
        if "status_cycles" not in tables:
            return []
        return [CycleLine(r[0], r[1], r[2], r[3], json.loads(r[4]) if r[4] else None) for r in db.execute(
            "SELECT run_id, at, mode, result, counts FROM status_cycles ORDER BY run_id DESC LIMIT ?", (limit,))]

    def hot_spots(self, limit: int = 10) -> list[HotSpot]:
        with self._read() as db:
            return self._hot_spots(db, self._tables(db), limit)

    def _hot_spots(self, db: sqlite3.Connection, tables: set[str], limit: int, cycles: int = 20) -> list[HotSpot]:
        """What keeps drifting: (account, kind, field) by how many cycles found it changed
        again after a cycle had put it back, among those found changed in the last
        ``cycles`` cycles. Drift only reported, or that took two cycles to fix, is not drift
        that comes back; blocked changes wait on a person. The loop keeps the counts
        (``status_recurring``): this is one indexed read."""
        if "status_recurring" not in tables or "status_cycles" not in tables:
            return []
        oldest = db.execute("SELECT MIN(run_id) FROM (SELECT run_id FROM status_cycles ORDER BY run_id DESC"
                            " LIMIT ?)", (cycles,)).fetchone()[0]
        if oldest is None:
            return []
        return [HotSpot(*r) for r in db.execute(
            "SELECT account_id, username, kind, path, came_back, last_at FROM status_recurring"
            " WHERE came_back > 0 AND last_run >= ? ORDER BY came_back DESC, last_at DESC, username, kind, path"
            " LIMIT ?", (oldest, limit))]


_WHY = "CASE WHEN outcome = 'blocked' THEN NULL ELSE reason END"
_EVENT = "run_id, at, account_id, username, kind, path, action, before, after, outcome, reason"


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


def _event(r: Sequence[Any]) -> DriftEvent:
    return DriftEvent(r[0], r[1], r[2], r[3], r[4], r[5], r[6], _json(r[7]), _json(r[8]), r[9], r[10])


def _listed(text: str) -> tuple[str, ...]:
    return tuple(v for v in text.split(",") if v)


def _account_row(r: Sequence[Any]) -> AccountRow:
    notes = tuple(Note(*n) for n in json.loads(r[11]))
    return AccountRow(r[0], r[1], r[2], r[3], r[4], r[5], _listed(r[6]), _listed(r[7]), _listed(r[8]), r[9], r[10],
                      notes)
