"""Plan tests: a client on the in-process emulator that records every request, the uvicorn
``served`` world for the CLI, and a small JSON Schema checker (``jsonschema`` is not installed).

Demo world facts used here (see ``tests/conftest.py``): alice owns accounts 1-25, bob owns
26-29 and his plan lacks ``ai-dm``; travel_coast and travel_peak have no Repost Pro schedule.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.emulator.testing import BASE_URL, EmulatorTransport, LocalEmulator
from tests.uvicorn.conftest import served  # noqa: F401  (the module-scoped uvicorn fixture)

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
    await anyio.sleep(0)


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


@pytest.fixture
def recorded(emu: LocalEmulator) -> Recorded:
    return Recorded(emu)


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


# -- a JSON Schema checker for the keywords docs/plan-schema.json uses -------------------------
_TYPES = {"object": dict, "array": list, "string": str, "null": type(None), "boolean": bool}


def _is(value: Any, name: str) -> bool:
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, _TYPES[name])


def schema_errors(value: Any, schema: dict[str, Any], root: dict[str, Any] | None = None, at: str = "$") -> list[str]:
    """Every violation of ``schema`` by ``value`` (type, const, enum, pattern, minimum, minLength,
    required, properties, additionalProperties, items, $ref to #/$defs)."""
    root = root or schema
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return schema_errors(value, root["$defs"][name], root, at)
    errors: list[str] = []
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is(value, n) for n in names):
            return [f"{at}: {value!r} is not of type {names}"]
    if "const" in schema and value != schema["const"]:
        errors.append(f"{at}: {value!r} != {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{at}: {value!r} not in {schema['enum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{at}: {value!r} does not match {schema['pattern']}")
        if len(value) < schema.get("minLength", 0):
            errors.append(f"{at}: {value!r} is too short")
    if _is(value, "number") and "minimum" in schema and value < schema["minimum"]:
        errors.append(f"{at}: {value!r} < {schema['minimum']}")
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                errors.append(f"{at}: missing {key!r}")
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, item in value.items():
            if key in props:
                errors += schema_errors(item, props[key], root, f"{at}.{key}")
            elif extra is False:
                errors.append(f"{at}: unexpected key {key!r}")
            elif isinstance(extra, dict):
                errors += schema_errors(item, extra, root, f"{at}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            errors += schema_errors(item, schema["items"], root, f"{at}[{i}]")
    return errors


# -- the CLI against the uvicorn server ----------------------------------------------------------
@dataclass
class Cli:
    """``orchestrator plan`` against the ``served`` world, and its request counters."""

    served: Any

    def plan(self, *args: Any, user: str = "alice", env: dict[str, str | None] | None = None) -> Any:
        from typer.testing import CliRunner

        from orchestrator.cli import app

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


@pytest.fixture
def cli(served: Any) -> Cli:  # noqa: F811
    return Cli(served)
