"""Fixtures for the apply tests; the helpers themselves are in ``tests.harness``.

Demo world facts (see ``tests/conftest.py``): alice owns accounts 1-25, fashion_* 1-8
(fashion_nova is 1), fitness_* 9-15, food_* 16-21, travel_* 22-25.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import Served, serve_demo


@pytest.fixture
def served() -> Iterator[Served]:
    """A fresh demo world served by uvicorn, for one test."""
    with serve_demo() as world:
        yield world
