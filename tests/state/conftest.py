"""The state store's tests run against both backends: a SQLite file and a real PostgreSQL
database (a fresh one per test, on the session's server: ``tests/harness/postgres.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator.state.db import open_store
from orchestrator.state.store import StateStore

URL_A = "https://a.example/api/v1"
URL_B = "https://b.example/api/v1"

Opener = Callable[..., Awaitable[StateStore]]


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the store is: a SQLite file, or a fresh PostgreSQL database's URL."""
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
async def opener(target: str) -> AsyncIterator[Opener]:
    """``await opener(base_url, **kwargs)``: a store on ``target``, closed after the test."""
    opened: list[StateStore] = []

    async def open_one(base_url: str = URL_A, **kwargs: Any) -> StateStore:
        store = await open_store(target, base_url, **kwargs)
        opened.append(store)
        return store

    yield open_one
    for store in opened:
        await store.close()


@pytest.fixture
async def store(opener: Opener) -> StateStore:
    return await opener()
