"""Fixtures for the apply tests; the helpers themselves are in ``tests.harness``.

Demo world facts (see ``tests/conftest.py``): alice owns accounts 1-25, fashion_* 1-8
(fashion_nova is 1), fitness_* 9-15, food_* 16-21, travel_* 22-25.
"""

from tests.harness.served import served_per_test  # noqa: F401  (``served``: a fresh uvicorn demo world per test)
