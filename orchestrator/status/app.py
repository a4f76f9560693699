"""The status page: a read-only Starlette app over the state database.

``create_status_app(source, facts)`` is mounted at ``/`` beside ``/metrics`` and ``/healthz``
on the reconcile loop's ``--metrics-port`` (``facts`` gives the loop's live facts: the cycle
running, the next one, health), and served alone by ``orchestrator status serve`` (no loop:
what the database says, and nothing it cannot know).

HTML pages and ``/api/...`` JSON carry the same numbers from the same reads. Every view is a
URL (filters and pages are query parameters; a wrong one is a 400 that says what is
accepted). There is no login and nothing to change: every route answers GET (and HEAD)
only. The pages need no script and load nothing from elsewhere: one CSS file served from the
package under a versioned URL, charts drawn as inline SVG, and a Content-Security-Policy
that forbids anything else, scripts included.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from importlib import resources
from typing import Any

import jinja2
import markupsafe
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator.contract import ACCOUNT_KINDS
from orchestrator.log import redact_text, redact_value
from orchestrator.plan.blocked import REASONS as BLOCKED_REASONS
from orchestrator.plan.blocked import Blocked, grouped
from orchestrator.status import views
from orchestrator.status.params import BadRequest, account_filter, page_of, query_of
from orchestrator.status.queries import (
    STATE_ORDER,
    AccountRow,
    Page,
    RunLine,
    StateDbMissing,
    StatusInstallationError,
    StatusSource,
)

HEADERS = [
    # Nothing but this origin's stylesheet and inline SVG; no script, no frame, no form elsewhere.
    (b"content-security-policy", b"default-src 'none'; style-src 'self'; img-src 'self' data:; "
                                 b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


@dataclass(frozen=True)
class LoopFacts:
    """What only the running loop knows: the database has the cycles that ended."""

    mode: str
    every: float
    cycles: int
    started: float
    last_cycle_end: float | None
    cycle_started: float | None  # a cycle is running since then
    next_cycle_at: float | None
    healthy: bool
    health: str


class _Headers:
    """Pure ASGI middleware: the security headers on every answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *HEADERS]
            await send(message)

        await self.app(scope, receive, sending)


def _masked(value: Any) -> Any:
    """Every text a template prints, redacted on its way out (Jinja's ``finalize``): a page
    cannot show a secret even where a template forgot to say so. A macro's output (markup
    already made of redacted texts) passes as it is."""
    if isinstance(value, str) and not isinstance(value, markupsafe.Markup):
        return redact_text(value)
    return value


