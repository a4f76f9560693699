"""Request bodies refused before they cost the server anything: too large (413), or JSON that
is not JSON (``NaN``, ``Infinity``: 400).

Two limits: ``max_body_bytes`` (1 MiB) for every body but file uploads, and
``max_upload_bytes`` (512 MiB) for ``multipart/form-data`` (Media Upload; the user's plan sets
the file limit below it, answered 422 by the module). Uploads are streamed to the application,
which spools files to disk, so neither limit is ever held in memory.

One ASGI middleware, outermost, so every route and every other middleware sees only bodies
that passed. Why by hand: Starlette's ``RequestBodyLimitMiddleware`` (and FastAPI's
``max_body_size`` built on it) answers a plain-text 413, and replaces any answer with it when
the declared length is over the limit; the API answers errors in its JSON envelope.

- A declared ``Content-Length`` over the limit is refused at once: not one body byte is read
  (uvicorn discards whatever the client still sends, so the connection stays usable).
- A chunked body is counted as it streams and refused as soon as it passes the limit, so at
  most the limit (plus one chunk) is ever held in memory.
- A body must arrive within ``body_seconds`` (30 s) of its head, else 408 and the connection
  closes: the head timeout (``orchestrator.serving.limits``) ends once the head is in, and a
  body trickled a byte at a time must not hold a connection for as long as its client likes.
- A body that passes is buffered (it is at most the limit, and FastAPI reads it whole anyway)
  and replayed to the application; an upload is passed through as it streams, and one that
  passes its limit mid-stream ends in a 413 raised to the application's error handler.

Python's ``json`` module accepts ``NaN``, ``Infinity`` and ``-Infinity``, which RFC 8259 does
not, and FastAPI parses request bodies with it. A body that uses them is malformed JSON. On API
routes the 400 must still come after the key and module gates (a bad body never answers before
the key is looked at; see ``app._gates_first``), so the guard only marks the request
(``NONFINITE_KEY``) and ``context.auth`` answers after its gates; elsewhere (the control
surface) the guard answers itself.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import anyio
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orchestrator.emulator.envelope import error_body

#: The default limit: the API's bodies are small JSON objects (a bulk call of 1,000 ids is ~10 KB).
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
#: Uploads (multipart) may be large files; the plan's own file limit is checked by Media Upload.
DEFAULT_MAX_UPLOAD_BYTES = 512 * 1024 * 1024
#: A body (not an upload) must arrive within this many seconds of its head.
DEFAULT_BODY_SECONDS = 30.0
#: Set in the ASGI scope when the body holds a non-finite number; ``context.auth`` answers 400.
NONFINITE_KEY = "emulator.nonfinite_json"
NONFINITE_MESSAGE = "Malformed JSON: NaN and Infinity are not JSON numbers"
_CONSTANTS = (b"NaN", b"Infinity")


class BodyGuard:
    """Refuses bodies over their limit with 413 and marks non-finite JSON numbers."""

    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES,
        body_seconds: float = DEFAULT_BODY_SECONDS,
    ) -> None:
        if max_body_bytes < 0 or max_upload_bytes < 0 or body_seconds <= 0:
            raise ValueError("body limits must be positive")
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.body_seconds = body_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type, declared, chunked = _content_headers(scope)
        if content_type.startswith(b"multipart/form-data"):
            if declared is not None and declared > self.max_upload_bytes:
                await _answer(send, scope["path"], 413, _too_large_message(self.max_upload_bytes))
                return
            await self.app(scope, _counted(receive, self.max_upload_bytes), send)
            return
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large(scope, send)
            return
        if declared or chunked:
            # A body trickled a byte at a time would hold its connection as long as the client
            # liked (the head timeout is over once the head is in): it has a deadline too.
            message: Message = {}
            with anyio.move_on_after(self.body_seconds):
                message = await self._read(scope, receive, send)
                if not message:
                    return  # answered 413
            if not message:  # 408, and the connection closes: the rest of the body is not awaited
                await _answer(send, scope["path"], 408,
                              f"Request body not received within {self.body_seconds:g} seconds", close=True)
                return
        else:
            message = await receive()  # no body: uvicorn answers at once
        body: bytes = message.get("body", b"") if message["type"] == "http.request" else b""
        if len(body) > self.max_body_bytes:  # a whole body in one message, with no length declared
            await self._too_large(scope, send)
            return
        if body and _is_json(content_type) and _has_nonfinite_number(body):
            if not scope["path"].startswith("/api/"):
                await _answer(send, scope["path"], 400, NONFINITE_MESSAGE)
                return
            scope[NONFINITE_KEY] = True
        pending = [message]

        async def replay() -> Message:
            # The buffered body first, then the real channel (a later http.disconnect).
            return pending.pop(0) if pending else await receive()

        await self.app(scope, replay, send)

    async def _read(self, scope: Scope, receive: Receive, send: Send) -> Message:
        """The body as one message; an empty dict once answered 413."""
        message: Message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return message
        chunks = [message.get("body", b"")]
        size = len(chunks[0])
        while message.get("more_body", False) and size <= self.max_body_bytes:
            message = await receive()
            if message["type"] != "http.request":  # the client left before its body was sent
                return message
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
        if size > self.max_body_bytes:
            await self._too_large(scope, send)
            return {}
        return {"type": "http.request", "body": b"".join(chunks), "more_body": False}

    async def _too_large(self, scope: Scope, send: Send) -> None:
        await _answer(send, scope["path"], 413, _too_large_message(self.max_body_bytes))


def _too_large_message(limit: int) -> str:
    return f"Request body too large: at most {limit} bytes"


def _counted(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises a 413 once more than ``limit`` body bytes went through it."""
    seen = 0

    async def counting() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                # Raised inside the application's body reading: FastAPI lets an HTTPException
                # through to the app's handler, which answers it in the envelope.
                raise HTTPException(413, _too_large_message(limit))
        return message

    return counting


def _content_headers(scope: Scope) -> tuple[bytes, int | None, bool]:
    """The lower-cased content type (empty when absent), the declared length if any, and
    whether the body comes chunked."""
    content_type, length, chunked = b"", None, False
    for name, value in scope.get("headers", ()):
        lowered = name.lower()
        if lowered == b"content-type":
            content_type = value.lower()
        elif lowered == b"content-length":
            # the HTTP server refuses a malformed length before it gets here
            with contextlib.suppress(ValueError):
                length = int(value)
        elif lowered == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
    return content_type, length, chunked


def _is_json(content_type: bytes) -> bool:
    """Whether FastAPI will parse the body as JSON: ``*/json`` or ``*+json`` (FastAPI's strict
    content type: a body without one is not parsed, and refused as "expected an object")."""
    media = content_type.split(b";", 1)[0].strip()
    return media.endswith(b"/json") or media.endswith(b"+json")


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def _has_nonfinite_number(body: bytes) -> bool:
    """True when ``body`` parses only because of ``NaN``/``Infinity``/``-Infinity``.

    A substring test first keeps the common case to one scan; a string that merely contains
    the word ("NaN" in a caption) parses strictly and is not refused."""
    if not any(constant in body for constant in _CONSTANTS):
        return False
    try:
        json.loads(body, parse_constant=_reject_constant)
    except ValueError as exc:
        return str(exc) in ("NaN", "Infinity", "-Infinity")
    return False


async def _answer(send: Send, path: str, status: int, message: str, *, close: bool = False) -> None:
    payload = json.dumps(error_body(path, message, None), separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
