"""The reconcile loop's ``--metrics-port``: ``/metrics``, ``/healthz``, and the status page
(``orchestrator.status``) at every other path, one Starlette app on one port.

It runs on uvicorn in a thread (``orchestrator.status.serve.ThreadedServer``, the server
``status serve`` runs too, with the same limits: ``orchestrator.status.serve.LIMITS``), not
as a task on the loop's event loop: a cycle over 10,000 accounts keeps its loop busy (diffs,
journal writes), and a scrape, a liveness probe or a page must answer meanwhile. Idle
connections, stalled request heads and readers that never read are dropped by those limits
before they can take a real request's place. The page reads the state store on its own
read-only connections (SQLite's WAL lets it read while a cycle writes; on PostgreSQL a small
read-only pool), of the loop's installation only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route

from orchestrator.reconcile.metrics import ReconcileMetrics
from orchestrator.serving.limits import ServerLimits
from orchestrator.status import LoopFacts, create_status_app
from orchestrator.status.queries import StatusSource
from orchestrator.status.serve import LIMITS, ThreadedServer


class Reconciler(Protocol):
    """What the page reads of ``orchestrator.reconcile.loop.Reconciler`` (which imports this
    module: a protocol, not an import back)."""

    options: Any
    cycles: int
    started: float
    metrics: ReconcileMetrics
    cycle_started: float | None
    next_cycle_at: float | None

    def healthy(self) -> tuple[bool, str]: ...


def loop_facts(reconciler: Reconciler) -> Callable[[], LoopFacts]:
    """What the page asks the running loop (read from the server's thread: plain attributes)."""

    def facts() -> LoopFacts:
        ok, why = reconciler.healthy()
        return LoopFacts(mode=reconciler.options.mode, every=reconciler.options.every, cycles=reconciler.cycles,
                         started=reconciler.started, last_cycle_end=reconciler.metrics.last_cycle_end,
                         cycle_started=reconciler.cycle_started, next_cycle_at=reconciler.next_cycle_at,
                         healthy=ok, health=why)

    return facts


def metrics_and_page(metrics: ReconcileMetrics, healthy: Callable[[], tuple[bool, str]],
                     page: Starlette) -> Starlette:
    """``/metrics`` and ``/healthz``, and every other path to the status page."""

    def scrape(request: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    def health(request: Request) -> Response:
        ok, why = healthy()
        return PlainTextResponse(why + "\n", 200 if ok else 503)

    return Starlette(routes=[Route("/metrics", scrape), Route("/healthz", health), Mount("/", app=page)])


class StatusServer(ThreadedServer):
    """The port of ``reconcile --metrics-port``: metrics, health and the status page."""

    def __init__(self, reconciler: Reconciler, state_db: str | os.PathLike[str], host: str, port: int,
                 base_url: str | None = None, limits: ServerLimits = LIMITS) -> None:
        self.source = StatusSource(state_db, base_url)  # the loop's installation, on a SQLite file or PostgreSQL
        page = create_status_app(self.source, loop_facts(reconciler))
        super().__init__(metrics_and_page(reconciler.metrics, reconciler.healthy, page), host, port, limits)

    def __exit__(self, *exc: object) -> None:
        try:
            super().__exit__(*exc)
        finally:
            self.source.close()
