"""Opening the state store named by ``state_db`` (``--state-db``, ``SHARINGTOOLS_STATE_DB``):
a path opens the SQLite store, a ``postgresql://`` URL the PostgreSQL one.

A state database that is garbage, a directory, read-only, unreachable or named by an empty
``SHARINGTOOLS_STATE_DB`` is found here, before any request, as one line (``StateDbError``)
rather than as a driver's traceback halfway through a run; a password in the URL is masked.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

import anyio.to_thread

from orchestrator.state.store import (
    DAY,
    DEFAULT_BUSY_TIMEOUT,
    SCHEMA_VERSION,
    RetentionPolicy,
    StateDbError,
    StateStore,
    StateStoreError,
    is_postgres_url,
    mask_url,
)

__all__ = ["StateDbError", "StateStoreError", "open_store", "open_state", "open_readonly", "open_sqlite", "describe"]


def describe(target: str | os.PathLike[str]) -> str:
    """``target`` fit to print (a password masked)."""
    return mask_url(os.fspath(target))


async def open_store(target: str | os.PathLike[str], base_url: str, *, shard: str | None = None,
                     busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
                     retention: RetentionPolicy | None = None) -> StateStore:
    """The store at ``target`` for ``base_url``'s installation, migrated and checked writable."""
    text = os.fspath(target).strip()
    if is_postgres_url(text):
        from orchestrator.state.postgres import PostgresStore

        store = await PostgresStore(text, base_url, shard=shard, busy_timeout=busy_timeout,
                                    retention=retention).open()
        assert store is not None
        return store
    return await anyio.to_thread.run_sync(lambda: open_sqlite(text, base_url, shard=shard, busy_timeout=busy_timeout,
                                                              retention=retention))


async def open_state(settings: Any, shard: Any = None) -> StateStore:
    """The store ``settings`` name (``state_db``, the base URL, the busy timeout, the retention)."""
    return await open_store(settings.state_db, settings.base_url, shard=str(shard) if shard is not None else None,
                            busy_timeout=settings.state_busy_timeout, retention=retention_of(settings))


def retention_of(settings: Any) -> RetentionPolicy:
    return RetentionPolicy(older_than=settings.retention_days * DAY, keep=settings.retention_runs)


def open_sqlite(path: str | os.PathLike[str], base_url: str, *, shard: str | None = None,
                busy_timeout: float = DEFAULT_BUSY_TIMEOUT, retention: RetentionPolicy | None = None) -> StateStore:
    """The SQLite store at ``path`` (synchronously: for tests and threads), or ``StateDbError``."""
    from orchestrator.state.sqlite import SqliteStore

    text = os.fspath(path).strip()
    if text in ("", "."):
        raise StateDbError(path, "the path is empty")
    if os.path.isdir(text):
        raise StateDbError(path, "it is a directory")
    try:
        store = SqliteStore(text, base_url, shard=shard, busy_timeout=busy_timeout, retention=retention)
    except (sqlite3.Error, OSError) as exc:
        raise StateDbError(path, _reason(exc)) from None
    try:
        return store.open_sync()
    except BaseException:
        store.db.close()
        raise


async def open_readonly(target: str | os.PathLike[str] | None, base_url: str,
                        shard: str | None = None) -> StateStore | None:
    """The store at ``target`` for reading only (``plan``): None when there is none yet, or it
    is of an older schema, or cannot be read; a plan never creates or migrates a database."""
    if target is None:
        return None
    text = os.fspath(target).strip()
    if is_postgres_url(text):
        from orchestrator.state.postgres import PostgresStore

        try:
            return await PostgresStore(text, base_url, shard=shard, busy_timeout=10).open(readonly=True)
        except StateStoreError:
            return None

    def open_ro() -> StateStore | None:
        from orchestrator.state.sqlite import SqliteStore

        if not text or not Path(text).is_file():
            return None
        try:
            store = SqliteStore(text, base_url, shard=shard, readonly=True, busy_timeout=5)
            if store.version() != SCHEMA_VERSION:
                store.db.close()
                return None
            return store
        except (sqlite3.Error, StateStoreError):
            return None
    return await anyio.to_thread.run_sync(open_ro)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc)
