"""``ModuleRouter``: an APIRouter that tags each route with the module that gates it.

The module is written into the OpenAPI document as ``x-module`` so the test suite can
generate the module-gate (403) and cross-user (404) checks from the route table: a new
route cannot skip them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from orchestrator.emulator.envelope import ErrorEnvelope

ERRORS = {
    400: "Malformed JSON or missing required field",
    401: "Missing, invalid, or revoked API key",
    403: "Plan does not include this module / admin only",
    404: "Resource does not exist or belongs to another user",
    408: "Request body not received in time",
    409: "Duplicate resource",
    413: "Request body too large",
    422: "Validation failed",
    429: "Too many requests (rate limit or injected)",
    500: "Injected server error",
    502: "Injected bad gateway",
    503: "Module not installed (or injected)",
}


class ModuleRouter(APIRouter):
    def __init__(self, module: str | None, tag: str, **kwargs: Any) -> None:
        super().__init__(tags=[tag], **kwargs)
        self.module = module

    def add_api_route(self, path: str, endpoint: Any, **kwargs: Any) -> None:
        extra = dict(kwargs.pop("openapi_extra", None) or {})
        extra.setdefault("x-module", self.module)
        # Every route may answer with the error envelope; document it once here.
        responses: dict[int | str, dict[str, Any]] = {
            status: {"model": ErrorEnvelope, "description": text} for status, text in ERRORS.items()
        }
        responses.update(kwargs.pop("responses", None) or {})
        super().add_api_route(path, endpoint, openapi_extra=extra, responses=responses, **kwargs)
