"""A lying proxy of our own in front of the emulator, for the reliability and client suites.

Unlike the emulator's fault injection (errors it answers itself) and ``tests.harness.hostile.Hostile``
(canned answers in place of the emulator's), ``LyingProxy`` forwards every request to the real
emulator and alters the real answer to one chosen request: a (method, path pattern, page)
gets, with status 200 in place of its 2xx, an HTML maintenance page, an empty body, the
success envelope without ``data``, the real JSON cut in half, ``data`` of another type than
the API's, or a page whose ``total`` disagrees with the list's other pages. Everything else passes unchanged, so the
emulator's request counters show what the client did (writes included) through the lie.

It is a Starlette ASGI app calling the emulator's ASGI app in process through
``httpx.ASGITransport``: in process under the client's ``EmulatorTransport`` (the engine on
virtual time), or served by uvicorn on 127.0.0.1 for the command line (real HTTP in front of
it). ``clamp`` makes it cap ``per_page`` on the way in, as a server may: the demo world's
lists (25 accounts) then have several pages, so that a lie can hit page 2 of one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

#: The lies, by name: what each answers in place of the real 200.
LIES = ("html", "empty", "no_data", "truncated", "wrong_type", "total")
#: Words the client's error must contain for each lie: its cause, said.
SAID = {
    "html": "an HTML page, not the API's JSON",
    "empty": "an empty body",
    "no_data": 'without "data"',
    "truncated": "JSON cut off",
    "wrong_type": "where",  # "data that is a JSON array of 5 where a page of the list ... belongs"
    "total": "total",
}
MAINTENANCE = (b"<!DOCTYPE html><html><head><title>Down for maintenance</title></head>"
               b"<body><h1>We'll be back soon</h1><p>The installation is being upgraded.</p></body></html>")
UPSTREAM = "http://emulator.invalid"


@dataclass
class Lie:
    """Answer ``how`` to ``method`` requests whose path matches ``pattern`` (a regex, searched,
    on the path under ``/api/v1``) and, when ``page`` is set, whose ``page`` parameter is that
    page (a page-numbered list asked without one is on page 1). ``told`` counts the lies told."""

    method: str
    pattern: str
    how: str
    page: int | None = None
    times: int | None = None  # lie to this many matching requests, then answer truly
    told: int = 0

    def __post_init__(self) -> None:
        if self.how not in LIES:
            raise ValueError(f"unknown lie {self.how!r}: one of {', '.join(LIES)}")

    def matches(self, method: str, path: str, page: int | None) -> bool:
        if self.times is not None and self.told >= self.times:
            return False
        if method != self.method or not re.search(self.pattern, path.removeprefix("/api/v1")):
            return False
        return self.page is None or (page or 1) == self.page

    def tell(self, content: bytes) -> tuple[bytes, str]:
        """The lie in place of the real JSON answer ``content``: (body, content type)."""
        if self.how == "html":
            return MAINTENANCE, "text/html; charset=utf-8"
        if self.how == "empty":
            return b"", "application/json"
        if self.how == "truncated":
            return content[: len(content) // 2], "application/json"
        body = json.loads(content)
        if self.how == "no_data":  # the envelope's marker and message, nothing to read
            body = {k: v for k, v in body.items() if k in ("status", "success", "result", "message")}
        elif self.how == "wrong_type":
            data = body.get("data")
            # A page answered as its bare array of items; an object as the list of its names.
            body["data"] = data["items"] if isinstance(data, dict) and "items" in data else (
                list(data) if isinstance(data, dict) else {"value": data})
        elif self.how == "total":
            data = body["data"]
            if not (isinstance(data, dict) and "total" in data):
                raise ValueError(f"{self.pattern} is not a page-numbered list: no total to lie about")
            data["total"] += data["per_page"]  # one page more than the list holds
        return json.dumps(body).encode(), "application/json"


class LyingProxy:
    """ASGI app: forwards to ``upstream`` (the emulator's ASGI app) and tells ``lie``, if any."""

    def __init__(self, upstream: Any, *, clamp: int | None = None, lie: Lie | None = None) -> None:
        self.upstream = httpx.ASGITransport(app=upstream)
        self.clamp = clamp
        self.lie = lie  # the test sets it (and clears it) while the proxy runs

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # lifespan is off under BackgroundServer; nothing else is served
            return
        request = Request(scope, receive)
        response = await self.forward(request)
        await response(scope, receive, send)

    async def forward(self, request: Request) -> Response:
        query = [(k, self._clamped(k, v)) for k, v in request.query_params.multi_items()]
        headers = [(k, v) for k, v in request.headers.items()
                   if k not in ("host", "content-length", "accept-encoding", "connection")]
        upstream = httpx.Request(request.method, UPSTREAM + request.url.path, params=query, headers=headers,
                                 content=await request.body())
        answer = await self.upstream.handle_async_request(upstream)
        content = await answer.aread()
        content_type = answer.headers.get("content-type", "application/json")
        page = request.query_params.get("page")
        lie = self.lie
        status = answer.status_code
        if (lie is not None and 200 <= status < 300
                and lie.matches(request.method, request.url.path, int(page) if page and page.isdigit() else None)):
            lie.told += 1
            content, content_type = lie.tell(content)
            status = 200  # what a maintenance page or a proxy answers, whatever the API would have
        passed = {k: v for k, v in answer.headers.items() if k in ("retry-after",)}
        return Response(content, status_code=status, headers={**passed, "content-type": content_type})

    def _clamped(self, key: str, value: str) -> str:
        if key == "per_page" and self.clamp is not None and value.isdigit():
            return str(min(int(value), self.clamp))
        return value
