"""The worlds tests run in: clients and executors on the in-process emulator that never really
wait, playbooks in a temporary directory, the emulator's request counters and raw state, and a
uvicorn-served emulator with a fresh demo world (for the command line and real processes).

Demo world facts (see ``tests/conftest.py``): alice owns accounts 1-25, fashion_* 1-8
(fashion_nova is 1), fitness_* 9-15, food_* 16-21, travel_* 22-25.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from orchestrator import playbook
from orchestrator.api import SharingtoolsClient
from orchestrator.emulator.app import create_app
from orchestrator.emulator.server import BackgroundServer, build_state
from orchestrator.emulator.testing import BASE_URL, EmulatorTransport, LocalEmulator
from orchestrator.apply.run import ApplyOptions, ApplyOutcome, apply
from orchestrator.apply.executor import Executor
from orchestrator.state.store import StateStore
from tests.harness.time import VirtualTime

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")
#: A playbook of one first-comment schedule on every account: 25 creates the server does not
#: deduplicate, the writes the in-doubt and interrupt suites cut short.
LAUNCH_COMMENTS = """\
version: 1
groups:
  everyone:
    usernames: "*"
entries:
  - name: Launch comments
    groups: everyone
    first_comment:
      schedules:
        - targets: [launchbrand]
          comments: ["First!"]
"""


def client_for(emu: LocalEmulator, user: str = "alice", *, time: VirtualTime | None = None,
               rate: float = 5000, front: Callable[[Any], Any] | None = None, **kwargs: Any) -> SharingtoolsClient:
    """A client on the in-process emulator that never really waits (use ``async with``).

    ``front`` wraps the emulator's app in one of ours (such as the reliability suite's
    ``Hostile``), which the client then talks to."""
    time = time or VirtualTime()
    transport = emu.transport() if front is None else EmulatorTransport(front(emu.app))
    return SharingtoolsClient(f"{BASE_URL}/api/v1", emu.keys[user], transport=transport, rate=rate,
                              concurrency=kwargs.pop("concurrency", 32), sleep=time.sleep, clock=time.clock,
                              **kwargs)


def executor_for(client: SharingtoolsClient, **kwargs: Any) -> Executor:
    return Executor(client, **kwargs)


async def run(client: SharingtoolsClient, paths: Sequence[Path | str], options: ApplyOptions | None = None,
              *, history: StateStore | None = None, executor: Executor | None = None) -> ApplyOutcome:
    """The engine's apply of the playbooks at ``paths`` (what the CLI runs, minus the terminal)."""
    book = playbook.load([str(p) for p in paths])
    return await apply(client, book, options or ApplyOptions(), history=history,
                       executor=executor or executor_for(client))


def write_playbook(directory: Path, text: str, name: str = "playbook.yaml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text)
    return path


def load_playbook(directory: Path, text: str) -> playbook.Playbook:
    """The playbook ``text``, written to ``directory`` and loaded as the CLI would."""
    return playbook.load([str(write_playbook(directory, text))])


# -- the server's side -----------------------------------------------------------------
async def request_rows(control: httpx.AsyncClient) -> list[dict[str, Any]]:
    return (await control.get("/requests")).json()["requests"]


async def count(control: httpx.AsyncClient, method: str, route: str) -> int:
    """Requests the emulator answered for ``method route`` (route as templated), faults included."""
    return sum(r["count"] for r in await request_rows(control) if r["method"] == method and r["route"] == route)


async def writes(control: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every write request the emulator saw since the last reset (a blocked run must have none)."""
    return [r for r in await request_rows(control) if r["method"] in WRITE_METHODS]


async def stored(control: httpx.AsyncClient, table: str, **filters: int) -> list[dict[str, Any]]:
    response = await control.get(f"/state/{table}", params=filters)
    response.raise_for_status()
    return response.json()["items"]


def failures_of(outcome: ApplyOutcome) -> str:
    """Why an outcome is not what a test expected, for assertion messages."""
    return json.dumps({"message": outcome.message, "violations": [str(v) for v in outcome.violations],
                       "failures": [f.public() for f in outcome.execution.failures],
                       "unverified": [c.public() for c in outcome.unverified][:20]}, default=str)


# -- a uvicorn-served emulator, for the command line --------------------------------------
class Served:
    def __init__(self, server: BackgroundServer, keys: dict[str, str], state: Any) -> None:
        self.server, self.keys, self.state = server, keys, state

    @property
    def api(self) -> str:
        return f"{self.server.url}/api/v1"

    def env(self, user: str = "alice", **extra: str) -> dict[str, str]:
        """Environment for the CLI: this server, the user's key, a rate that does not slow tests."""
        return {"SHARINGTOOLS_BASE_URL": self.api, "SHARINGTOOLS_API_KEY": self.keys[user],
                "SHARINGTOOLS_RATE": "2000", "SHARINGTOOLS_CONCURRENCY": "32", **extra}

    def writes(self) -> list[tuple[str, str, int]]:
        return [
            (m, r, s) for (m, r, s, _), n in self.state.counters.counts.items() if m in WRITE_METHODS for _ in range(n)
        ]


@contextmanager
def serve_demo(front: Callable[[Any], Any] | None = None) -> Iterator[Served]:
    """A fresh demo world served by uvicorn on 127.0.0.1 (a free port); ``front`` wraps the
    emulator's app in one of ours (such as ``Hostile``) before it is served."""
    state, keys = build_state(seed="demo")
    emulator = create_app(state)
    with BackgroundServer(front(emulator) if front is not None else emulator) as server:
        yield Served(server, keys, state)
