"""State stores for tests: the SQLite store on a file, and a synchronous view of it for tests
that read what a CLI run (another process, or ``CliRunner``) left in the state database."""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import Any

import anyio

from orchestrator.state.db import open_sqlite
from orchestrator.state.store import StateStore

#: The installation of in-process tests' stores (the store never talks to it).
TEST_URL = "http://emulator.invalid/api/v1"


def sqlite_store(path: str | Path, base_url: str = TEST_URL, **kwargs: Any) -> StateStore:
    """The SQLite store at ``path`` for ``base_url``'s installation, opened (use ``await store.close()``)."""
    return open_sqlite(path, base_url, **kwargs)


class SyncStore:
    """The store's coroutines run to completion one by one (``anyio.run``), for sync tests:
    ``with SyncStore(db, url) as history: history.runs()``."""

    def __init__(self, path: str | Path, base_url: str = TEST_URL, **kwargs: Any) -> None:
        self.store: Any = open_sqlite(path, base_url, **kwargs)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.store, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *a, **k: anyio.run(functools.partial(attr, *a, **k))
        return attr

    def close(self) -> None:
        self.store.close_sync()

    def __enter__(self) -> SyncStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
