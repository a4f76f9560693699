"""The emulator's ASGI application: every module's routes under ``/api/v1``, the control
surface under ``/_emulator``, the envelope-shaped error handlers, and the fault middleware."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from orchestrator.emulator import control
from orchestrator.emulator.body_guard import (
    DEFAULT_BODY_SECONDS,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_MAX_UPLOAD_BYTES,
    BodyGuard,
)
from orchestrator.emulator.context import authorize, state_of
from orchestrator.emulator.envelope import JSON, error_body
from orchestrator.emulator.errors import ApiError
from orchestrator.emulator.fast_routes import FastReads
from orchestrator.emulator.faults import FaultMiddleware
from orchestrator.emulator.modules import MODULES
from orchestrator.emulator.state import EmulatorState

API_PREFIX = "/api/v1"


def create_app(
    state: EmulatorState | None = None,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
    body_seconds: float = DEFAULT_BODY_SECONDS,
    lean_reads: bool = True,
) -> FastAPI:
    """Build an emulator app around ``state`` (a fresh, empty in-memory world by default).

    Request bodies over ``max_body_bytes`` (file uploads: ``max_upload_bytes``) are answered
    413 without being read past the limit; a body not in within ``body_seconds`` of its head is 408.
    ``lean_reads=False`` serves every GET through FastAPI (the tests compare the two paths)."""
    state = state or EmulatorState()
    app = FastAPI(
        title="Sharingtools API v1 (emulated)",
        version="1.0.0",
        description="A local emulator of the Sharingtools REST API v1. Control surface: /_emulator/.",
        openapi_url="/openapi.json",
        docs_url="/_emulator/docs",
        redoc_url=None,
        # FastAPI's native OpenTelemetry asks the global providers on every request whether any
        # is configured (a dozen environment lookups); the emulator exports no telemetry.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.emulator = state
    for module in MODULES:
        app.include_router(module.router, prefix=API_PREFIX)
    app.include_router(control.router, prefix="/_emulator")
    _install_error_handlers(app)
    _document_security(app)
    templates = [
        (re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", API_PREFIX + route.path) + "$"), route.path)
        for module in MODULES
        for route in module.router.routes
    ]
    # Innermost: simple GETs skip FastAPI's routing and dependency solving (fast_routes), after
    # the rate limit, faults, holds and counters have had their say.
    if lean_reads:
        app.add_middleware(FastReads, routes=[r for m in MODULES for r in m.router.routes if isinstance(r, APIRoute)],
                           prefix=API_PREFIX, error_response=api_error_response)
    app.add_middleware(FaultMiddleware, state=state, templates=templates)
    # Added last, so outermost: no fault, route or handler ever holds an oversized body.
    app.add_middleware(BodyGuard, max_body_bytes=max_body_bytes, max_upload_bytes=max_upload_bytes,
                       body_seconds=body_seconds)
    return app


def api_error_response(path: str, exc: ApiError) -> JSON:
    """The answer to a domain error: its status and headers, the envelope of the path's module."""
    return JSON(error_body(path, exc.message, exc.errors), exc.status, headers=exc.headers)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSON:
        return api_error_response(request.url.path, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSON:
        gated = _gates_first(request)
        if gated is not None:
            return gated
        status, message, errors = classify_validation(exc.errors())
        return JSON(error_body(request.url.path, message, errors), status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSON:
        gated = _gates_first(request) if exc.status_code == 400 else None
        if gated is not None:
            return gated
        message = "Endpoint not found" if exc.status_code == 404 else str(exc.detail)
        return JSON(error_body(request.url.path, message, None), exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> JSON:  # pragma: no cover - a bug
        return JSON(error_body(request.url.path, "Internal server error", None), 500)


def _gates_first(request: Request) -> JSON | None:
    """FastAPI parses a request body before it runs the route's dependencies, so a malformed
    body would answer 400 before the key is looked at. The gates keep their order on API
    routes (401, then 503, then 403, then the body): their error if one fails, else None."""
    extra = getattr(request.scope.get("route"), "openapi_extra", None) or {}
    if "x-module" not in extra:
        return None
    try:
        authorize(state_of(request), request.headers, extra["x-module"])
    except ApiError as exc:
        return JSON(error_body(request.url.path, exc.message, exc.errors), exc.status, headers=exc.headers)
    return None


SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer sht_ + 64 hex"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "the later revision's header"},
}


def _document_security(app: FastAPI) -> None:
    """Write both key schemes into the OpenAPI document, for every API operation.

    Authentication is done by ``context.auth`` (so the 401s keep the reference's messages);
    declaring the schemes as FastAPI ``Security`` dependencies would document them too, but at
    the price of two dependency solves on every request, a third of a simple GET's time."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
            for path, operations in schema.get("paths", {}).items():
                if path.startswith(API_PREFIX):
                    for operation in operations.values():
                        operation["security"] = [{"bearer": []}, {"apiKey": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def classify_validation(errors: Any) -> tuple[int, str, dict[str, list[str]] | None]:
    """400 for malformed JSON or a missing required field (as the reference's status table
    says), 422 with a field-level ``errors`` object for values that are present but invalid."""
    fields: dict[str, list[str]] = {}
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        if err.get("type") == "json_invalid":
            return 400, "Malformed JSON", None
        if err.get("type") == "missing":
            name = ".".join(loc) or "body"
            return 400, f"Missing required field: {name}", {name: ["This field is required."]}
        if err.get("type") in ("model_attributes_type", "dict_type") and not loc:
            return 400, "Malformed JSON: expected an object", None
        fields.setdefault(".".join(loc) or "body", []).append(err.get("msg", "Invalid value"))
    return 422, "Validation failed", fields
