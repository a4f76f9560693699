"""A lean path for the simple GET routes: the same endpoint functions, without FastAPI's routing
and dependency solving.

A profile of ``GET /accounts/{id}`` served by the emulator (docs/benchmarks.md, "Emulator
throughput") put two thirds of the app's time in FastAPI's machinery: matching the path against
the included routers' routes one by one (with context variables set and restored around each),
and solving the route's dependencies (pydantic validation of every parameter, the dependency
tree walked again). The handler, the store and JSON took the remaining third.

:class:`FastReads` sits just inside the fault middleware (so rate limits, faults, holds and the
request counters apply exactly as before) and, for a GET whose route is *simple*, calls that
route's endpoint itself:

- the route is found as Starlette would find it: the first route, in the app's order, whose path
  matches and which takes GET (candidates indexed by the path's first segment);
- a route is simple when its endpoint takes only path and query parameters of type ``int``,
  ``bool`` or ``str`` (optional or with a plain default, no constraints), the ``auth`` dependency
  (the key and module gates, and the unknown-query check, run by the same function), dependencies
  made of such query parameters (paging), and optionally the ``Request``;
- values are converted only when their text is unambiguous (``123``, ``true``/``false``/``1``/``0``,
  one occurrence of each name); anything else (``abc``, ``+1``, ``yes``, a repeated name, a
  missing required value, a HEAD, a body marked non-finite) goes to FastAPI, whose validation
  then answers exactly as it always did. The lean path never answers a 422 of its own making.

Errors raised by the endpoint or the gates (``ApiError``) are rendered by the app's own handler
function. So the answer to a request is the same either way, byte for byte; only the time differs.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from types import NoneType, UnionType
from typing import Any, Union, get_args, get_origin
from urllib.parse import parse_qsl

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from orchestrator.emulator.errors import ApiError

_INT = re.compile(r"^(?:0|-?[1-9][0-9]{0,17})$")  # within 64 bits, no sign or zero padding to interpret
_BOOLS = {"true": True, "false": False, "1": True, "0": False}
_MISSING = object()

# A converter returns the value, or _MISSING when the text is not one it is sure about.
Convert = Callable[[str], Any]


def _as_int(text: str) -> Any:
    return int(text) if _INT.match(text) else _MISSING


def _as_bool(text: str) -> Any:
    return _BOOLS.get(text, _MISSING)


def _as_str(text: str) -> Any:
    return text


_CONVERTERS: dict[Any, Convert] = {int: _as_int, bool: _as_bool, str: _as_str}


def _converter(annotation: Any) -> Convert | None:
    """The converter of ``int``, ``bool``, ``str`` or one of them ``| None``; None otherwise."""
    if get_origin(annotation) in (Union, UnionType):
        args = [a for a in get_args(annotation) if a is not NoneType]
        if len(args) != 1:
            return None
        annotation = args[0]
    return _CONVERTERS.get(annotation)


@dataclass(frozen=True, slots=True)
class _Param:
    name: str  # the keyword the callable takes
    alias: str  # the name in the query string
    convert: Convert
    default: Any  # _MISSING when required


@dataclass(frozen=True, slots=True)
class _Dependency:
    name: str
    call: Callable[..., Any]
    query: tuple[_Param, ...]
    wants_request: bool  # the auth dependency: called with the Request
    is_async: bool


@dataclass(frozen=True, slots=True)
class _Plan:
    """How to call one simple GET route's endpoint."""

    route: APIRoute
    regex: re.Pattern[str]
    path: tuple[_Param, ...]
    query: tuple[_Param, ...]
    dependencies: tuple[_Dependency, ...]
    request_param: str | None


def _params(fields: Iterable[Any], *, query: bool) -> tuple[_Param, ...] | None:
    out = []
    for field in fields:
        info = field.field_info
        convert = _converter(info.annotation)
        if convert is None or info.metadata:
            return None
        if query:
            default = _MISSING if field.field_info.is_required() else info.default
            if default is not _MISSING and not isinstance(default, (int, bool, str, NoneType)):
                return None  # a default factory or an object: left to FastAPI
        else:
            default = _MISSING
        out.append(_Param(field.name, field.alias, convert, default))
    return tuple(out)


def _only(dependant: Any, *allowed: str) -> bool:
    """True when ``dependant`` declares nothing beyond the kinds of parameter named."""
    kinds = {
        "path": dependant.path_params, "query": dependant.query_params, "dependencies": dependant.dependencies,
        "header": dependant.header_params, "cookie": dependant.cookie_params, "body": dependant.body_params,
    }
    if any(values for kind, values in kinds.items() if kind not in allowed):
        return False
    extras = (dependant.http_connection_param_name, dependant.websocket_param_name,
              dependant.response_param_name, dependant.background_tasks_param_name,
              dependant.security_scopes_param_name)
    return all(e is None for e in extras) and ("request" in allowed or dependant.request_param_name is None)


def _dependency(sub: Any) -> _Dependency | None:
    if sub.name is None or sub.call is None:
        return None
    is_async = inspect.iscoroutinefunction(sub.call)
    if getattr(sub.call, AUTH_MARK, False) and _only(sub, "request"):
        return _Dependency(sub.name, sub.call, (), True, is_async)
    if not _only(sub, "query"):
        return None
    query = _params(sub.query_params, query=True)
    if query is None or (not is_async and inspect.isgeneratorfunction(sub.call)):
        return None
    return _Dependency(sub.name, sub.call, query, False, is_async)


