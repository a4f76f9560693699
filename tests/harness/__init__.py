"""What every suite shares: the worlds tests run in (``world``), virtual time (``time``), what
the command line told (``cli``); imported from their modules: the reconcile loop's world
(``reconcile``), the uvicorn-served world as fixtures (``served``), ``orchestrator plan`` in
tests (``plan_cli``), a hostile server and a lying proxy in front of the emulator (``hostile``,
``lying_proxy``), real processes (``processes``), real servers the tests start themselves
(``postgres``) and state stores on both backends (``stores``).

Tests import from here, never from another test module: a helper two suites need lives here.
A test module may import its own directory's conftest and ``tests.conftest``
(``tests/test_layers.py`` checks it).
"""

from tests.harness.cli import WAIT, assert_clean
from tests.harness.time import VirtualTime
from tests.harness.world import (
    LAUNCH_COMMENTS,
    PLAYBOOKS,
    WRITE_METHODS,
    Served,
    client_for,
    count,
    executor_for,
    failures_of,
    load_playbook,
    request_rows,
    run,
    serve_demo,
    stored,
    write_playbook,
    writes,
)

__all__ = [
    "LAUNCH_COMMENTS",
    "WAIT",
    "assert_clean",
    "PLAYBOOKS",
    "WRITE_METHODS",
    "Served",
    "VirtualTime",
    "client_for",
    "count",
    "executor_for",
    "failures_of",
    "load_playbook",
    "request_rows",
    "run",
    "serve_demo",
    "stored",
    "write_playbook",
    "writes",
]
