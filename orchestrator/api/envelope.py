"""Reading the three response envelopes a Sharingtools server may send.

- the reference: ``{"status": "success"|"error", "data": ..., "message": ..., "errors": ...}``
- Post Actions (in the reference itself): ``{"success": true|false, "data": ..., "message": ...}``
- the later revision: ``{"result": 1|0, "message": ..., "data": ...}``

``unwrap`` accepts all three, and a body with none of the markers is judged by HTTP status.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Envelope:
    ok: bool
    data: Any
    message: str | None
    errors: dict[str, Any] | None


def unwrap(status: int, body: Any) -> Envelope:
    if not isinstance(body, dict):
        return Envelope(200 <= status < 300, body, None, None)
    if "status" in body and body["status"] in ("success", "error"):
        ok = body["status"] == "success"
    elif "success" in body and isinstance(body["success"], bool):
        ok = body["success"]
    elif "result" in body and body["result"] in (0, 1, True, False):
        ok = bool(body["result"])
    else:
        ok = 200 <= status < 300
    ok = ok and 200 <= status < 300  # an error status is never a success, whatever the body says
    errors = body.get("errors")
    return Envelope(ok, body.get("data"), body.get("message"), errors if isinstance(errors, dict) else None)
