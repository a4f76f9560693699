"""The response envelopes the reference documents.

Most modules answer ``{"status": "success", "data": ...}`` (some with a ``message``);
Post Actions answers ``{"success": true, "data": ...}``. Errors are
``{"status": "error", "message": ..., "errors": {...}}`` (Post Actions:
``{"success": false, "message": ...}``). Rendering is compact JSON without
ASCII escaping, as a PHP server with ``JSON_UNESCAPED_UNICODE`` would send.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response


class JSON(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()


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


def error_body(path: str, message: str, errors: dict[str, list[str]] | None) -> dict[str, Any]:
    if path.startswith("/api/v1/post-actions"):
        body: dict[str, Any] = {"success": False, "message": message}
    else:
        body = {"status": "error", "message": message}
    if errors:
        body["errors"] = errors
    return body
