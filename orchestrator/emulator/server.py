"""Serving the emulator with uvicorn: in the foreground (``orchestrator emulator serve``) or on
a background thread bound to a free loopback port (the demo, the uvicorn test suite, benchmarks).

Both run with the limits of ``orchestrator.serving.limits`` (head timeout, keep-alive timeout,
connection limit, descriptors raised to the hard limit); the app bounds request bodies itself."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn

from orchestrator.emulator.app import create_app
from orchestrator.emulator.body_guard import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_UPLOAD_BYTES
from orchestrator.emulator.clock import Clock
from orchestrator.emulator.engine import run_tick
from orchestrator.emulator.seed import apply_seed, demo_key, write_keys
from orchestrator.emulator.state import EmulatorState
from orchestrator.emulator.store import Store
from orchestrator.serving.limits import ServerLimits, raise_open_file_limit

LOOPBACK = "127.0.0.1"


def build_state(
    db: str | None = None, seed: str | None = None, *, real_clock: bool = False
) -> tuple[EmulatorState, dict[str, str]]:
    """State on ``db`` (``:memory:`` when None); seeds only an empty database, so a restart
    on a file database keeps its world (and its keys, which are deterministic)."""
    store = Store(db or ":memory:")
    fresh = store.get_meta("clock") is None
    state = EmulatorState(store=store, clock=Clock(frozen=not real_clock))
    keys = apply_seed(state, seed) if fresh else {}
    if fresh:
        state.save()
    elif seed:
        keys = {u["username"]: demo_key(u["username"]) for u in state.users.iter()}
    return state, keys


def serve(
    host: str = LOOPBACK,
    port: int = 8765,
    *,
    db: str | None = None,
    seed: str | None = None,
    keys_file: str | None = None,
    real_clock: bool = True,
    tick_every: float = 5.0,
    log_level: str = "warning",
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    limits: ServerLimits | None = None,
) -> None:
    """Serve in the foreground until interrupted. With a real clock the engine ticks on its own."""
    state, keys = build_state(db, seed, real_clock=real_clock)
    if keys_file and keys:
        write_keys(keys_file, keys)
    app = create_app(state, max_body_bytes=max_body_bytes, max_upload_bytes=max_upload_bytes)
    if real_clock and tick_every > 0:

        @contextlib.asynccontextmanager
        async def ticking(_: Any) -> AsyncIterator[None]:
            """With a real clock the engine runs on its own, as the server's cron would."""

            async def loop() -> None:
                while True:
                    await asyncio.sleep(tick_every)
                    run_tick(state)
                    state.save()

            task = asyncio.get_running_loop().create_task(loop())
            try:
                yield
            finally:
                task.cancel()

        app.router.lifespan_context = ticking

    raise_open_file_limit()
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False,
                **(limits or ServerLimits()).uvicorn_options())


class BackgroundServer:
    """uvicorn on a daemon thread, bound to a free port on 127.0.0.1; a context manager."""

    def __init__(
        self,
        app: Any,
        *,
        host: str = LOOPBACK,
        port: int = 0,
        log_level: str = "warning",
        limits: ServerLimits | None = None,
    ) -> None:
        self.config = uvicorn.Config(
            app, host=host, port=port, log_level=log_level, access_log=False, lifespan="off",
            **(limits or ServerLimits()).uvicorn_options(),
        )
        self.server = uvicorn.Server(self.config)
        self.thread = threading.Thread(target=self.server.run, name="emulator-uvicorn", daemon=True)

    @property
    def url(self) -> str:
        sock = self.server.servers[0].sockets[0]
        host, port = sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> BackgroundServer:
        raise_open_file_limit()
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        # At once, not gracefully: a test or a benchmark that ends is done with the requests it
        # left held or slowed at the server (a graceful stop waited for each, up to the join's 10 s).
        self.server.should_exit = self.server.force_exit = True
        self.thread.join(timeout=10)