def _templates() -> Jinja2Templates:
    env = jinja2.Environment(loader=jinja2.PackageLoader("orchestrator.status", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                             finalize=_masked)
    env.filters.update(shown=views.shown, when=views.when, duration=views.duration, redacted=views.redacted,
                       number=lambda n: f"{n:,}" if isinstance(n, int) else n)
    env.globals.update(STATES=views.STATES, REASONS=views.REASONS, BLOCKED_REASONS=BLOCKED_REASONS,
                       STATE_ORDER=[s.value for s in STATE_ORDER], query_of=query_of, views_pages=views.pages)
    templates = Jinja2Templates(env=env)
    for name in env.list_templates():  # compiled now, not on the first view of each page
        env.get_template(name)
    return templates


def _css_version() -> str:
    """A digest of the stylesheet: its URL changes when it does, so it can be cached for long."""
    data = resources.files("orchestrator.status").joinpath("static/status.css").read_bytes()
    return hashlib.sha256(data).hexdigest()[:12]


def _params(request: Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        out.setdefault(name, []).append(value)
    return out


def _is_api(request: Request) -> bool:
    return "/api/" in request.url.path


def create_status_app(source: StatusSource | str | os.PathLike[str], facts: Callable[[], LoopFacts] | None = None,
                      *, base_url: str | None = None, clock: Callable[[], float] = time.time) -> Starlette:
    """The status page over ``source`` (a `StatusSource`, or a SQLite path or ``postgresql://``
    URL, of ``base_url``'s installation or the only one it holds)."""
    src = source if isinstance(source, StatusSource) else StatusSource(source, base_url)
    templates = _templates()
    css = f"static/status.css?v={_css_version()}"

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        base = request.scope.get("root_path", "").rstrip("/")
        return templates.TemplateResponse(request, name, {
            "base": base, "css": f"{base}/{css}", "now": clock(), "facts": facts() if facts else None,
            "db": str(src.path), "views": views, **context}, status_code=status_code)

    # -- pages ---------------------------------------------------------------------------------
    def index(request: Request) -> Response:
        _no_params(request)
        overview = src.overview()
        return page(request, "index.html", overview=overview, chart=views.chart(overview.cycles),
                    total=sum(overview.counts.values()))

    def accounts(request: Request) -> Response:
        f = account_filter(_params(request), src.groups)
        found = src.accounts(f)
        return page(request, "accounts.html", f=f, found=found, groups=src.groups(),
                    kinds=[k.value for k in ACCOUNT_KINDS])

    def account(request: Request) -> Response:
        _no_params(request)
        record = src.account(int(request.path_params["account_id"]))
        if record is None:
            raise HTTPException(404, f"no account #{request.path_params['account_id']} in the state database")
        return page(request, "account.html", record=record, kinds=views.account_kinds(record))

    def runs(request: Request) -> Response:
        number, per_page = page_of(_params(request))
        return page(request, "runs.html", found=src.runs(number, per_page))

    def run(request: Request) -> Response:
        _no_params(request)
        record = src.run(int(request.path_params["run_id"]), accounts_shown=views.SHOWN)
        if record is None:
            raise HTTPException(404, f"no run #{request.path_params['run_id']} in the history")
        return page(request, "run.html", record=record, groups=views.run_groups(record),
                    blocked=_blocked(record.report), report=redact_value(record.report))

    def drift(request: Request) -> Response:
        _no_params(request)
        cycles = src.cycles(60)
        return page(request, "drift.html", cycles=cycles, chart=views.chart(cycles), spots=src.hot_spots(25))

    # -- the same numbers as JSON --------------------------------------------------------------
    def api_status(request: Request) -> Response:
        _no_params(request)
        o = src.overview()
        live = facts() if facts else None
        return _json({
            "database": str(src.path),
            "fleet": {s.value: o.counts.get(s.value, 0) for s in STATE_ORDER},
            "accounts": sum(o.counts.values()),
            "blocked_by_reason": o.blocked,
            "waiting": {"total": o.waiting.total, "accounts": [_row(r) for r in o.waiting.items]},
            "last_cycle": views.cycle_public(o.last_cycle) if o.last_cycle else None,
            "last_run": _run(o.last_run) if o.last_run else None,
            "loop": asdict(live) if live else None,
            "drift": [views.cycle_public(c) for c in reversed(o.cycles)],
            "hot_spots": [asdict(s) for s in o.hot_spots],
        })

    def api_accounts(request: Request) -> Response:
        f = account_filter(_params(request), src.groups)
        found = src.accounts(f)
        return _json({**_paged(found, request, query_of(f, page=found.page + 1) if found.page < found.pages
                               else None), "items": [_row(r) for r in found.items]})

    def api_account(request: Request) -> Response:
        _no_params(request)
        record = src.account(int(request.path_params["account_id"]))
        if record is None:
            raise HTTPException(404, f"no account #{request.path_params['account_id']} in the state database")
        return _json({**_row(record.row),
                      "kinds": {k.kind: {"fields": [f.public() for f in k.fields], "blocked": k.blocked}
                                for k in views.account_kinds(record)},
                      "drift": [asdict(e) for e in record.events], "runs": [_run(r) for r in record.runs]})

    def api_runs(request: Request) -> Response:
        number, per_page = page_of(_params(request))
        found = src.runs(number, per_page)
        more = f"page={found.page + 1}&per_page={per_page}" if found.page < found.pages else None
        return _json({**_paged(found, request, more), "items": [_run(r) for r in found.items]})

    def api_run(request: Request) -> Response:
        _no_params(request)
        record = src.run(int(request.path_params["run_id"]), accounts_shown=views.SHOWN)
        if record is None:
            raise HTTPException(404, f"no run #{request.path_params['run_id']} in the history")
        return _json({**_run(record.run), "report": record.report, "operations": record.operations,
                      "changes": {outcome: [g.public() for g in groups]
                                  for outcome, groups in views.run_groups(record)}})

    def api_drift(request: Request) -> Response:
        _no_params(request)
        return _json({"cycles": [views.cycle_public(c) for c in reversed(src.cycles(60))],
                      "hot_spots": [asdict(s) for s in src.hot_spots(25)]})

    # -- errors: a page (or JSON) that says what to do, never a traceback ----------------------
    def bad_request(request: Request, exc: Exception) -> Response:
        return _error(request, 400, str(exc))

    def installations(request: Request, exc: Exception) -> Response:
        return _error(request, 503, str(exc))

    def missing_db(request: Request, exc: Exception) -> Response:
        if "(it cannot be read" in str(exc):  # a PostgreSQL store away: the loop's own problem too
            return _error(request, 503, f"the state database {exc}; the page tries again on the next request")
        return _error(request, 503, f"there is no state database at {exc} yet: a reconcile loop or an apply writes "
                                    "it (point --state-db at the one they use)")

    def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        detail = exc.detail if exc.status_code != 404 or "no " in exc.detail else "no such page"
        return _error(request, exc.status_code, detail, exc.headers)

    def server_error(request: Request, exc: Exception) -> Response:
        return _error(request, 500, "the status page failed on this request; the reconcile loop is not affected")

    def _error(request: Request, status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
        message = str(redact_value(message))
        if _is_api(request):
            return _json({"error": message, "status": status}, status, headers)
        return page(request, "error.html", status, status=status, message=message)

    get = ["GET", "HEAD"]
    routes = [
        Route("/", index, methods=get),
        Route("/accounts", accounts, methods=get),
        Route("/accounts/{account_id:int}", account, methods=get),
        Route("/runs", runs, methods=get),
        Route("/runs/{run_id:int}", run, methods=get),
        Route("/drift", drift, methods=get),
        Route("/api/status", api_status, methods=get),
        Route("/api/accounts", api_accounts, methods=get),
        Route("/api/accounts/{account_id:int}", api_account, methods=get),
        Route("/api/runs", api_runs, methods=get),
        Route("/api/runs/{run_id:int}", api_run, methods=get),
        Route("/api/drift", api_drift, methods=get),
        Mount("/static", app=StaticFiles(packages=[("orchestrator.status", "static")]), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={
        BadRequest: bad_request, StateDbMissing: missing_db, StatusInstallationError: installations,
        HTTPException: http_error, Exception: server_error})
    app.add_middleware(_Headers)
    app.state.source = src
    return app


def _no_params(request: Request) -> None:
    if request.query_params:
        name = next(iter(request.query_params))
        raise BadRequest(f"unknown parameter {name!r}: this page takes none")


def _json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(redact_value(data), status, headers)


def _paged(found: Page[Any], request: Request, more: str | None) -> dict[str, Any]:
    return {"total": found.total, "page": found.page, "per_page": found.per_page, "pages": found.pages,
            "next": f"{request.url.path}?{more}" if more else None}


def _row(r: AccountRow) -> dict[str, Any]:
    return {"account_id": r.account_id, "username": r.username, "state": r.state, "since": r.since,
            "run_id": r.run_id, "judged_at": r.at, "kinds": list(r.kinds), "groups": list(r.groups),
            "blocked_reasons": list(r.reasons), "differences": r.differences, "fixed": r.fixed,
            "notes": [asdict(n) for n in r.notes]}


def _run(r: RunLine) -> dict[str, Any]:
    return {"id": r.id, "command": r.command, "status": r.status, "started": r.started, "finished": r.finished,
            "message": r.message, "changes": r.changes, "drift": r.outcomes, "host": r.host, "user": r.user}


@dataclass(frozen=True)
class WaitGroup:
    """One reason a run's changes wait on a person: how many accounts, what to do (the first
    account's words), the first few accounts."""

    reason: str
    accounts: int
    example: str
    first: list[tuple[int, str]]


def _blocked(report: dict[str, Any], shown: int = views.SHOWN) -> list[WaitGroup]:
    """What waits on a person in one run, by reason: one line each, however many accounts."""
    by_reason: dict[str, list[Blocked]] = {}
    for b in report.get("blocked") or []:
        try:
            item = Blocked.from_public(b)
        except (KeyError, TypeError, ValueError):  # a report of an older shape: shown without it
            continue
        by_reason.setdefault(item.reason, []).append(item)
    out = []
    for reason, items in sorted(by_reason.items()):
        accounts = sorted({(b.account_id, b.username) for b in items}, key=lambda a: (a[1], a[0]))
        out.append(WaitGroup(reason, len(accounts), grouped(items)[0][0], accounts[:shown]))
    return out
