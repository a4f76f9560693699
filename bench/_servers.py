"""Helpers shared by the benchmarks: start a server process pinned to one core on 127.0.0.1,
wait until it answers, stop it. Every process started here is stopped in ``finally``."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pinned(cmd: list[str], cpu: int) -> list[str]:
    """Pin to ``cpu`` with taskset when available (the machine has 2 cores: server on one, load on the other)."""
    return ["taskset", "-c", str(cpu), *cmd] if shutil.which("taskset") else cmd


@contextlib.contextmanager
def process(cmd: list[str], *, ready_url: str, env: dict[str, str] | None = None,
            timeout: float = 30) -> Iterator[subprocess.Popen[bytes]]:
    # stderr to a file, not a pipe: a long run's server output must never fill a pipe and block it
    with tempfile.TemporaryFile() as errors:
        yield from _watched(cmd, errors, ready_url=ready_url, env=env, timeout=timeout)


def _watched(cmd: list[str], errors: IO[bytes], *, ready_url: str, env: dict[str, str] | None,
             timeout: float) -> Iterator[subprocess.Popen[bytes]]:
    import httpx

    proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=errors)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                errors.seek(0)
                raise RuntimeError(f"server exited: {errors.read().decode(errors='replace')[-2000:]}")
            try:
                httpx.get(ready_url, timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"server not ready at {ready_url}") from None
                time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def python() -> str:
    return sys.executable
