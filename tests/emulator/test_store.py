"""The emulator's document store: lists read in index order, not sorted whole per page."""

from __future__ import annotations

from orchestrator.emulator.store import Store


def _plan_of(store: Store, sql: str, *args: object) -> str:
    return " | ".join(row[-1] for row in store.db.execute(f"EXPLAIN QUERY PLAN {sql}", args))


def test_a_users_list_in_account_order_is_read_from_an_index():
    """Every schedule list is a user's documents in account order, a page at a time: without
    an index in that order SQLite sorts the user's whole table for every page, which made a
    page of a 100,000-schedule list cost 0.1 s of the emulator's time."""
    store = Store()
    table = store.table("reactions_schedules")
    table.insert_many({"user_id": 1 + i % 2, "account_id": 500 - i, "is_active": True} for i in range(200))
    plan = _plan_of(store, "SELECT data FROM reactions_schedules WHERE user_id = ? ORDER BY account_id ASC, id "
                           "LIMIT 100 OFFSET 50", 1)
    assert "TEMP B-TREE" not in plan, plan
    docs, total = table.find(user_id=1, order="account_id", page=2, per_page=30)
    assert total == 100
    assert [d["account_id"] for d in docs] == sorted(d["account_id"] for d in docs)
    everything = table.find(user_id=1, order="account_id")[0]
    assert [d["account_id"] for d in docs] == [d["account_id"] for d in everything[30:60]]


def _offset_page(store: Store, name: str, page: int, per_page: int, order: str, descending: bool = False) -> list:
    """The page as one OFFSET query gives it (what ``find`` answered before its id cache)."""
    col = order if order in ("id", "user_id", "account_id", "key") else f"json_extract(data, '$.{order}')"
    rows = store.db.execute(
        f"SELECT data FROM {name} WHERE user_id = ? ORDER BY {col} {'DESC' if descending else 'ASC'}, id "
        f"LIMIT {per_page} OFFSET {(page - 1) * per_page}", (1,)).fetchall()
    import json

    return [json.loads(r[0]) for r in rows]


def test_every_page_is_the_offset_querys_page_in_any_order():
    store = Store()
    table = store.table("logs")
    table.insert_many({"user_id": 1 + i % 3, "account_id": i % 7, "date": f"2026-01-{i % 28 + 1:02d}"}
                      for i in range(300))
    for order, descending in (("id", False), ("account_id", False), ("date", True), ("date", False)):
        for page in (1, 2, 3, 7, 99):
            docs, total = table.find(user_id=1, order=order, descending=descending, page=page, per_page=17)
            assert total == 100
            assert docs == _offset_page(store, "logs", page, 17, order, descending), (order, page)


def test_a_write_or_a_rollback_is_seen_by_the_next_page_and_count():
    store = Store()
    table = store.table("accounts")
    table.insert_many({"user_id": 1, "n": i} for i in range(50))
    assert table.find(user_id=1, page=2, per_page=10)[1] == 50 == table.count(user_id=1)
    table.insert({"user_id": 1, "n": 50})
    docs, total = table.find(user_id=1, page=6, per_page=10)
    assert total == 51 and [d["n"] for d in docs] == [50]
    first = table.find(user_id=1, page=2, per_page=10)[0][0]
    first["n"] = -1
    table.update(first)  # an update moves no row, but the page must show it
    assert table.find(user_id=1, page=2, per_page=10)[0][0]["n"] == -1
    try:
        with store.transaction():
            table.delete(first["id"])
            assert table.count(user_id=1) == 50 and table.find(user_id=1, page=2, per_page=10)[0][0]["n"] == 11
            raise RuntimeError("undo")
    except RuntimeError:
        pass
    assert table.count(user_id=1) == 51  # the rollback undid the delete, and the counts know it
    assert table.find(user_id=1, page=2, per_page=10)[0][0]["n"] == -1


