"""Running the emulator in process: a transport that behaves like the network would.

``httpx.ASGITransport`` calls the app directly, so two things a network does are missing:
a dropped connection surfaces as the app's exception, and nothing enforces a timeout.
``EmulatorTransport`` adds both, so the client meets the same ``httpx`` errors in process
as it does against uvicorn. This is the one seam tests use; nothing is monkeypatched.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any

import anyio
import httpx

from orchestrator.emulator.app import create_app
from orchestrator.emulator.context import SCOPE_KEY
from orchestrator.emulator.faults import DroppedConnection
from orchestrator.emulator.seed import apply_seed
from orchestrator.emulator.state import EmulatorState

BASE_URL = "http://emulator.invalid"


class EmulatorTransport(httpx.AsyncBaseTransport):
    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        read_timeout = (request.extensions.get("timeout") or {}).get("read")
        scope = anyio.fail_after(read_timeout) if read_timeout else contextlib.nullcontext()
        try:
            with scope:
                return await self._inner.handle_async_request(request)
        except DroppedConnection as exc:
            raise httpx.RemoteProtocolError(str(exc), request=request) from None
        except TimeoutError:
            raise httpx.ReadTimeout("emulator response held past the read timeout", request=request) from None


@functools.cache
def shared_app() -> Any:
    """One app for every in-process world of this process.

    FastAPI builds its routes' validators on an app's first request (about a second of CPU for
    the emulator's 136 routes); a test suite making a world per test would pay that each time.
    Worlds are bound per request instead (``BoundApp``), so the app is built once."""
    return create_app(EmulatorState())


class BoundApp:
    """An ASGI app serving ``state`` through the shared app (see ``context.state_of``)."""

    def __init__(self, app: Any, state: EmulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            scope = {**scope, SCOPE_KEY: self.state}
        await self.app(scope, receive, send)


class LocalEmulator:
    """An in-process emulator world: state, app, seeded keys, and clients for it."""

    def __init__(self, seed: str | None = "demo", state: EmulatorState | None = None) -> None:
        self.state = state or EmulatorState()
        self.keys = apply_seed(self.state, seed)
        self.app = BoundApp(shared_app(), self.state)
        self.base_url = BASE_URL

    def transport(self) -> EmulatorTransport:
        return EmulatorTransport(self.app)

    def http(self, user: str | None = "alice", **kwargs: Any) -> httpx.AsyncClient:
        """A raw httpx client on ``/api/v1`` authenticated as ``user`` (None: no header)."""
        headers = {"Authorization": f"Bearer {self.keys[user]}"} if user else {}
        headers.update(kwargs.pop("headers", {}))
        return httpx.AsyncClient(
            base_url=f"{BASE_URL}/api/v1", transport=self.transport(), headers=headers, **kwargs
        )

    def control(self) -> httpx.AsyncClient:
        """A client on the control surface ``/_emulator``."""
        return httpx.AsyncClient(base_url=f"{BASE_URL}/_emulator", transport=self.transport())
