"""Fixtures for the reliability suite; its helpers (the hostile server, the command line in a
subprocess, the lying proxy) are in ``tests.harness``."""

from tests.harness.served import served_per_test  # noqa: F401  (``served``: a fresh uvicorn demo world per test)
