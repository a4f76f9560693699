"""Fleet tests (import, sharding, deployment): the uvicorn-served demo world and the plan CLI
helper of tests/plan, shared here."""

from tests.plan.conftest import cli  # noqa: F401  (``orchestrator plan`` against ``served``)
from tests.uvicorn.conftest import served  # noqa: F401  (a module-scoped uvicorn demo world)
