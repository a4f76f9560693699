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
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

Doc = dict[str, Any]
INDEXED = ("user_id", "account_id", "key")
MAX_RENDERED = 200_000  # rendered texts kept per view and table (a 100,000-account world's lists)
ROW_CHANGED = "emulator_row_changed"  # the SQL function the tables' triggers call


def to_json(value: Any) -> str:
    """Compact JSON without ASCII escaping: the API's rendering (``envelope.JSON``)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Table:
    def __init__(self, store: Store, name: str, key: str | None = None) -> None:
        self.store = store
        self.name = name
        self.key_field = key  # the document field mirrored into the indexed ``key`` column
        # find_rendered's texts: per view, document id -> the view's JSON text, UTF-8 (kept as
        # bytes: joined and sent as they are, never widened to a str of 4-byte characters by an emoji)
        self._rendered: dict[Callable[[Doc], Any], dict[int, bytes]] = {}
        db = store.db
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {name} ("
            " id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " user_id INTEGER, account_id INTEGER, key TEXT, data TEXT NOT NULL)"
        )
        # Any change to a row, by this class or by any SQL on this connection, forgets its
        # rendered texts: SQLite calls back for each row updated or deleted. (Ids are never
        # reused, AUTOINCREMENT, so an insert has nothing to forget; no REPLACE is used.)
        for event in ("UPDATE", "DELETE"):
            db.execute(f"CREATE TEMP TRIGGER IF NOT EXISTS {name}_forget_{event.lower()} AFTER {event} ON main.{name}"
                       f" BEGIN SELECT {ROW_CHANGED}('{name}', OLD.id); END")
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
        rows, total = self._page(page, per_page, order, descending, where)
        return [json.loads(text) for _, text in rows], total

    def find_rendered(
        self,
        view: Callable[[Doc], Any],
        *,
        page: int | None = None,
        per_page: int | None = None,
        order: str = "id",
        descending: bool = False,
        **where: Any,
    ) -> tuple[list[bytes], int]:
        """What ``find`` finds, each document as the compact JSON text (UTF-8) of
        ``view(document)``, and the total: for list answers, spliced into their envelope unparsed.

        ``view`` must depend on the document alone (no clock, no other table): its text is
        kept per document until the row changes (the table's triggers call back on every
        update and delete) and given again, unrendered and unread. A list page then costs
        neither reading nor decoding nor encoding for the rows it showed before (a row is
        about 10 µs of the three, a page of 100 a millisecond); only its ids are looked up."""
        ids, total = self._page_ids(page, per_page, order, descending, where)
        cache = self._rendered.get(view)
        if cache is None:
            cache = self._rendered[view] = {}
        texts = [cache.get(i) for i in ids]
        missing = tuple(i for i, text in zip(ids, texts, strict=True) if text is None)
        if missing:
            made = {id: to_json(view(json.loads(text))).encode() for id, text in self._by_ids(missing)}
            for id, rendered in made.items():
                if len(cache) >= MAX_RENDERED:
                    del cache[next(iter(cache))]  # the oldest: a bound, not a recency order
                cache[id] = rendered
            texts = [made.get(i) if text is None else text for i, text in zip(ids, texts, strict=True)]
        return [text for text in texts if text is not None], total

    def forget(self, id: int) -> None:
        """Drop the rendered texts of document ``id`` (it changed or went)."""
        for cache in self._rendered.values():
            cache.pop(id, None)

    def forget_all(self) -> None:
        self._rendered.clear()

    def _page_ids(self, page: int | None, per_page: int | None, order: str, descending: bool,
                  where: Mapping[str, Any]) -> tuple[tuple[int, ...], int]:
        """The ids of the matching documents in order, sliced; and their total."""
        clause, args = _where(where)
        total = self._count(clause, args)
        order_by = _order_by(order, descending)
        offset = ((page or 1) - 1) * per_page if per_page is not None else 0
        if per_page is not None and offset > 0:
            return self._ordered_ids(clause, args, order_by)[offset:offset + int(per_page)], total
        sql = f"SELECT id FROM {self.name}{clause}{order_by}"
        if per_page is not None:
            sql += f" LIMIT {int(per_page)}"
        return tuple(r[0] for r in self.store.db.execute(sql, args)), total

    def _ordered_ids(self, clause: str, args: list[Any], order_by: str) -> tuple[int, ...]:
        # For a later page OFFSET would step over every earlier row of the table (SQLite reads
        # each one to skip it: 0.3 ms at row 5,000). The ordered ids are read once, from the
        # index, and kept until the database changes; each page is then a slice of them.
        return tuple(self.store.reads.get(("ids", self.name, clause, tuple(args), order_by), lambda: tuple(
            r[0] for r in self.store.db.execute(f"SELECT id FROM {self.name}{clause}{order_by}", args))))

    def _page(self, page: int | None, per_page: int | None, order: str, descending: bool,
              where: Mapping[str, Any]) -> tuple[list[tuple[int, str]], int]:
        """(id, stored text) of the matching documents in order, sliced; and their total."""
        clause, args = _where(where)
        total = self._count(clause, args)
        order_by = _order_by(order, descending)
        offset = ((page or 1) - 1) * per_page if per_page is not None else 0
        if per_page is not None and offset > 0:
            return self._by_ids(self._ordered_ids(clause, args, order_by)[offset:offset + int(per_page)]), total
        sql = f"SELECT id, data FROM {self.name}{clause}{order_by}"
        if per_page is not None:
            sql += f" LIMIT {int(per_page)}"
        return self.store.db.execute(sql, args).fetchall(), total

    def _by_ids(self, ids: tuple[int, ...]) -> list[tuple[int, str]]:
        """(id, stored text) of ``ids``, in that order."""
        if not ids:
            return []
        found = dict(self.store.db.execute(
            f"SELECT id, data FROM {self.name} WHERE id IN ({','.join('?' * len(ids))})", ids).fetchall())
        return [(i, found[i]) for i in ids if i in found]

    def _count(self, clause: str, args: list[Any]) -> int:
        # A list's pages each ask for its total: counted once while the database is unchanged
        # (a COUNT over a 10,000-account user's index takes about 0.3 ms).
        return int(self.store.reads.get(("count", self.name, clause, tuple(args)), lambda: self.store.db.execute(
            f"SELECT COUNT(*) FROM {self.name}{clause}", args).fetchone()[0]))

    def all(self, **where: Any) -> list[Doc]:
        return self.find(**where)[0]

    def iter(self, **where: Any) -> Iterator[Doc]:
        clause, args = _where(where)
        for row in self.store.db.execute(f"SELECT data FROM {self.name}{clause} ORDER BY id", args):
            yield json.loads(row[0])

    def count(self, **where: Any) -> int:
        clause, args = _where(where)
        return self._count(clause, args)


def _order_by(order: str, descending: bool) -> str:
    col = order if order in INDEXED or order == "id" else f"json_extract(data, '$.{order}')"
    return f" ORDER BY {col} {'DESC' if descending else 'ASC'}, id"


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


class ReadCache:
    """Answers of read queries (counts, ordered ids), kept while the database is unchanged.

    "Unchanged" is SQLite's ``total_changes`` for the store's connection: every row inserted,
    updated or deleted through it (triggers included) moves it, so any write, in any table,
    drops every answer kept. A rolled-back transaction, which leaves the counter moved on but
    the rows as they were, drops them too (``Store.transaction``). For a database file, a
    commit by another connection (another process on the same file, which the emulator does
    not expect while it serves) moves ``PRAGMA data_version``: that drops them as well, and
    calls ``on_external_change`` (the tables' rendered texts, whose triggers see only this
    connection's writes). The answers are immutable (ints, tuples)."""

    MAX_ENTRIES = 256  # one entry per (list, filter): a plan reads a few dozen

    def __init__(self, db: sqlite3.Connection, *, shared_file: bool = False,
                 on_external_change: Callable[[], None] = lambda: None) -> None:
        self.db = db
        self.shared_file = shared_file
        self.on_external_change = on_external_change
        self._stamp = -1
        self._version: int | None = None
        self._answers: dict[tuple[Any, ...], Any] = {}

    def get(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        stamp = self.db.total_changes
        if self.shared_file:
            version = self.db.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:
                if self._version is not None:
                    self.on_external_change()
                self._version = version
                stamp = -2  # whatever was kept is stale
        if stamp != self._stamp:
            self._answers.clear()
            self._stamp = self.db.total_changes if stamp == -2 else stamp
        try:
            return self._answers[key]
        except KeyError:
            pass
        value = compute()
        if len(self._answers) >= self.MAX_ENTRIES:
            self._answers.clear()
        self._answers[key] = value
        return value

    def clear(self) -> None:
        self._answers.clear()
        self._stamp = -1


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
        self.reads = ReadCache(self.db, shared_file=path != ":memory:", on_external_change=self._forget_rendered)
        self.db.create_function(ROW_CHANGED, 2, self._row_changed)

    def _forget_rendered(self) -> None:
        for table in self._tables.values():
            table.forget_all()

    def _row_changed(self, table: str, id: int) -> None:
        """Called by SQLite for every row updated or deleted (the tables' temp triggers)."""
        t = self._tables.get(table)
        if t is not None:
            t.forget(id)

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
            # Read inside the transaction, kept answers and texts may show rows it undid (a
            # rollback restores rows without an update a trigger would see).
            self.reads.clear()
            self._forget_rendered()
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
