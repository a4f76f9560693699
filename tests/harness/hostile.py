"""A hostile server in front of the emulator, and the command line in a subprocess.

``Hostile`` is a tiny ASGI app of ours wrapped around the in-process emulator: requests that
match a rule get the rule's answer (an HTML error page, truncated JSON, a wrong envelope, a
``Retry-After`` of a year, a page that always says there is more...) and everything else
reaches the real emulator. Every rule may be limited to a number of hits, so loops are bounded.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.api import SharingtoolsClient
from orchestrator.emulator.testing import LocalEmulator
from tests.harness.world import client_for

ROOT = Path(__file__).resolve().parents[2]
#: A bound on every subprocess (a hang fails the test, it never blocks the suite).
PROCESS_TIMEOUT = 60


@dataclass
class Rule:
    """Answer requests whose ``METHOD path`` matches ``pattern`` (a regex, searched) with this."""

    pattern: str
    status: int = 503
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"
    times: int | None = None  # answer this many matching requests, then let them through
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        return re.search(self.pattern, f"{method} {path}") is not None


class Hostile:
    """An ASGI app: the rules' answers for what they match, the emulator for the rest."""

    def __init__(self, inner: Any, rules: Sequence[Rule]) -> None:
        self.inner = inner
        self.rules = rules  # the caller may add rules while it runs

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            for rule in self.rules:
                if rule.matches(scope["method"], scope["path"]):
                    rule.hits += 1
                    headers = [(b"content-type", rule.content_type.encode()),
                               *((k.lower().encode(), v.encode()) for k, v in rule.headers.items())]
                    await send({"type": "http.response.start", "status": rule.status, "headers": headers})
                    await send({"type": "http.response.body", "body": rule.body})
                    return
        await self.inner(scope, receive, send)


def hostile_client(emu: LocalEmulator, rules: Sequence[Rule], **kwargs: Any) -> SharingtoolsClient:
    """A client that never really waits (``client_for``), on the emulator behind ``rules``."""
    return client_for(emu, front=lambda app: Hostile(app, rules), **kwargs)


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: float = PROCESS_TIMEOUT, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``orchestrator ARGS`` in a subprocess (the real entry point, with its error boundary)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SHARINGTOOLS_")}
    base["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "orchestrator", *args], capture_output=True, text=True,
                          env={**base, **(env or {})}, cwd=cwd, timeout=timeout, input=stdin)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single ``error: ...`` line a failure must end in (no traceback, nothing else)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr[-3000:]
    return lines[0]


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]
