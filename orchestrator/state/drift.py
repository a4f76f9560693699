"""Drift history and per-account backoff, in the state database beside the run history.

Every reconcile cycle records what differed *before* it acted, one row per account, kind and
field, with what it did about it (``outcome``): so ``orchestrator history show RUN`` says what
one cycle found, and ``orchestrator history`` what keeps drifting, and where.

Backoff follows client-go's workqueue (``ItemExponentialFailureRateLimiter``): an account
whose changes fail or do not verify is retried after ``base * 2**(failures-1)`` seconds,
capped, while every other account goes on; a cycle that applies it and verifies forgets it.
Backed-off accounts are reported, not hammered.

The tables are additive: the runs table of ``orchestrator.state.history`` is the parent, and a
database from an older version gains them on first use. Values pass through the redaction
of ``orchestrator.log`` before they are written.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from orchestrator.log import redact_value

SCHEMA = """
CREATE TABLE IF NOT EXISTS drift (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id),
    at REAL NOT NULL,
    account_id INTEGER NOT NULL,
    username TEXT NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    action TEXT NOT NULL,
    before TEXT,                   -- JSON, redacted
    after TEXT,                    -- JSON, redacted
    outcome TEXT NOT NULL,         -- fixed | failed | unverified | reported | held | backed_off | blocked | not_started
    reason TEXT                    -- why blocked, held or backed off
);
CREATE INDEX IF NOT EXISTS drift_run ON drift(run_id);
CREATE INDEX IF NOT EXISTS drift_where ON drift(account_id, kind, path);
CREATE TABLE IF NOT EXISTS backoff (
    account_id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    failures INTEGER NOT NULL,
    next_try REAL NOT NULL,
    last_error TEXT
);
"""

OUTCOMES = ("fixed", "failed", "unverified", "reported", "held", "backed_off", "blocked", "not_started")


@dataclass(frozen=True)
class DriftRow:
    """One difference a cycle found, and what it did about it."""

    account_id: int
    username: str
    kind: str
    path: str
    action: str
    before: Any
    after: Any
    outcome: str
    reason: str | None = None

    def public(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Backoff:
    account_id: int
    username: str
    failures: int
    next_try: float
    last_error: str | None


@dataclass(frozen=True)
class BackoffPolicy:
    """Exponential per-account delays, as client-go's workqueue: ``base * 2**(n-1)``, capped."""

    base: float = 60.0
    cap: float = 6 * 3600.0

    def delay(self, failures: int) -> float:
        return float(min(self.cap, self.base * 2 ** max(0, failures - 1)))


