"""SQLite-backed document store for the emulator's state.

Every collection is a table of JSON documents with a few indexed columns
(``user_id``, ``account_id``, ``key``) that the API filters and scopes by. A document
store rather than a relational schema per module because the reference describes
resources as JSON objects with nested parts (targets, settings, data_fields); storing
them as the API shows them keeps models short, and the indexed columns keep the
lookups that matter (by owner, by account, by natural key) fast at 10,000 accounts.

The connection runs in autocommit mode; ``transaction()`` groups writes (seeding,
bulk endpoints). The ASGI app calls the store synchronously from the event loop, so
requests never interleave inside a model call: each request is atomic.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

Doc = dict[str, Any]
INDEXED = ("user_id", "account_id", "key")


class Table:
    def __init__(self, store: Store, name: str, key: str | None = None) -> None:
        self.store = store
        self.name = name
        self.key_field = key  # the document field mirrored into the indexed ``key`` column
        db = store.db
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {name} ("
            " id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " user_id INTEGER, account_id INTEGER, key TEXT, data TEXT NOT NULL)"
        )
        for col in INDEXED:
            db.execute(f"CREATE INDEX IF NOT EXISTS {name}_{col} ON {name}({col})")
        # A user's list in account order (every schedule list) is read from this index page by
        # page; without it SQLite sorted the user's whole table for each page (0.1 s a page of
        # a 100,000-schedule list, against 5 ms with it). The rowid (``id``, the tie-break of
        # the order) is part of every index.
        db.execute(f"CREATE INDEX IF NOT EXISTS {name}_user_account ON {name}(user_id, account_id)")

    # -- writes -------------------------------------------------------------
    def insert(self, doc: Doc) -> Doc:
        """Insert ``doc``; its ``id`` is assigned unless given. Returns the stored doc."""
        doc = dict(doc)
        cur = self.store.db.execute(
            f"INSERT INTO {self.name} (id, user_id, account_id, key, data) VALUES (?,?,?,?,?)",
            (doc.get("id"), doc.get("user_id"), doc.get("account_id"), self._key(doc), "{}"),
        )
        doc["id"] = cur.lastrowid
        self._write(doc)
        return doc

    def insert_many(self, docs: Iterable[Doc]) -> int:
        """Bulk insert for seeding; ids are assigned by SQLite in order."""
        rows = [
            (d.get("user_id"), d.get("account_id"), self._key(d), json.dumps(d, separators=(",", ":")))
            for d in docs
        ]
        with self.store.transaction():
            cur = self.store.db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {self.name}")
            first = cur.fetchone()[0] + 1
            self.store.db.executemany(
                f"INSERT INTO {self.name} (user_id, account_id, key, data) VALUES (?,?,?,?)", rows
            )
            # Stamp each document with its id so reads need no merge step.
            self.store.db.execute(
                f"UPDATE {self.name} SET data = json_set(data, '$.id', id) WHERE id >= ?", (first,)
            )
        return len(rows)

    def update(self, doc: Doc) -> Doc:
        self._write(doc)
        return doc

    def patch(self, id: int, changes: Mapping[str, Any]) -> Doc | None:
        doc = self.get(id)
        if doc is None:
            return None
        doc.update(changes)
        return self.update(doc)

    def delete(self, id: int) -> bool:
        cur = self.store.db.execute(f"DELETE FROM {self.name} WHERE id = ?", (id,))
        return cur.rowcount > 0

    def delete_where(self, **where: Any) -> int:
        clause, args = _where(where)
        cur = self.store.db.execute(f"DELETE FROM {self.name}{clause}", args)
        return cur.rowcount

    def _write(self, doc: Doc) -> None:
        self.store.db.execute(
            f"UPDATE {self.name} SET user_id=?, account_id=?, key=?, data=? WHERE id=?",
            (
                doc.get("user_id"),
                doc.get("account_id"),
                self._key(doc),
                json.dumps(doc, separators=(",", ":")),
                doc["id"],
            ),
        )

    def _key(self, doc: Doc) -> Any:
        return doc.get(self.key_field) if self.key_field else None

    # -- reads --------------------------------------------------------------
    def get(self, id: int) -> Doc | None:
        if not -(2**63) <= id < 2**63:  # SQLite integers are 64-bit; a larger id exists nowhere
            return None
        row = self.store.db.execute(f"SELECT data FROM {self.name} WHERE id = ?", (id,)).fetchone()
        return json.loads(row[0]) if row else None

    def find_one(self, **where: Any) -> Doc | None:
        clause, args = _where(where)
        row = self.store.db.execute(
            f"SELECT data FROM {self.name}{clause} ORDER BY id LIMIT 1", args
        ).fetchone()
        return json.loads(row[0]) if row else None

    def find(
        self,
        *,
        page: int | None = None,
        per_page: int | None = None,
        order: str = "id",
        descending: bool = False,
        **where: Any,
    ) -> tuple[list[Doc], int]:
        """Documents matching ``where`` and their total.

        ``where`` keys are indexed columns (``user_id``, ``account_id``, ``key``, ``id``)
        or document fields (matched with ``json_extract``); a value of ``None`` is
        ignored, a list or tuple means ``IN``. ``page``/``per_page`` slice the result.
        """
        clause, args = _where(where)
        total = self.store.db.execute(f"SELECT COUNT(*) FROM {self.name}{clause}", args).fetchone()[0]
        col = order if order in INDEXED or order == "id" else f"json_extract(data, '$.{order}')"
        sql = f"SELECT data FROM {self.name}{clause} ORDER BY {col} {'DESC' if descending else 'ASC'}, id"
        if per_page is not None:
            sql += f" LIMIT {int(per_page)} OFFSET {int(((page or 1) - 1) * per_page)}"
        rows = self.store.db.execute(sql, args).fetchall()
        return [json.loads(r[0]) for r in rows], total

    def all(self, **where: Any) -> list[Doc]:
        return self.find(**where)[0]

    def iter(self, **where: Any) -> Iterator[Doc]:
        clause, args = _where(where)
        for row in self.store.db.execute(f"SELECT data FROM {self.name}{clause} ORDER BY id", args):
            yield json.loads(row[0])

    def count(self, **where: Any) -> int:
        clause, args = _where(where)
        return self.store.db.execute(f"SELECT COUNT(*) FROM {self.name}{clause}", args).fetchone()[0]


def _where(where: Mapping[str, Any]) -> tuple[str, list[Any]]:
    parts: list[str] = []
    args: list[Any] = []
    for field, value in where.items():
        if value is None:
            continue
        if field in INDEXED or field == "id":
            col = field
        else:
            if not field.replace("_", "").replace(".", "").isalnum():
                raise ValueError(f"bad field name {field!r}")
            col = f"json_extract(data, '$.{field}')"
        if isinstance(value, (list, tuple, set, frozenset)):
            values = [v for v in value if not _out_of_range(v)]
            if not values:
                parts.append("0")
                continue
            parts.append(f"{col} IN ({','.join('?' * len(values))})")
            args.extend(_sql_value(v) for v in values)
        elif _out_of_range(value):
            parts.append("0")  # no stored integer can equal it
        else:
            parts.append(f"{col} = ?")
            args.append(_sql_value(value))
    return (" WHERE " + " AND ".join(parts) if parts else ""), args


def _out_of_range(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63


def _sql_value(value: Any) -> Any:
    # json_extract gives 1/0 for JSON booleans
    return int(value) if isinstance(value, bool) else value


class Store:
    """The emulator's database: ``:memory:`` by default, or a file that survives a restart."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        if path != ":memory:":
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
        self._tables: dict[str, Table] = {}
        self._depth = 0

    def table(self, name: str, key: str | None = None) -> Table:
        """The collection ``name``; ``key`` names the document field indexed as its natural key."""
        if name not in self._tables:
            self._tables[name] = Table(self, name, key)
        return self._tables[name]

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes; nested use joins the outer transaction."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.db.execute("BEGIN")
        self._depth = 1
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        else:
            self.db.execute("COMMIT")
        finally:
            self._depth = 0

    def get_meta(self, name: str) -> Any:
        row = self.db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def set_meta(self, name: str, value: Any) -> None:
        self.db.execute(
            "INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, json.dumps(value)),
        )

    def close(self) -> None:
        self.db.close()
