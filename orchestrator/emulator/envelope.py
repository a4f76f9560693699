"""The response envelopes the reference documents.

Most modules answer ``{"status": "success", "data": ...}`` (some with a ``message``);
Post Actions answers ``{"success": true, "data": ...}``. Errors are
``{"status": "error", "message": ..., "errors": {...}}`` (Post Actions:
``{"success": false, "message": ...}``). Rendering is compact JSON without
ASCII escaping, as a PHP server with ``JSON_UNESCAPED_UNICODE`` would send.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from orchestrator.emulator.store import to_json


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return to_json(content).encode()


class RenderedJSON(JSON):
    """A JSON answer whose bytes are already made (``ok_page``)."""

    def render(self, content: Any) -> bytes:
        return bytes(content)


def ok(data: Any = None, message: str | None = None, status: int = 200) -> JSON:
    body: dict[str, Any] = {"status": "success", "data": data}
    if message is not None:
        body["message"] = message
    return JSON(body, status_code=status)


def created(data: Any, message: str | None = None) -> JSON:
    return ok(data, message, 201)


def post_actions_ok(data: Any, status: int = 200) -> JSON:
    """Post Actions' own form: ``{"success": true, "data": ...}``."""
    return JSON({"success": True, "data": data}, status_code=status)


def paged(items: list[Any], total: int, page: int, per_page: int, **extra: Any) -> dict[str, Any]:
    return {"items": items, "total": total, "page": page, "per_page": per_page, **extra}


def ok_data(data: bytes) -> JSON:
    """``ok(data)`` for ``data`` already rendered as JSON (UTF-8): the same bytes."""
    return RenderedJSON(b'{"status":"success","data":' + data + b"}")


def ok_page(items: list[bytes], total: int, page: int, per_page: int) -> JSON:
    """``ok(paged(...))`` for items already rendered as JSON, UTF-8 (``Table.find_rendered``):
    the same bytes, the items spliced in rather than parsed and encoded again."""
    tail = to_json({"total": int(total), "page": int(page), "per_page": int(per_page)}).encode()
    return RenderedJSON(b'{"status":"success","data":{"items":[' + b",".join(items) + b"]," + tail[1:] + b"}")


def error_body(path: str, message: str, errors: dict[str, list[str]] | None) -> dict[str, Any]:
    if path.startswith("/api/v1/post-actions"):
        body: dict[str, Any] = {"success": False, "message": message}
    else:
        body = {"status": "error", "message": message}
    if errors:
        body["errors"] = errors
    return body


# -- OpenAPI documentation of the envelopes ---------------------------------------------
# Routes return plain dicts through ``ok()`` for speed (no response-model validation per
# request); these models only describe the responses in /openapi.json, where schemathesis
# checks every answer against them.
from functools import cache  # noqa: E402
from typing import Literal  # noqa: E402

from pydantic import BaseModel, ConfigDict, create_model  # noqa: E402


class Open(BaseModel):
    """Base for documented response objects: unknown fields are allowed, as in real answers."""

    model_config = ConfigDict(extra="allow")


class ErrorEnvelope(BaseModel):
    status: Literal["error"] | None = None
    success: Literal[False] | None = None
    message: str
    errors: dict[str, list[str]] | None = None


@cache
def envelope_of(model: Any, paged: bool = False, style: str = "status") -> type[BaseModel]:
    name = getattr(model, "__name__", "Data")
    data_type: Any = model
    if paged:
        data_type = create_model(
            f"{name}Page", __base__=Open, items=(list[model], ...), total=(int, ...),
            page=(int, ...), per_page=(int, ...),
        )
    if style == "success":
        return create_model(
            f"{name}{'Page' if paged else ''}SuccessEnvelope", __base__=Open,
            success=(Literal[True], ...), data=(data_type, ...),
        )
    success: Any = Literal["success"]  # a type form create_model takes; mypy sees a string
    return create_model(
        f"{name}{'Page' if paged else ''}Envelope", __base__=Open,
        status=(success, ...), data=(data_type, ...), message=(str | None, None),
    )


def responds(model: Any, *, status: int = 200, paged: bool = False, style: str = "status") -> dict[str, Any]:
    """Keyword arguments for a route decorator documenting its success answer:
    ``@router.get("/x", **responds(Thing, paged=True))``."""
    return {
        "status_code": status,
        "response_model": None,
        "responses": {status: {"model": envelope_of(model, paged, style), "description": "Success"}},
    }
