"""A real uvicorn server on 127.0.0.1 (a free port), with the demo world, for this directory's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import Served, serve_demo


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """One demo world served by uvicorn for the module's tests (they only read it, or converge it)."""
    with serve_demo() as world:
        yield world
