"""A real uvicorn server on 127.0.0.1 (a free port), with the demo world, for this directory's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrator.emulator.app import create_app
from orchestrator.emulator.server import BackgroundServer, build_state


class Served:
    def __init__(self, server: BackgroundServer, keys: dict[str, str], state) -> None:
        self.server, self.keys, self.state = server, keys, state

    @property
    def api(self) -> str:
        return f"{self.server.url}/api/v1"


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    state, keys = build_state(seed="demo")
    with BackgroundServer(create_app(state)) as server:
        yield Served(server, keys, state)