def test_rendered_pages_are_the_views_of_the_documents_and_follow_every_write():
    from orchestrator.emulator.envelope import ok, ok_page, paged
    from orchestrator.emulator.store import to_json

    store = Store()
    table = store.table("things")
    table.insert_many({"user_id": 1, "n": i, "name": f"naïve {i}", "secret": "x"} for i in range(40))

    def view(doc: dict) -> dict:
        return {"id": doc["id"], "n": doc["n"], "name": doc["name"]}

    for page in (1, 2, 3, 4):
        texts, total = table.find_rendered(view, user_id=1, page=page, per_page=15)
        docs, _ = table.find(user_id=1, page=page, per_page=15)
        assert texts == [to_json(view(d)).encode() for d in docs] and total == 40
        assert ok_page(texts, total, page, 15).body == ok(paged([view(d) for d in docs], total, page, 15)).body
    again, _ = table.find_rendered(view, user_id=1, page=1, per_page=15)  # from the kept texts
    assert again == [to_json(view(d)).encode() for d in table.find(user_id=1, page=1, per_page=15)[0]]
    doc = table.find(user_id=1, page=1, per_page=1)[0][0]
    doc["name"] = "renamed"
    table.update(doc)
    assert b'"name":"renamed"' in table.find_rendered(view, user_id=1, page=1, per_page=1)[0][0]
    with store.transaction():  # a write the next read sees, in or out of a transaction
        table.patch(doc["id"], {"n": 99})
        assert b'"n":99' in table.find_rendered(view, user_id=1, page=1, per_page=1)[0][0]
    assert ok_page([], 0, 9, 15).body == ok(paged([], 0, 9, 15)).body


def test_a_rendered_text_is_forgotten_by_any_write_to_its_row():
    """Kept texts follow the rows, whatever writes them: the table's own methods, SQL on the
    connection, a delete, or a rollback that restores a row read inside the transaction."""
    store = Store()
    table = store.table("things")
    table.insert_many({"user_id": 1, "n": i} for i in range(5))

    def view(doc: dict) -> dict:
        return {"n": doc["n"]}

    def page() -> list[str]:
        return table.find_rendered(view, user_id=1, page=1, per_page=10)[0]

    assert page() == [f'{{"n":{i}}}'.encode() for i in range(5)]
    store.db.execute("UPDATE things SET data = json_set(data, '$.n', 40) WHERE id = 1")
    table.delete(2)
    assert page() == [b'{"n":40}', b'{"n":2}', b'{"n":3}', b'{"n":4}']
    try:
        with store.transaction():
            table.patch(3, {"n": 30})
            assert page()[1] == b'{"n":30}'
            raise RuntimeError("undo")
    except RuntimeError:
        pass
    assert page() == [b'{"n":40}', b'{"n":2}', b'{"n":3}', b'{"n":4}']


def test_a_database_file_written_by_another_connection_is_read_afresh(tmp_path):
    import sqlite3

    store = Store(str(tmp_path / "world.db"))
    table = store.table("things")
    table.insert_many({"user_id": 1, "n": i} for i in range(30))

    def view(doc: dict) -> dict:
        return {"n": doc["n"]}

    assert table.find_rendered(view, user_id=1, page=2, per_page=10)[0][0] == b'{"n":10}'
    assert table.count(user_id=1) == 30
    other = sqlite3.connect(str(tmp_path / "world.db"))
    with other:
        other.execute("UPDATE things SET data = json_set(data, '$.n', -10) WHERE id = 11")
        other.execute("DELETE FROM things WHERE id = 30")
    other.close()
    assert table.find_rendered(view, user_id=1, page=2, per_page=10)[0][0] == b'{"n":-10}'
    assert table.count(user_id=1) == 29
    store.close()


def test_rendered_texts_stay_bounded_and_a_full_cache_loses_no_row(monkeypatch):
    import orchestrator.emulator.store as store_module

    monkeypatch.setattr(store_module, "MAX_RENDERED", 8)
    store = Store()
    table = store.table("things")
    table.insert_many({"user_id": 1, "n": i} for i in range(30))

    def view(doc: dict) -> dict:
        return {"n": doc["n"]}

    for page in (1, 2, 3, 1, 3):
        texts, _ = table.find_rendered(view, user_id=1, page=page, per_page=10)
        assert texts == [f'{{"n":{n}}}'.encode() for n in range((page - 1) * 10, page * 10)]
        assert len(table._rendered[view]) <= 8
