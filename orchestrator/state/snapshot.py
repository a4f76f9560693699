"""The fleet as the last reconcile cycle saw it: one status row per account, one row per cycle.

The drift table (``orchestrator.state.drift``) says what differed in each cycle; it holds
nothing for an account that was in sync, and nothing of what the playbook wants where live
agrees. The status page needs both: where each account stands (in sync, drifted, blocked,
failed, backed off, unmanaged: `AccountState`) and each kind's desired values, with the
playbook line that asks for each. So every cycle that judged the fleet writes:

- ``status_accounts``: one row per account on the installation's list, replaced each cycle
  (rows of accounts gone from the list are deleted). ``since`` is when the account entered
  its state, kept across cycles while the state holds. Kinds, groups and blocked reasons
  are ``,a,b,`` lists, so a filter is one ``LIKE`` on 10,000 rows, not a join.
- ``status_desired``: each account's desired values, by content digest. Accounts of one
  group want the same values from the same lines, so 10,000 accounts share a few dozen
  bodies: a cycle writes about 150 bytes per account instead of a kilobyte or two.
- ``status_cycles``: one row per cycle (its counts, for the drift-over-time chart), a
  failed cycle too (its result, no counts), so the chart shows the gap.
- ``status_recurring``: per (account, kind, field) that ever drifted, how many cycles found
  it changed again after a cycle had put it back: "what keeps drifting", kept as the cycles
  go (a few index lookups per drift row) rather than worked out from thousands of drift
  rows per cycle at every view.

Live values are not stored here: where live differs from desired, the cycle's drift row
says what live was (``before``); everywhere else live equals desired, which is what "in
sync" means. The account page joins the two.

This is the one module that writes these tables (reads: ``orchestrator.status.queries``), so
the state store's next shape can take them in one place. Every text passes through the
redaction of ``orchestrator.log`` before it is written.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from orchestrator.contract.vocabulary import AccountState
from orchestrator.log import redact_value
from orchestrator.state.drift import DriftRow

SCHEMA = """
CREATE TABLE IF NOT EXISTS status_accounts (
    account_id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    state TEXT NOT NULL,           -- an AccountState
    since REAL NOT NULL,           -- when the account entered this state
    run_id INTEGER NOT NULL,       -- the cycle that judged it last
    at REAL NOT NULL,              -- when that cycle judged it
    kinds TEXT NOT NULL,           -- ",reactions,repost," (managed kinds)
    groups TEXT NOT NULL,          -- ",everyone,fashion,"
    reasons TEXT NOT NULL,         -- ",login_required," (blocked reason codes)
    differences INTEGER NOT NULL,  -- drift rows left as they are (not fixed, not blocked)
    fixed INTEGER NOT NULL,        -- drift rows fixed by that cycle
    notes TEXT NOT NULL,           -- JSON [[kind, reason, message], ...]: what waits, what failed
    desired TEXT                   -- digest in status_desired, NULL when unmanaged
);
CREATE INDEX IF NOT EXISTS status_accounts_state ON status_accounts(state, username);
CREATE INDEX IF NOT EXISTS status_accounts_username ON status_accounts(username);
CREATE TABLE IF NOT EXISTS status_desired (
    digest TEXT PRIMARY KEY,
    body TEXT NOT NULL             -- JSON {kind: [[path, value, source], ...]}
);
CREATE TABLE IF NOT EXISTS status_recurring (
    account_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    username TEXT NOT NULL,
    fixed_run INTEGER,             -- the last cycle that put it back (NULL: none yet)
    came_back INTEGER NOT NULL,    -- cycles that found it changed again after a cycle had put it back
    last_run INTEGER NOT NULL,     -- the last cycle that found it changed
    last_at REAL NOT NULL,
    PRIMARY KEY (account_id, kind, path)
);
CREATE INDEX IF NOT EXISTS status_recurring_top ON status_recurring(came_back) WHERE came_back > 0;
CREATE TABLE IF NOT EXISTS status_cycles (
    run_id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    mode TEXT NOT NULL,
    result TEXT NOT NULL,          -- ok | drift_reported | partial | policy_held | error | interrupted
    counts TEXT                    -- JSON, see CycleStatus.counts; NULL for a cycle that judged nothing
);
"""


@dataclass(frozen=True)
class Note:
    """Something about one account a person reads: what waits on them, or what failed.
    ``reason`` is a blocked reason code, or ``failed``, ``backed_off``, ``held``."""

    kind: str
    reason: str
    message: str


@dataclass(frozen=True)
class DesiredField:
    """One value the playbook wants, at the path changes use (``settings.likes_speed``)."""

    path: str
    value: Any
    source: str | None


@dataclass(frozen=True)
class AccountStatus:
    """Where one account stands after a cycle, and what the playbook wants of it."""

    account_id: int
    username: str
    state: AccountState
    kinds: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    differences: int = 0
    fixed: int = 0
    notes: tuple[Note, ...] = ()
    desired: Mapping[str, Sequence[DesiredField]] | None = None  # kind -> fields; None: unmanaged


@dataclass(frozen=True)
class CycleStatus:
    """One cycle's line in ``status_cycles``: ``counts`` holds ``states`` (accounts per
    `AccountState`), ``blocked`` (accounts per reason), ``outcomes`` (drift rows per outcome),
    ``kinds`` (drift rows per kind, blocked ones apart) and ``read`` (accounts read)."""

    run_id: int
    at: float
    mode: str
    result: str
    counts: Mapping[str, Any] | None = None


def _listed(values: Iterable[str]) -> str:
    """``,a,b,``: one ``LIKE '%,a,%'`` finds a member without a join."""
    items = sorted(set(values))
    return "," + ",".join(items) + "," if items else ","


def _body(desired: Mapping[str, Sequence[DesiredField]]) -> str:
    return json.dumps({kind: [[f.path, redact_value(f.value, f.path.rpartition(".")[2]), f.source]
                              for f in fields] for kind, fields in desired.items()},
                      ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


class SnapshotStore:
    """The status tables on a state database connection (``History.db``)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.db.executescript(SCHEMA)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def record(self, cycle: CycleStatus, accounts: Sequence[AccountStatus] | None,
               drift: Iterable[DriftRow] = ()) -> None:
        """One cycle: its line, what drifted again, and (when it judged the fleet) every
        account's row, in one transaction. ``accounts`` is the whole list: rows of accounts
        not in it are deleted."""
        counts = json.dumps(cycle.counts, sort_keys=True) if cycle.counts is not None else None
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO status_cycles (run_id, at, mode, result, counts) VALUES (?,?,?,?,?)",
                       (cycle.run_id, cycle.at, cycle.mode, cycle.result, counts))
            # Set-wise, every SET reads the row as it was: a field put back by an earlier cycle
            # and found changed now came back once more; a fix now is the new "put back".
            db.executemany(
                "INSERT INTO status_recurring (account_id, kind, path, username, fixed_run, came_back, last_run,"
                " last_at) VALUES (?,?,?,?,?,0,?,?) ON CONFLICT(account_id, kind, path) DO UPDATE SET"
                " username=excluded.username,"
                " came_back=came_back + (fixed_run IS NOT NULL AND fixed_run < excluded.last_run),"
                " fixed_run=coalesce(excluded.fixed_run, fixed_run), last_run=excluded.last_run,"
                " last_at=excluded.last_at",
                [(r.account_id, r.kind, r.path, r.username, cycle.run_id if r.outcome == "fixed" else None,
                  cycle.run_id, cycle.at) for r in drift if r.outcome != "blocked" and r.path != "*"])
            if accounts is None:
                return
            bodies: dict[str, str] = {}
            rows = []
            for a in accounts:
                digest = None
                if a.desired is not None:
                    body = _body(a.desired)
                    digest = hashlib.sha256(body.encode()).hexdigest()[:24]
                    bodies[digest] = body
                notes = json.dumps([[n.kind, n.reason, redact_value(n.message)] for n in a.notes], ensure_ascii=False)
                rows.append((a.account_id, a.username, str(a.state), cycle.at, cycle.run_id, cycle.at,
                             _listed(a.kinds), _listed(a.groups), _listed(a.reasons), a.differences, a.fixed, notes,
                             digest))
            db.executemany("INSERT OR IGNORE INTO status_desired (digest, body) VALUES (?,?)", bodies.items())
            db.executemany(
                "INSERT INTO status_accounts (account_id, username, state, since, run_id, at, kinds, groups, reasons,"
                " differences, fixed, notes, desired) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT(account_id) DO UPDATE SET username=excluded.username,"
                " since=CASE WHEN status_accounts.state=excluded.state THEN status_accounts.since"
                " ELSE excluded.since END,"
                " state=excluded.state, run_id=excluded.run_id, at=excluded.at, kinds=excluded.kinds,"
                " groups=excluded.groups, reasons=excluded.reasons, differences=excluded.differences,"
                " fixed=excluded.fixed, notes=excluded.notes, desired=excluded.desired", rows)
            gone = [(r[0],) for r in db.execute("SELECT account_id FROM status_accounts WHERE run_id != ?",
                                                 (cycle.run_id,))]
            db.executemany("DELETE FROM status_accounts WHERE account_id = ?", gone)
            db.executemany("DELETE FROM status_recurring WHERE account_id = ?", gone)
            db.execute("DELETE FROM status_desired WHERE digest NOT IN"
                       " (SELECT desired FROM status_accounts WHERE desired IS NOT NULL)")


@dataclass
class Tally:
    """Counting helper for `CycleStatus.counts`."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, table: str, key: str, n: int = 1) -> None:
        bucket = self.counts.setdefault(table, {})
        bucket[key] = bucket.get(key, 0) + n

    def public(self, **extra: Any) -> dict[str, Any]:
        return {**{k: dict(sorted(v.items())) for k, v in self.counts.items()}, **extra}
