"""Shared fixtures: an in-process emulator with the demo world, and raw HTTP clients for it.

Demo world facts tests may rely on: alice owns accounts 1-25 (fashion_* 1-8, fitness_* 9-15,
food_* 16-21, travel_* 22-25), bob owns 26-29 (pets_* 26-28, decor_home 29) and his plan lacks
``ai-dm``; admin owns 30 and is an admin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from orchestrator.emulator.clock import Clock
from orchestrator.emulator.state import EmulatorState
from orchestrator.emulator.testing import LocalEmulator

# A real PostgreSQL server for the state store's tests (postgres_server, pg_url).
pytest_plugins = ["tests.harness.postgres"]

ALICE_ACCOUNTS = range(1, 26)
BOB_ACCOUNTS = range(26, 30)
ADMIN_ACCOUNT = 30


@pytest.fixture
def emu() -> LocalEmulator:
    return LocalEmulator("demo")


@pytest.fixture
async def alice(emu: LocalEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with emu.http("alice") as client:
        yield client


@pytest.fixture
async def bob(emu: LocalEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with emu.http("bob") as client:
        yield client


@pytest.fixture
async def admin(emu: LocalEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with emu.http("admin") as client:
        yield client


@pytest.fixture
async def control(emu: LocalEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with emu.control() as client:
        yield client


NOON = datetime(2026, 3, 15, 12, 0, tzinfo=UTC)


def world(at: datetime = NOON) -> LocalEmulator:
    """The demo world with its clock fixed at ``at``, so engine runs and daily pause windows
    behave the same whatever the wall clock says."""
    return LocalEmulator("demo", state=EmulatorState(clock=Clock(at)))


async def all_items(client: httpx.AsyncClient, path: str, **params: object) -> list[dict]:
    """Every item of one page of 100 of a page-numbered list (the demo lists are shorter)."""
    return data(await client.get(path, params={"per_page": 100, **params}))["items"]  # type: ignore[index]


def data(response: httpx.Response, status: int = 200) -> object:
    """Assert the status and the success envelope; return ``data``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body.get("status") == "success" or body.get("success") is True, body
    return body["data"]


def error(response: httpx.Response, status: int, message: str | None = None) -> dict:
    """Assert an error envelope with ``status`` (and ``message`` when given); return the body."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body.get("status") == "error" or body.get("success") is False, body
    if message is not None:
        assert body["message"] == message, body
    return body


@pytest.fixture(autouse=True)
def _quiet_logs():
    """Library logging stays at warning in tests unless a test configures it (debug lines are noise)."""
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    yield
    structlog.reset_defaults()