AUTH_MARK = "_emulator_auth"  # set by ``context.auth`` on the dependency it makes


def plan_for(route: APIRoute, prefix: str) -> _Plan | None:
    """How to call ``route`` on the lean path; None when it is not simple (FastAPI serves it)."""
    dependant = route.dependant
    if "GET" not in (route.methods or ()) or not inspect.iscoroutinefunction(route.endpoint):
        return None
    if not _only(dependant, "path", "query", "dependencies", "request"):
        return None
    path, query = _params(dependant.path_params, query=False), _params(dependant.query_params, query=True)
    dependencies = [_dependency(sub) for sub in dependant.dependencies]
    if path is None or query is None or any(d is None for d in dependencies):
        return None
    regex = _pattern(prefix + route.path, named=True)
    if set(regex.groupindex) != {p.alias for p in path}:
        return None
    return _Plan(route, regex, path, query, tuple(d for d in dependencies if d is not None),
                 dependant.request_param_name)


def _pattern(path: str, *, named: bool) -> re.Pattern[str]:
    """The path's pattern as Starlette compiles it: literal text escaped, ``{name}`` one segment."""
    parts = re.split(r"\{([^}]+)\}", path)
    regex = "".join(re.escape(part) if i % 2 == 0 else (f"(?P<{part}>[^/]+)" if named else "[^/]+")
                    for i, part in enumerate(parts))
    return re.compile(f"^{regex}$")


def _bind(params: tuple[_Param, ...], values: Mapping[str, str], into: dict[str, Any]) -> bool:
    for p in params:
        text = values.get(p.alias)
        if text is None:
            if p.default is _MISSING:
                return False
            into[p.name] = p.default
            continue
        value = p.convert(text)
        if value is _MISSING:
            return False
        into[p.name] = value
    return True


ErrorResponse = Callable[[str, ApiError], Any]


class FastReads:
    """ASGI middleware: simple GET routes served by their endpoint directly (module docstring)."""

    def __init__(self, app: ASGIApp, *, routes: Iterable[APIRoute], prefix: str, error_response: ErrorResponse) -> None:
        self.app = app
        self.prefix = prefix
        self.error_response = error_response
        # Candidates by the path's first segment after the prefix, in the app's order. Every GET
        # route is listed, simple or not: one that is not still wins over a later simple one.
        self._by_segment: dict[str, list[tuple[re.Pattern[str], _Plan | None]]] = {}
        for route in routes:
            if "GET" not in (route.methods or ()):
                continue
            first = route.path.split("/")[1] if route.path.startswith("/") else ""
            if not first or "{" in first or re.search(r"\{[^}]*:", route.path):
                # A route that could match any first segment, or a convertor (``{p:path}``) that
                # matches more than one segment: the index and the patterns here would be wrong.
                raise ValueError(f"FastReads needs a literal first segment and plain parameters: {route.path!r}")
            plan = plan_for(route, prefix)
            regex = plan.regex if plan else _pattern(prefix + route.path, named=False)
            self._by_segment.setdefault(first, []).append((regex, plan))

    def _find(self, path: str) -> tuple[_Plan | None, dict[str, str]]:
        segment = path[len(self.prefix) + 1:].split("/", 1)[0]
        for regex, plan in self._by_segment.get(segment, ()):
            match = regex.match(path)
            if match:
                return plan, match.groupdict()
        return None, {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if not path.startswith(self.prefix + "/"):
            await self.app(scope, receive, send)
            return
        plan, path_values = self._find(path)
        call = self._prepare(plan, path_values, scope) if plan is not None else None
        if call is None:
            await self.app(scope, receive, send)
            return
        await call(scope, receive, send)

    def _prepare(self, plan: _Plan, path_values: dict[str, str],
                 scope: Scope) -> Callable[[Scope, Receive, Send], Awaitable[None]] | None:
        """The call serving this request, or None when FastAPI must (values it would validate)."""
        pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        query = dict(pairs)
        if len(query) != len(pairs):
            return None  # a repeated name: FastAPI's rules for it stay FastAPI's
        kwargs: dict[str, Any] = {}
        if not _bind(plan.path, path_values, kwargs) or not _bind(plan.query, query, kwargs):
            return None
        deps: list[tuple[_Dependency, dict[str, Any]]] = []
        for dep in plan.dependencies:
            args: dict[str, Any] = {}
            if not _bind(dep.query, query, args):
                return None
            deps.append((dep, args))

        async def serve(scope: Scope, receive: Receive, send: Send) -> None:
            # What Starlette's router sets when it selects the route: the gates and the
            # unknown-query check read the route from the scope, the counters its template.
            scope["route"] = plan.route
            scope["endpoint"] = plan.route.endpoint
            scope["path_params"] = {p.alias: kwargs[p.name] for p in plan.path}
            request = Request(scope, receive)
            try:
                for dep, args in deps:
                    if dep.wants_request:
                        value = await dep.call(request) if dep.is_async else dep.call(request)
                    else:
                        value = await dep.call(**args) if dep.is_async else dep.call(**args)
                    kwargs[dep.name] = value
                if plan.request_param is not None:
                    kwargs[plan.request_param] = request
                response = await plan.route.endpoint(**kwargs)
            except ApiError as exc:
                response = self.error_response(scope["path"], exc)
            await response(scope, receive, send)

        return serve
