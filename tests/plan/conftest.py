"""Fixtures for the plan tests; the helpers (a recording client on the in-process emulator, the
CLI against the uvicorn ``served`` world, ``schema_errors`` for the plan schema) are in
``tests.harness.plan_cli``.

Demo world facts used here (see ``tests/conftest.py``): alice owns accounts 1-25, bob owns
26-29 and his plan lacks ``ai-dm``; travel_coast and travel_peak have no Repost Pro schedule.
"""

from __future__ import annotations

import pytest

from orchestrator.emulator.testing import LocalEmulator
from tests.harness.plan_cli import Recorded, plan_cli  # noqa: F401  (``cli``: ``orchestrator plan`` against ``served``)
from tests.harness.served import served_per_module  # noqa: F401  (``served``: one uvicorn demo world per module)


@pytest.fixture
def recorded(emu: LocalEmulator) -> Recorded:
    return Recorded(emu)
