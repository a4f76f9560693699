"""Fleet tests (import, sharding, deployment): the uvicorn-served demo world and the plan CLI
helper, from ``tests.harness``."""

from collections.abc import Iterator

import pytest

from orchestrator.emulator.app import create_app
from orchestrator.emulator.server import BackgroundServer, build_state
from tests.harness import Served
from tests.harness.plan_cli import plan_cli  # noqa: F401  (``cli``: ``orchestrator plan`` against ``served``)
from tests.harness.served import served_per_module  # noqa: F401  (``served``: one uvicorn demo world per module)


@pytest.fixture
def fresh() -> Iterator[Served]:
    """A demo world of its own (frozen clock) served by uvicorn on 127.0.0.1, for a test that writes."""
    state, keys = build_state(seed="demo")
    with BackgroundServer(create_app(state)) as server:
        yield Served(server, keys, state)
