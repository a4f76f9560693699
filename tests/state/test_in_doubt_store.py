"""Operations in doubt on both backends: what `in_doubt` returns (pending and in-doubt rows of
this installation and shard only, with when each was given up), `resolve`, and the migration
to schema version 6 of a database that already holds a killed run's pending rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from orchestrator.contract.vocabulary import OpStatus
from orchestrator.state.db import open_store
from orchestrator.state.store import SCHEMA_VERSION, Resolution, StateStore
from tests.state.conftest import URL_A, URL_B, Opener

ARGS = {"targets": [{"username": "launchbrand"}], "comments": ["First!"], "comment_mode": "random",
        "is_active": True}


async def test_in_doubt_holds_pending_and_in_doubt_rows_of_this_installation_and_shard(opener: Opener) -> None:
    clock = iter(float(t) for t in range(100, 200))
    store = await opener(URL_A)
    store.clock = lambda: next(clock)  # type: ignore[attr-defined] # both backends' clock: times in order
    elsewhere: StateStore = await opener(URL_B)
    shard = await opener(URL_A, shard="1/2")
    run = await store.start_run("apply", "sha256:ab", [1, 2, 3, 4])
    done = await store.op_started(run, 1, "first_comment", "create", ARGS)
    store.op_finished(done)
    cancelled = await store.op_started(run, 2, "first_comment", "create", ARGS)
    store.op_finished(cancelled, "cancelled before its answer came", OpStatus.IN_DOUBT)
    killed = await store.op_started(run, 3, "first_comment", "create", ARGS)  # left pending, as SIGKILL leaves it
    failed = await store.op_started(run, 4, "first_comment", "create", ARGS)
    store.op_finished(failed, "422 invalid")
    other = await elsewhere.op_started(await elsewhere.start_run("apply", None, [3]), 3, "captions", "create", {})
    sharded = await shard.op_started(await shard.start_run("apply", None, [5]), 5, "posts", "create", {})

    found = await store.in_doubt()  # reading flushes the buffered ends
    assert [(d.id, d.account_id, d.status) for d in found] == [
        (cancelled, 2, OpStatus.IN_DOUBT), (killed, 3, OpStatus.PENDING)]
    first, second = found
    assert first.args == ARGS and first.kind == "first_comment" and first.name == "create"
    assert first.error == "cancelled before its answer came" and second.error is None
    # Given up when its end was recorded (the clock's 5th reading: the run, two starts, an end,
    # then this end); a pending row only says when it was journaled (the 6th).
    assert (first.since, second.since) == (104.0, 105.0)
    assert [d.id for d in await elsewhere.in_doubt()] == [other]
    assert [d.id for d in await shard.in_doubt()] == [sharded]

    await store.resolve([Resolution(cancelled, OpStatus.DONE, "took effect after all"),
                         Resolution(killed, OpStatus.RESOLVED, "did not take effect")])
    assert await store.in_doubt() == []
    assert [o["status"] for o in await store.operations(run)] == ["done", "done", "resolved", "failed"]
    assert [d.id for d in await elsewhere.in_doubt()] == [other]  # another installation's are its own


async def test_a_version_5_database_with_a_killed_runs_pending_rows_migrates_to_6(target: str, tmp_path: Path) -> None:
    store = await open_store(target, URL_A)
    try:
        run = await store.start_run("apply", None, [7])
        op = await store.op_started(run, 7, "first_comment", "create", ARGS)
    finally:
        await store.close()
    await _back_to_version_5(target)

    store = await open_store(target, URL_A)
    try:
        (doubt,) = await store.in_doubt()
        assert (doubt.id, doubt.status, doubt.args) == (op, OpStatus.PENDING, ARGS)
        await store.resolve([Resolution(op, OpStatus.RESOLVED, "did not take effect")])
        assert await store.in_doubt() == []
    finally:
        await store.close()
    assert await _version(target) == SCHEMA_VERSION == 6


async def _back_to_version_5(target: str) -> None:
    """Undo version 6 as a release of version 5 would have left the database."""
    statements = ["DROP INDEX operations_unsettled", "ALTER TABLE operations DROP COLUMN resolution",
                  "ALTER TABLE operations DROP COLUMN resolved", "DELETE FROM schema_version WHERE version = 6"]
    if target.startswith("postgresql://"):
        import psycopg

        async with await psycopg.AsyncConnection.connect(target, autocommit=True) as conn:
            for statement in statements:
                await conn.execute(statement)
        return
    db = sqlite3.connect(target)
    try:
        for statement in statements:
            db.execute(statement)
        db.commit()
    finally:
        db.close()


async def _version(target: str) -> int:
    if target.startswith("postgresql://"):
        import psycopg

        async with await psycopg.AsyncConnection.connect(target) as conn:
            cur = await conn.execute("SELECT MAX(version) FROM schema_version")
            return int((await cur.fetchone())[0])  # type: ignore[index]
    db = sqlite3.connect(target)
    try:
        return int(db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0])
    finally:
        db.close()
