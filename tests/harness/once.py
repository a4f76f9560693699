"""One at a time across processes: the suite runs on several workers (pytest-xdist), and what
a test installs or caches for the whole machine (Debian packages, downloaded checkers) must not
be set up by two workers at once (dpkg takes its own lock and fails the second; two copies into
one cache would tear the file)."""

from __future__ import annotations

import contextlib
import fcntl
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def machine_wide(name: str) -> Iterator[None]:
    """Hold the lock called ``name`` (a file in the temporary directory) for the block; another
    process asking for it waits. Released by the kernel if the holder dies."""
    path = Path(tempfile.gettempdir()) / f"orchestrator-tests-{name}.lock"
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
