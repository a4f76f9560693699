"""Fleet tests (import, sharding, deployment): the uvicorn-served demo world and the plan CLI
helper of tests/plan, shared here."""

from collections.abc import Iterator

import pytest

from orchestrator.emulator.app import create_app
from orchestrator.emulator.server import BackgroundServer, build_state
from tests.plan.conftest import cli  # noqa: F401  (``orchestrator plan`` against ``served``)
from tests.harness import Served  # noqa: F401
from tests.uvicorn.conftest import served  # noqa: F401  (a module-scoped uvicorn demo world)


@pytest.fixture
def fresh() -> Iterator[Served]:
    """A demo world of its own (frozen clock) served by uvicorn on 127.0.0.1, for a test that writes."""
    state, keys = build_state(seed="demo")
    with BackgroundServer(create_app(state)) as server:
        yield Served(server, keys, state)
