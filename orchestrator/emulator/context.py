"""What a route handler gets: the authenticated request context and the paging parameters.

``auth(module)`` is the one dependency every API route declares. It authenticates
(401), then checks the module is installed on the server (503) and in the user's plan
(403), in that order: a missing plugin is the server's state, a missing plan entry the
user's, and a client should learn about the server first.
Then it refuses query parameters the route does not declare (422 naming them), so no
filter is ever silently ignored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from fastapi import Query, Request

from orchestrator.emulator.auth import Principal
from orchestrator.emulator.body_guard import NONFINITE_KEY, NONFINITE_MESSAGE
from orchestrator.emulator.clock import Clock
from orchestrator.emulator.errors import BadRequest, ModuleNotEnabled, ModuleNotInstalled, NotFound, ValidationFailed
from orchestrator.emulator.fast_routes import AUTH_MARK
from orchestrator.emulator.state import EmulatorState
from orchestrator.emulator.store import Doc, Store, Table

SCOPE_KEY = "emulator.state"


def state_of(request: Request) -> EmulatorState:
    """The world a request is served from: bound in its ASGI scope (one app serving several
    worlds, as the test harness does), else the app's own."""
    return request.scope.get(SCOPE_KEY) or request.app.state.emulator


@dataclass(slots=True)
class Ctx:
    """The state and principal of one API request."""

    state: EmulatorState
    user: Principal

    @property
    def store(self) -> Store:
        return self.state.store

    @property
    def clock(self) -> Clock:
        return self.state.clock

    @property
    def owner_scope(self) -> int | None:
        """``user_id`` filter for list queries: None (everything) for admin keys."""
        return None if self.user.is_admin else self.user.id

    def owned(self, table: Table | str, id: int, what: str) -> Doc:
        """The document ``id`` if this user may see it; 404 otherwise, also for another user's."""
        t = self.store.table(table) if isinstance(table, str) else table
        doc = t.get(id)
        if doc is None or not self.user.owns(doc):
            raise NotFound(f"{what} not found")
        return doc

    def account(self, account_id: int) -> Doc:
        return self.owned("accounts", account_id, "Account")


def authorize(state: EmulatorState, headers: Mapping[str, str], module: str | None) -> Principal:
    """The gates in their order: the key (401), the module installed (503), in the plan (403)."""
    user = state.keys.authenticate(headers)
    if module is not None:
        if module not in state.installed:
            raise ModuleNotInstalled(f"Module not installed: {module}")
        if module not in user.modules:
            raise ModuleNotEnabled()
    return user


def auth(module: str | None = None) -> Callable[..., Awaitable[Ctx]]:
    """Dependency: authenticate the request and check ``module`` is installed and enabled."""

    # The security schemes are written into the OpenAPI document by the app (see app.py), not
    # declared as FastAPI Security dependencies: those cost two dependency solves per request.
    async def dependency(request: Request) -> Ctx:
        state = state_of(request)
        ctx = Ctx(state, authorize(state, request.headers, module))
        if NONFINITE_KEY in request.scope:  # marked by the body guard; answered after the gates
            raise BadRequest(NONFINITE_MESSAGE)
        refuse_unknown_query(request)
        return ctx

    dependency.__name__ = f"auth_{module or 'core'}".replace("-", "_")
    setattr(dependency, AUTH_MARK, True)  # the lean GET path (fast_routes) calls it with the Request
    return dependency


_QUERY_NAMES = "_emulator_query_names"


def declared_query(dependant: Any) -> frozenset[str]:
    """The query parameter names a route declares, its dependencies' (such as paging) included."""
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= declared_query(sub)
    return frozenset(names)


def refuse_unknown_query(request: Request) -> None:
    """422 naming every query parameter the route does not declare.

    A filter the server does not know must not be silently ignored: ``?search=`` on a list
    that cannot search would answer everything, and the caller would believe it filtered.
    Runs after the gates (401/503/403 come first), before any handler."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known: frozenset[str] | None = getattr(route, _QUERY_NAMES, None)
    if known is None:  # computed once per route, kept on the route (it lives as long as its app)
        known = declared_query(dependant)
        setattr(route, _QUERY_NAMES, known)
    unknown = sorted(set(request.query_params.keys()) - known)
    if unknown:
        raise ValidationFailed(
            {name: "Unknown query parameter: this endpoint does not filter by it" for name in unknown},
            f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
        )


class PageSlice(TypedDict):
    """Keyword arguments of ``Table.find`` for one page."""

    page: int
    per_page: int


@dataclass(frozen=True, slots=True)
class Paging:
    page: int
    per_page: int

    def slice(self) -> PageSlice:
        return {"page": self.page, "per_page": self.per_page}


MAX_PAGE = 10_000_000  # keeps OFFSET within SQLite's integers; no list is that long


def _page_number(page: int) -> int:
    return min(max(1, page), MAX_PAGE)


# Coroutines, not plain functions: FastAPI runs a plain function dependency in its thread pool,
# a thread hand-off on every list request for what is two comparisons.
async def paging(
    page: int = Query(1, description="1-based page number"),
    per_page: int = Query(20, description="results per page (max 100)"),
) -> Paging:
    """``page`` and ``per_page`` clamped into range, as a lenient PHP server does."""
    return Paging(_page_number(page), min(max(1, per_page), 100))


def paging_up_to(limit: int) -> Callable[..., Awaitable[Paging]]:
    """Paging whose ``per_page`` may go up to ``limit`` (the leads export allows 5,000)."""

    async def dependency(
        page: int = Query(1, description="1-based page number"),
        per_page: int = Query(20, description=f"results per page (max {limit})"),
    ) -> Paging:
        return Paging(_page_number(page), min(max(1, per_page), limit))

    return dependency
