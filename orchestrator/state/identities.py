"""Which server object is which playbook item, and which upload holds which file content.

The API names neither: a post has no field for the playbook's name of it, and an upload is
just a new file id. So what apply made is remembered here, in two tables of the state database:

- ``server_objects``: (kind, account, the item's key in the playbook) -> the server's id
  (a post called ``winter-teaser`` on account 7 is post 4312);
- ``uploads``: a file's content (SHA-256) -> the media id it was uploaded as, so a file is
  uploaded once, whatever the number of accounts and runs.

These are a cache of facts the server can also tell (see ``kinds/posts``: a post carries a
marker in its caption, an upload's name carries its content's hash): losing the database costs
reads, never a second copy. The tiny API (`Identities`, `remembered`) is all the rest of the
orchestrator sees, so the store behind it can change; kinds see it as their ``Memory``
(``kinds/base.py``).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Collection
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS server_objects (
    kind TEXT NOT NULL,
    account_id INTEGER NOT NULL,
    key TEXT NOT NULL,             -- the item's identity in the playbook (a post's name)
    server_id INTEGER NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (kind, account_id, key)
);
CREATE TABLE IF NOT EXISTS uploads (
    sha256 TEXT PRIMARY KEY,       -- the file's content
    media_id INTEGER NOT NULL,
    at REAL NOT NULL
);
"""


class Identities:
    """Server ids of playbook items and uploads, read and written through a connection to the
    state database (the apply's: it holds the run lock). Each write is one statement, committed
    on its own: a create is remembered as soon as its answer is in."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.db.executescript(SCHEMA)

    def objects(self, kind: str, account_ids: Collection[int]) -> dict[tuple[int, str], int]:
        """(account id, key) -> server id, for these accounts."""
        wanted = set(account_ids)
        rows = self.db.execute("SELECT account_id, key, server_id FROM server_objects WHERE kind=?", (kind,))
        return {(a, k): s for a, k, s in rows if a in wanted}

    def remember_object(self, kind: str, account_id: int, key: str, server_id: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO server_objects VALUES (?,?,?,?,?)",
                        (kind, account_id, key, server_id, time.time()))

    def forget_object(self, kind: str, account_id: int, key: str) -> None:
        self.db.execute("DELETE FROM server_objects WHERE kind=? AND account_id=? AND key=?", (kind, account_id, key))

    def upload(self, sha256: str) -> int | None:
        """The media id the file of this content was uploaded as, if it was."""
        row = self.db.execute("SELECT media_id FROM uploads WHERE sha256=?", (sha256,)).fetchone()
        return int(row[0]) if row else None

    def remember_upload(self, sha256: str, media_id: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO uploads VALUES (?,?,?)", (sha256, media_id, time.time()))

    def forget_upload(self, sha256: str) -> None:
        self.db.execute("DELETE FROM uploads WHERE sha256=?", (sha256,))


Objects = dict[tuple[str, int, str], int]  # (kind, account id, key) -> server id


def remembered(state_db: str | Path | None) -> tuple[Objects, dict[str, int]]:
    """Everything the state database at ``state_db`` remembers, read once and read-only, for a
    plan (which never writes the database): the server objects and the uploads. Empty when
    there is no database, or it predates these tables."""
    if state_db is None or not Path(state_db).exists():
        return {}, {}
    db = sqlite3.connect(f"file:{Path(state_db)}?mode=ro", uri=True)
    try:
        objects = {(k, a, key): s for k, a, key, s in
                   db.execute("SELECT kind, account_id, key, server_id FROM server_objects")}
        uploads = {sha: m for sha, m in db.execute("SELECT sha256, media_id FROM uploads")}
    except sqlite3.OperationalError:  # no such table: no apply made anything yet
        return {}, {}
    finally:
        db.close()
    return objects, uploads
