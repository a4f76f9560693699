"""Fixtures for the API client tests: a ``SharingtoolsClient`` wired to the in-process emulator.

``emu`` and ``control`` come from ``tests/conftest.py``. The clients never really sleep:
``_no_wait`` only yields, so backoff and rate-limit waits cost nothing in tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import anyio.lowlevel
import httpx
import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.emulator.testing import BASE_URL, LocalEmulator
from tests.harness.world import stored  # noqa: F401  (this directory's tests import it from here)


async def _no_wait(seconds: float) -> None:
    """Stand in for ``anyio.sleep``: yield to the loop without waiting."""
    await anyio.lowlevel.checkpoint()


def make_client(emu: LocalEmulator, key: str) -> SharingtoolsClient:
    """A client on ``emu`` with ``key`` (use ``async with``): for users a test creates."""
    return SharingtoolsClient(
        f"{BASE_URL}/api/v1", key, transport=emu.transport(), rate=10_000, sleep=_no_wait
    )


@pytest.fixture
async def client(emu: LocalEmulator) -> AsyncIterator[SharingtoolsClient]:
    """The client authenticated as alice (accounts 1-25)."""
    async with make_client(emu, emu.keys["alice"]) as c:
        yield c


@pytest.fixture
async def bob_client(emu: LocalEmulator) -> AsyncIterator[SharingtoolsClient]:
    """The client authenticated as bob (accounts 26-29; his plan lacks ``ai-dm``)."""
    async with make_client(emu, emu.keys["bob"]) as c:
        yield c


# -- helpers for reading the server's side (this directory's tests import them from here)
async def request_count(control: httpx.AsyncClient, method: str, route: str) -> int:
    """How many ``method route`` requests the emulator answered (``route`` as templated,
    e.g. ``/captions`` or ``/captions/{id}``), injected faults included."""
    rows = (await control.get("/requests")).json()["requests"]
    return sum(r["count"] for r in rows if r["method"] == method and r["route"] == route)


async def lose_responses(
    control: httpx.AsyncClient, seed: int, rate: float = 0.5, *, drop: float = 0.0,
    methods: tuple[str, ...] = ("POST",),
) -> None:
    """Make the emulator apply ``methods`` writes but lose the answer with probability ``rate``
    (and, with ``drop``, drop that share of them before they are applied)."""
    body = {"lost_response_rate": rate, "drop_rate": drop, "methods": list(methods), "seed": seed}
    (await control.put("/faults", json=body)).raise_for_status()


async def clear_faults(control: httpx.AsyncClient) -> None:
    (await control.delete("/faults")).raise_for_status()
