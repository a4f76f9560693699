"""The uvicorn-served demo world as pytest fixtures, both named ``served``: one world per module
(tests that only read it, or converge it) or one per test (tests that write what the next must
not see). A directory's conftest picks its scope by importing one of them:

    from tests.harness.served import served_per_module  # noqa: F401
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.world import Served, serve_demo


@pytest.fixture(scope="module", name="served")
def served_per_module() -> Iterator[Served]:
    """One demo world served by uvicorn for the module's tests (they only read it, or converge it)."""
    with serve_demo() as world:
        yield world


@pytest.fixture(name="served")
def served_per_test() -> Iterator[Served]:
    """A fresh demo world served by uvicorn, for one test."""
    with serve_demo() as world:
        yield world
