"""Fixtures for the reconcile tests; the helpers (a Reconciler on the in-process emulator, its
playbook, the emulator's counters, panel-side changes) are in ``tests.harness.reconcile``.

Demo world facts (see ``tests/conftest.py``): alice owns accounts 1-25, fashion_* 1-8
(fashion_nova is 1); food_vegan (18), food_kitchen and fitness_lift need a new login
(``login_required``) and food_kitchen's AI-DM schedule has no OpenAI key.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrator.emulator.app import create_app
from orchestrator.emulator.server import BackgroundServer, build_state


@pytest.fixture
def served() -> Iterator[dict[str, str]]:
    """A fresh demo world served by uvicorn on 127.0.0.1 (a free port): its API URL and alice's key."""
    state, keys = build_state(seed="demo")
    with BackgroundServer(create_app(state)) as server:
        yield {"url": f"{server.url}/api/v1", "key": keys["alice"]}

