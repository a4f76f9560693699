"""``orchestrator plan`` in tests: a client on the in-process emulator that records every
request (``Recorded``), the CLI against a uvicorn-served world (``Cli``, and the ``cli`` fixture
on the ``served`` one), files written for a test, and ``schema_errors`` (jsonschema-rs) for the
plan schema.

Demo world facts used here (see ``tests/conftest.py``): alice owns accounts 1-25, bob owns
26-29 and his plan lacks ``ai-dm``; travel_coast and travel_peak have no Repost Pro schedule.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import anyio.lowlevel
import httpx
import jsonschema_rs
import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.emulator.testing import BASE_URL, EmulatorTransport, LocalEmulator

ROOT = Path(__file__).parents[2]
PLAYBOOKS = ROOT / "playbooks"
GROUPS = PLAYBOOKS / "groups.yaml"
CORPUS = ROOT / "tests" / "playbook" / "corpus"
SCHEMA = ROOT / "docs" / "plan-schema.json"
API = "/api/v1/"


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # below /api/v1/, without the query
    query: dict[str, str]


class RecordingTransport(EmulatorTransport):
    """The emulator transport, remembering every request's method and URL."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self.requests: list[Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = urlsplit(str(request.url))
        path = url.path.removeprefix(API) if url.path.startswith(API) else url.path
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        self.requests.append(Request(request.method, path, query))
        return await super().handle_async_request(request)


async def _no_wait(seconds: float) -> None:
    await anyio.lowlevel.checkpoint()


@dataclass
class Recorded:
    """An emulator world, and a way to open clients on it whose requests are recorded."""

    emu: LocalEmulator
    transport: RecordingTransport = field(init=False)

    def __post_init__(self) -> None:
        self.transport = RecordingTransport(self.emu.app)

    def client(self, user: str = "alice", key: str | None = None) -> SharingtoolsClient:
        return SharingtoolsClient(f"{BASE_URL}/api/v1", key or self.emu.keys[user], transport=self.transport,
                                  rate=10_000, sleep=_no_wait)

    @property
    def requests(self) -> list[Request]:
        return self.transport.requests


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def line_of(path: Path, needle: str, after: int = 0) -> int:
    """The 1-based number of the first line (after line ``after``) containing ``needle``."""
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if i > after and needle in line:
            return i
    raise AssertionError(f"{needle!r} not in {path}")


# -- checking against docs/plan-schema.json ------------------------------------------------------
def schema_errors(value: Any, schema: dict[str, Any]) -> list[str]:
    """Every violation of ``schema`` by ``value``, as ``$.path: message`` (jsonschema-rs)."""
    validator = jsonschema_rs.validator_for(schema)
    return [
        "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.instance_path) + f": {error.message}"
        for error in validator.iter_errors(value)
    ]


# -- the CLI against the uvicorn server ----------------------------------------------------------
@dataclass
class Cli:
    """``orchestrator plan`` against the ``served`` world, and its request counters."""

    served: Any

    def plan(self, *args: Any, user: str = "alice", env: dict[str, str | None] | None = None) -> Any:
        from typer.testing import CliRunner

        from orchestrator.cli.app import app

        base = {"SHARINGTOOLS_BASE_URL": self.served.api, "SHARINGTOOLS_API_KEY": self.served.keys[user],
               "SHARINGTOOLS_RATE": "2000", "SHARINGTOOLS_CONFIG": None, "SHARINGTOOLS_API_KEY_FILE": None}
        return CliRunner().invoke(app, ["plan", *map(str, args)], env={**base, **(env or {})})

    def _control(self) -> httpx.Client:
        return httpx.Client(base_url=f"{self.served.server.url}/_emulator")

    def reset_requests(self) -> None:
        with self._control() as c:
            c.post("/requests/reset").raise_for_status()

    def requests(self) -> dict[tuple[str, str], int]:
        """(method, route template) -> count, since the last reset."""
        with self._control() as c:
            rows = c.get("/requests").json()["requests"]
        out: dict[tuple[str, str], int] = {}
        for r in rows:
            out[(r["method"], r["route"])] = out.get((r["method"], r["route"]), 0) + r["count"]
        return out


@pytest.fixture(name="cli")
def plan_cli(served: Any) -> Cli:
    """``orchestrator plan`` against the ``served`` world (which the importing conftest provides)."""
    return Cli(served)
