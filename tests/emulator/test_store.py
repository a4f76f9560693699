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
