"""Reading the answers of a Sharingtools server: only the documented envelope is data.

A server may send three envelopes:

- the reference: ``{"status": "success"|"error", "data": ..., "message": ..., "errors": ...}``
- Post Actions (in the reference itself): ``{"success": true|false, "data": ..., "message": ...}``
- the later revision: ``{"result": 1|0, "message": ..., "data": ...}``

``read`` turns an HTTP answer into an ``Envelope``. A 2xx answer is a success only in one of
these forms and, for a read (GET), only with a ``data`` field. Anything else (an HTML
maintenance page, an empty or cut-off body, JSON that is no envelope, an envelope without
``data``) is not the API speaking: it says nothing about the installation, and reading it as
data would read "nothing there" (no accounts, no captions) and plan to create it all again.
Such an answer gets ``problem``, the cause in words, which the transport raises as
`UnexpectedAnswer`; ``transient`` marks what a gateway or a maintenance window sends.

Error statuses are read from their envelope (message, errors) when they have one and judged
by the status otherwise (a gateway's HTML 502 is a 502), except 404 and 409: the client turns
those into state ("no schedule", "gone already", "there already"), so they count only in the
API's own error envelope, and a web server's HTML 404 (a base URL that is not the API's) is
an unexpected answer, not "not found".

This runs on every answer, so it is a few dict lookups on the success path; the shape of
``data`` (a list page, a settings object, a model) is checked where it is known
(``pagination``, the resources).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: Error statuses whose meaning the client acts on (see the module docstring).
STATEFUL_ERRORS = frozenset({404, 409})
NOT_JSON_ADVICE = "is the installation in maintenance, or SHARINGTOOLS_BASE_URL not its API?"


@dataclass(frozen=True, slots=True)
class Envelope:
    ok: bool
    data: Any
    message: str | None
    errors: dict[str, Any] | None
    #: Why the answer is not the API's (None when it is): the cause `UnexpectedAnswer` carries.
    problem: str | None = None
    #: The problem is what gateways and maintenance windows send (retried like a 503).
    transient: bool = False
    body: Any = None  # the decoded JSON body, None when there was none


def read(status: int, content: bytes, content_type: str | None = None, *, reading: bool = True) -> Envelope:
    """The envelope of an answer of ``status`` with body ``content``; ``reading``: the request
    was a GET, whose success must carry ``data`` (a write's success is its status)."""
    success = 200 <= status < 300 and status != 202  # 202 is "try again later", never a success
    if not content:
        if (success and (reading or status != 204)) or status in STATEFUL_ERRORS:
            return _not_api("an empty body, not the API's JSON", transient=success)
        return Envelope(success, None, None, None)
    try:
        body = json.loads(content)
    except ValueError as exc:  # UnicodeDecodeError is one too
        if success or status in STATEFUL_ERRORS:
            return _not_api(_not_json(content, content_type, exc), transient=success)
        return Envelope(False, None, None, None)  # an error page: the status says what went wrong
    return unwrap(status, body, reading=reading)


def unwrap(status: int, body: Any, *, reading: bool = True) -> Envelope:
    """The envelope of a decoded JSON ``body`` answered with ``status`` (see ``read``)."""
    success = 200 <= status < 300 and status != 202
    if not isinstance(body, dict):
        if success or status in STATEFUL_ERRORS:
            return _not_api(f"{kind_of(body)}, not the API's envelope {{\"status\": \"success\", \"data\": ...}}",
                            body=body)
        return Envelope(False, None, None, None, body=body)
    ok: bool | None = None
    marker = ""
    if "status" in body and body["status"] in ("success", "error"):
        ok, marker = body["status"] == "success", f'{{"status": "{body["status"]}"}}'
    elif "success" in body and isinstance(body["success"], bool):
        ok, marker = body["success"], f'{{"success": {"true" if body["success"] else "false"}}}'
    elif "result" in body and body["result"] in (0, 1, True, False):
        ok, marker = bool(body["result"]), f'{{"result": {int(body["result"])}}}'
    if ok is None:
        if success or status in STATEFUL_ERRORS:
            return _not_api("JSON without the envelope's \"status\" (nor Post Actions' \"success\"): "
                            "not an answer of the Sharingtools API", body=body)
        ok = False
    ok = ok and success  # an error status is never a success, whatever the body says
    if ok and reading and "data" not in body:
        return _not_api(f'{marker} without "data": the answer holds nothing to read', body=body)
    message = body.get("message")
    errors = body.get("errors")
    return Envelope(ok, body.get("data"), message if isinstance(message, str) else None,
                    errors if isinstance(errors, dict) else None, body=body)


def kind_of(value: Any) -> str:
    """What a JSON value is, in words (never the value itself: it may hold a secret)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return f"a JSON array of {len(value)}" if value else "an empty JSON array"
    if isinstance(value, dict):
        return "a JSON object"
    return type(value).__name__


def _not_api(problem: str, *, transient: bool = False, body: Any = None) -> Envelope:
    return Envelope(False, None, None, None, problem=problem, transient=transient, body=body)


def _not_json(content: bytes, content_type: str | None, exc: ValueError) -> str:
    media = (content_type or "").split(";", 1)[0].strip().lower()[:60]
    start = content.lstrip()[:1]
    if "html" in media or start == b"<":
        return f"an HTML page, not the API's JSON: {NOT_JSON_ADVICE}"
    if isinstance(exc, json.JSONDecodeError) and start in (b"{", b"["):
        # Cut off: the parser ran out of text (a string never closed runs to the end too).
        if exc.pos >= len(exc.doc.rstrip()) or exc.msg.startswith("Unterminated string"):
            return (f"JSON cut off after {len(content):,} bytes: the answer was truncated on its way "
                    "(a proxy, or a server that stopped mid-answer)")
        return f"JSON that does not parse ({exc.msg} at character {exc.pos:,})"
    return f"{len(content):,} bytes that are not JSON ({media or 'no content type'}): {NOT_JSON_ADVICE}"
