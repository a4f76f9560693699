"""A real uvicorn server on 127.0.0.1 (a free port), with the demo world, for this directory's tests."""

from tests.harness.served import served_per_module  # noqa: F401  (``served``: one uvicorn demo world per module)