class DriftStore:
    """The drift and backoff tables on a state database connection (``History.db``)."""

    def __init__(self, db: sqlite3.Connection, clock: Any = time.time) -> None:
        self.db = db
        self.clock = clock
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

    # -- drift ---------------------------------------------------------------------------------
    def record(self, run_id: int, rows: Iterable[DriftRow]) -> None:
        now = self.clock()
        with self._tx() as db:
            db.executemany(
                "INSERT INTO drift (run_id, at, account_id, username, kind, path, action, before, after, outcome,"
                " reason) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [(run_id, now, r.account_id, r.username, r.kind, r.path, r.action,
                  json.dumps(redact_value(r.before), default=str), json.dumps(redact_value(r.after), default=str),
                  r.outcome, redact_value(r.reason) if r.reason else None) for r in rows])

    def of_run(self, run_id: int) -> list[DriftRow]:
        rows = self.db.execute(
            "SELECT account_id, username, kind, path, action, before, after, outcome, reason FROM drift"
            " WHERE run_id=? ORDER BY username, kind, path", (run_id,)).fetchall()
        return [DriftRow(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6]), r[7], r[8]) for r in rows]

    def hot_spots(self, runs: int = 50, limit: int = 10, min_cycles: int = 2) -> list[dict[str, Any]]:
        """What keeps drifting: (account, kind, path) by the number of recent cycles it drifted
        in (``min_cycles`` at least: a first apply is not drift that comes back), blocked items
        apart (they are not drift the server keeps, but wait on a person)."""
        rows = self.db.execute(
            "SELECT username, kind, path, COUNT(DISTINCT run_id) AS cycles, MAX(at) FROM drift"
            " WHERE outcome != 'blocked' AND run_id IN (SELECT DISTINCT run_id FROM drift ORDER BY run_id DESC LIMIT ?)"
            " GROUP BY account_id, kind, path HAVING cycles >= ? ORDER BY cycles DESC, username, kind, path LIMIT ?",
            (runs, min_cycles, limit)).fetchall()
        return [{"username": r[0], "kind": r[1], "path": r[2], "cycles": r[3], "last": r[4]} for r in rows]

    def counts_by_run(self, run_ids: Iterable[int]) -> dict[int, dict[str, int]]:
        """Per run: drift rows by outcome (for the history listing)."""
        ids = list(run_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        out: dict[int, dict[str, int]] = {}
        for run_id, outcome, n in self.db.execute(
                f"SELECT run_id, outcome, COUNT(*) FROM drift WHERE run_id IN ({marks}) GROUP BY run_id, outcome", ids):
            out.setdefault(run_id, {})[outcome] = n
        return out

    # -- backoff -------------------------------------------------------------------------------
    def backoffs(self) -> dict[int, Backoff]:
        rows = self.db.execute("SELECT account_id, username, failures, next_try, last_error FROM backoff").fetchall()
        return {r[0]: Backoff(*r) for r in rows}

    def failed(self, account_id: int, username: str, error: str, policy: BackoffPolicy) -> Backoff:
        """One more failure for ``account_id``: its next try moves out exponentially."""
        now = self.clock()
        row = self.db.execute("SELECT failures FROM backoff WHERE account_id=?", (account_id,)).fetchone()
        failures = (row[0] if row else 0) + 1
        entry = Backoff(account_id, username, failures, now + policy.delay(failures), redact_value(error))
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO backoff (account_id, username, failures, next_try, last_error)"
                       " VALUES (?,?,?,?,?)", (entry.account_id, entry.username, entry.failures, entry.next_try,
                                               entry.last_error))
        return entry

    def forget(self, account_ids: Iterable[int]) -> None:
        ids = [(a,) for a in account_ids]
        if ids:
            with self._tx() as db:
                db.executemany("DELETE FROM backoff WHERE account_id=?", ids)


# -- rendering (history show, history) ------------------------------------------------------------
def _value(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, default=str, sort_keys=True)


def render_run(run: Any, rows: list[DriftRow]) -> str:
    """``history show RUN``: the run, then its drift by account and kind, one line per field."""
    report = run.report or {}
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(run.started))
    lines = [f"#{run.id} {run.command} {run.status}  started {when}"]
    if report.get("message"):
        lines.append(f"  {report['message']}")
    cause = (report.get("reconcile") or {}).get("cause") or {}
    if cause.get("reason") == "window":  # the cycle ran because entry windows opened or closed
        lines.append("  ran for the window: " + ", ".join(
            f"`{w.get('entry')}` {'opened' if w.get('event') == 'open' else 'closed'} at {w.get('at')}"
            for w in cause.get("windows", [])))
    if not rows:
        lines.append("  no drift recorded" if run.command.startswith("reconcile") else
                     "  no drift recorded (drift is recorded by reconcile cycles)")
        return "\n".join(lines)
    current: tuple[str, str] | None = None
    for r in rows:
        if (r.username, r.kind) != current:
            current = (r.username, r.kind)
            lines.append(f"\n{r.username} · {r.kind}")
        what = r.path if r.action not in ("update", "set") else f"{r.path}: {_value(r.before)} -> {_value(r.after)}"
        if r.action in ("activate", "pause", "start", "stop"):
            what = f"{r.path}: {r.before} -> {r.after}"
        lines.append(f"  {r.outcome:<11} {r.action:<8} {what}" + (f"   ({r.reason})" if r.reason else ""))
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    lines.append("\n" + ", ".join(f"{n} {o}" for o, n in sorted(counts.items())) + ".")
    return "\n".join(lines)


def render_hot_spots(spots: list[dict[str, Any]]) -> str:
    """``history``'s answer to "what keeps drifting, and where?"."""
    if not spots:
        return ""
    lines = ["What keeps drifting (recent reconcile cycles):"]
    for s in spots:
        lines.append(f"  {s['cycles']:>3} cycles  {s['username']} · {s['kind']} {s['path']}")
    return "\n".join(lines)
