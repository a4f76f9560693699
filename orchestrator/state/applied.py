"""What the last apply set, per (account, kind, path): how a plan tells drift from new intent.
And the accounts an apply saw live: how a plan tells an account deleted since from a typo.

When a plan wants a value that an earlier apply already set and verified, and live differs,
someone changed it since (in the web panel, another tool): that change undoes *drift*. When
the desired value itself is new, the change is new intent. Plans label the two apart.

The values live in their own table of the state database (next to the run history), written
after each verified wave; nothing secret is stored (values pass through the redaction of
``orchestrator.log``, and kinds keep secrets as references).

Beside them, the window claims: which windowed entry (``when:``) an apply added an item of an
additive list for (a target, a first-comment schedule), so that the item is taken back when
the window closes, and only then: a target present before, or added for an entry without a
window, is never claimed. A claim is written with its add and forgotten with any removal.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from orchestrator.contract import Claim
from orchestrator.log import redact_value
from orchestrator.plan import Change, canonical

SCHEMA = """
CREATE TABLE IF NOT EXISTS applied_values (
    account_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,
    value TEXT NOT NULL,           -- canonical JSON of the value the apply set
    run_id INTEGER,
    at REAL NOT NULL,
    PRIMARY KEY (account_id, kind, path)
);
CREATE TABLE IF NOT EXISTS window_claims (
    account_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    path TEXT NOT NULL,            -- as the add's change names it: targets[hashtag:blackfriday]
    window TEXT NOT NULL,          -- the windowed entry's name
    run_id INTEGER,
    at REAL NOT NULL,
    PRIMARY KEY (account_id, kind, path)
);
CREATE TABLE IF NOT EXISTS known_accounts (
    username TEXT PRIMARY KEY,     -- lower-cased
    account_id INTEGER NOT NULL,
    seen REAL NOT NULL
);
"""

Key = tuple[int, str, str]


class AppliedValues:
    """The last applied value per (account, kind, path), on a connection to the state database."""

    def __init__(self, db: sqlite3.Connection, *, create: bool = True) -> None:
        self.db = db
        if create:
            self.db.executescript(SCHEMA)

    def record(self, changes: Iterable[Change], run_id: int | None = None) -> None:
        """Remember what these (applied and verified) changes set; removals forget the path."""
        now = time.time()
        rows, gone, claims = [], [], []
        for c in changes:
            if c.action in ("remove", "delete"):
                gone.append((c.account_id, c.kind, c.path))
            else:
                rows.append((c.account_id, c.kind, c.path, canonical(redact_value(c.after)), run_id, now))
                if c.window is not None and c.action in ("add", "create"):
                    claims.append((c.account_id, c.kind, c.path, c.window, run_id, now))
        if not rows and not gone:
            return
        self.db.execute("BEGIN IMMEDIATE")  # one transaction per wave (the connection autocommits)
        try:
            self.db.executemany("INSERT OR REPLACE INTO applied_values VALUES (?,?,?,?,?,?)", rows)
            self.db.executemany("DELETE FROM applied_values WHERE account_id=? AND kind=? AND path=?", gone)
            self.db.executemany("INSERT OR REPLACE INTO window_claims VALUES (?,?,?,?,?,?)", claims)
            self.db.executemany("DELETE FROM window_claims WHERE account_id=? AND kind=? AND path=?", gone)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def record_accounts(self, accounts: Iterable[Any]) -> None:
        """Remember the live accounts (``id`` and ``username``) an apply read."""
        now = time.time()
        rows = [(str(_field(a, "username")).casefold(), int(_field(a, "id")), now) for a in accounts]
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany("INSERT OR REPLACE INTO known_accounts VALUES (?,?,?)", rows)
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def claims(self) -> frozenset[Claim]:
        """What applies added for windows and no removal has taken back since."""
        return frozenset(Claim(*row) for row in self.db.execute(
            "SELECT account_id, kind, path, window FROM window_claims"))

    def known_usernames(self) -> frozenset[str]:
        """Every username (lower-cased) an apply has seen live."""
        return frozenset(r[0] for r in self.db.execute("SELECT username FROM known_accounts"))

    def last(self, account_id: int, kind: str, path: str) -> object | None:
        row = self.db.execute("SELECT value FROM applied_values WHERE account_id=? AND kind=? AND path=?",
                              (account_id, kind, path)).fetchone()
        return json.loads(row[0]) if row else None

    def drift(self, changes: Iterable[Change]) -> frozenset[Key]:
        """The changes that undo drift: the plan wants again what the last apply set."""
        wanted = {(c.account_id, c.kind, c.path): canonical(c.after) for c in changes
                  if c.action not in ("create", "add", "remove", "delete")}
        if not wanted:
            return frozenset()
        found: set[Key] = set()
        for account_id, kind, path, value in self.db.execute(
            "SELECT account_id, kind, path, value FROM applied_values"
        ):
            key = (account_id, kind, path)
            if wanted.get(key) == value:
                found.add(key)
        return frozenset(found)


def _field(item: Any, name: str) -> Any:
    return item[name] if isinstance(item, dict) else getattr(item, name)


def known_of(state_db: str | Path | None) -> frozenset[str]:
    """The usernames an apply has seen live, per the state database (none when it does not exist)."""
    if state_db is None or not Path(state_db).exists():
        return frozenset()
    db = sqlite3.connect(f"file:{Path(state_db)}?mode=ro", uri=True)
    try:
        return AppliedValues(db, create=False).known_usernames()
    except sqlite3.OperationalError:  # an older database: no such table
        return frozenset()
    finally:
        db.close()


def claims_of(state_db: str | Path | None) -> frozenset[Claim]:
    """The window claims in the state database at ``state_db`` (none when it does not exist:
    a plan never creates the database)."""
    if state_db is None or not Path(state_db).exists():
        return frozenset()
    db = sqlite3.connect(f"file:{Path(state_db)}?mode=ro", uri=True)
    try:
        return AppliedValues(db, create=False).claims()
    except sqlite3.OperationalError:  # an older database: no such table
        return frozenset()
    finally:
        db.close()


def drift_of(state_db: str | Path | None, changes: Iterable[Change]) -> frozenset[Key]:
    """Drift in ``changes`` per the state database at ``state_db``; none when it does not exist
    (a plan never creates the database)."""
    if state_db is None or not Path(state_db).exists():
        return frozenset()
    db = sqlite3.connect(f"file:{Path(state_db)}?mode=ro", uri=True)
    try:
        return AppliedValues(db, create=False).drift(changes)
    except sqlite3.OperationalError:  # no such table yet: no apply recorded values
        return frozenset()
    finally:
        db.close()
