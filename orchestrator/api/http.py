"""The connection pool under the client: httpx's API over aiohttp's transport (``httpx-aiohttp``).

httpcore's pool (httpx's default) spends most of a busy client's CPU assigning requests to
connections: at 64 concurrent requests, 1,000 GETs cost 5.3 s of client CPU through it and
0.65 s through aiohttp (measured in ``docs/benchmarks.md``). httpx's transport interface
stays the seam, so tests still inject ``httpx.ASGITransport`` for the in-process emulator;
``Sender`` sends through it without ``httpx.AsyncClient``'s per-request machinery.

Three things are adjusted on top of ``httpx_aiohttp.AiohttpTransport``:

- its exception map turns every dropped connection into ``httpx.ConnectTimeout`` (a subclass
  test picks ``ClientConnectionError``'s entry for ``ServerDisconnectedError``), which would
  tell the retry policy that a request whose answer was lost never reached the server. Here a
  failure to connect stays a connect error, and anything after it is a read/protocol error
  ("may have been applied"), as httpcore reports it;
- aiohttp silently sends an idempotent method (GET, PUT, DELETE) a second time when its
  connection drops. Whether a call may be repeated is the retry policy's decision
  (``retry.py``), so that is switched off;
- the answer is read whole in ``handle_async_request`` instead of streamed (see there).

And ``PooledTransport.exchange`` sends a request given as bytes and hands back the answer's
bytes (an `Answer`), with neither an ``httpx.Request`` nor an ``httpx.Response`` around them:
``Sender`` uses it for every call but uploads (see there).
"""

from __future__ import annotations

import asyncio
import functools
import http
import json as jsonlib
import re
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer, read whole: what the transport needs of it, and no more."""

    status: int
    content: bytes
    content_type: str | None = None
    retry_after: str | None = None
    reason: str | None = None

    @property
    def reason_phrase(self) -> str:
        """The status line's reason, or the standard one for the status."""
        if self.reason:
            return self.reason
        try:
            return http.HTTPStatus(self.status).phrase
        except ValueError:
            return ""


def _mapped(exc: BaseException) -> httpx.TransportError | None:
    """The httpx error httpcore would have raised for aiohttp's ``exc``, or None if not ours."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message)
    if isinstance(exc, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        return httpx.ReadTimeout(message)
    if isinstance(exc, aiohttp.ClientConnectorError):  # refused, DNS, TLS: nothing was sent
        return httpx.ConnectError(message)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(message)
    if isinstance(exc, (aiohttp.ClientOSError, aiohttp.ClientPayloadError, aiohttp.ClientConnectionError)):
        return httpx.ReadError(message)
    if isinstance(exc, aiohttp.ClientError):
        return httpx.TransportError(message)
    return None


def environment_proxy(url: str) -> str | None:
    """The proxy that ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY`` name for ``url``, if any."""
    parts = urllib.parse.urlsplit(url)
    if not parts.hostname or urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies_environment().get(parts.scheme)


class PooledTransport(AiohttpTransport):
    """``AiohttpTransport`` with httpcore's error semantics and no hidden resends."""

    def __init__(self, *, verify: bool = True, limits: httpx.Limits, proxy: str | None = None) -> None:
        super().__init__(verify=verify, limits=limits, proxy=httpx.Proxy(proxy) if proxy else None)

    def get_client(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self.limits.max_connections or 0,
            keepalive_timeout=self.limits.keepalive_expiry,
            ssl=self.ssl_context,
        )
        # httpx keeps the cookies (the API sets none). No trust_env: with it aiohttp looks up
        # ~/.netrc and the proxy variables in a worker thread for every request (two thread
        # hops each); the proxy is looked up once instead (``environment_proxy``).
        session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(), trust_env=False)
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False  # no resend behind the retry policy's back
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and read its answer whole.

        In place of ``AiohttpTransport``'s own: the body is read here rather than streamed
        through two async generators (theirs and an error-mapping one around it), which was a
        fifth of a request's client CPU; every caller reads the whole answer anyway (``Sender``).
        """
        timeout = request.extensions.get("timeout", {})
        data: Any
        try:
            data = request.content or None
        except httpx.RequestNotRead:  # a multipart upload: aiohttp reads the stream
            data = request.stream
            request.headers.pop("transfer-encoding", None)
        answer, content = await self._send(
            request.method, str(request.url), request.headers, data, timeout, auto_decompress=False,
            server_hostname=request.extensions.get("sni_hostname"))
        extensions: dict[str, Any] = {"http_version": b"HTTP/1.1"}
        if answer.reason:
            extensions["reason_phrase"] = answer.reason.encode()
        # ``content`` is still encoded as the server sent it (no auto-decompression):
        # httpx decodes it by its Content-Encoding, as it would a streamed body.
        return httpx.Response(answer.status, headers=answer.raw_headers, content=content, request=request,
                              extensions=extensions)

    async def exchange(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None,
                       timeouts: dict[str, Any]) -> Answer:
        """Send ``body`` (already encoded, ``headers`` saying how) to ``url`` and read the answer.

        What ``handle_async_request`` does, without building an ``httpx.Response`` (its header
        normalisation and decoding machinery) for an answer that is read once: aiohttp decodes
        the body by its Content-Encoding, and a body that does not decode is a read error.
        """
        answer, content = await self._send(method, url, headers, body, timeouts)
        answer_headers = answer.headers
        return Answer(answer.status, content, answer_headers.get("Content-Type"), answer_headers.get("Retry-After"),
                      answer.reason)

    async def _send(self, method: str, url: str, headers: Any, data: Any, timeouts: Mapping[str, Any],
                    **options: Any) -> tuple[aiohttp.ClientResponse, bytes]:
        """One request through the pool, its answer read whole; aiohttp's errors as httpcore's.
        The answer's status, headers and reason stay readable once its connection is released."""
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        proxy = self.proxy
        try:
            async with self.client.request(
                method, url, headers=headers, data=data, allow_redirects=False, compress=False,
                timeout=self._timeout(timeouts.get("connect"), timeouts.get("read"), timeouts.get("pool")),
                proxy=str(proxy.url) if proxy else None,
                proxy_auth=aiohttp.BasicAuth(*proxy.auth) if proxy and proxy.auth else None,
                proxy_headers=proxy.headers if proxy else None, **options,
            ) as answer:
                return answer, await answer.read()
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise (_mapped(exc) or httpx.TransportError(str(exc))) from exc

    @functools.lru_cache(maxsize=8)  # noqa: B019 - a handful of timeouts, for the transport's life
    def _timeout(self, connect: float | None, read: float | None, pool: float | None) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(sock_connect=connect, sock_read=read, connect=pool)


#: A path that needs no percent-encoding: sent as it is, with no URL parser on the way.
PLAIN_PATH = re.compile(r"[A-Za-z0-9_.~/-]*")


def query_value(value: Any) -> str:
    """A query parameter's value as httpx writes it (``true``/``false`` for booleans)."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "" if value is None else str(value)


def encode_query(params: Mapping[str, Any]) -> str:
    """``params`` as httpx encodes them (a list or tuple as the key repeated)."""
    pairs = [(key, query_value(item)) for key, value in params.items()
             for item in (value if isinstance(value, (list, tuple)) else (value,))]
    return urllib.parse.urlencode(pairs)


def encode_json(value: Any) -> bytes:
    """A JSON body as httpx encodes one."""
    return jsonlib.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


class Sender:
    """Sends one request through an httpx transport and reads its answer whole, as an `Answer`.

    This is the part of ``httpx.AsyncClient.request`` the client needs. The rest of it costs
    as much CPU as the connection pool itself: 2,000 GETs at 64 concurrent took 0.52 ms of
    client CPU each through ``AsyncClient.request`` and 0.25 ms through the same transport
    called directly (``docs/benchmarks.md``, "The client"). The difference is URL merging
    through httpx's pure-Python parser (twice per request), the auth-flow generator, the
    redirect loop and cookie extraction through ``http.cookiejar``; the API sets no cookies
    and a call of ours is never redirected (httpx does not follow redirects by default
    either), so none of it does anything here. Any ``httpx.AsyncBaseTransport`` works:
    the CLI's ``PooledTransport``, the tests' in-process ``ASGITransport``.

    Over a ``PooledTransport``, a request whose path needs no encoding and that uploads no
    file goes as bytes through ``PooledTransport.exchange``: no ``httpx.Request`` (whose URL
    parse was the largest part left of the client's own CPU) and no ``httpx.Response``. The
    URL, the query and the JSON body are written as httpx writes them.
    """

    def __init__(self, transport: httpx.AsyncBaseTransport, base_url: str, headers: dict[str, str],
                 timeout: httpx.Timeout) -> None:
        self._transport = transport
        self.base_url = base_url.rstrip("/") + "/"
        # Built once: the same header object for every request (httpx copies it into each).
        self._headers = httpx.Headers({"Accept-Encoding": "gzip, deflate", "Connection": "keep-alive", **headers})
        self._timeout = timeout.as_dict()
        self._pooled = transport if isinstance(transport, PooledTransport) else None
        plain = {"Accept-Encoding": "gzip, deflate", "Connection": "keep-alive", **headers}
        self._plain_headers = plain
        self._json_headers = {**plain, "Content-Type": "application/json"}

    async def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
                      files: Any = None) -> Answer:
        """``method`` on ``base_url + path`` (no leading slash); the answer's body is read."""
        pooled = self._pooled
        if pooled is not None and files is None and PLAIN_PATH.fullmatch(path):
            url = self.base_url + path
            if params:
                url += "?" + encode_query(params)
            if json is None:
                return await pooled.exchange(method, url, self._plain_headers, None, self._timeout)
            return await pooled.exchange(method, url, self._json_headers, encode_json(json), self._timeout)
        request = httpx.Request(method, self.base_url + path, params=params or None, json=json, files=files,
                                headers=self._headers, extensions={"timeout": self._timeout})
        response = await self._transport.handle_async_request(request)
        response.request = request
        try:
            await response.aread()
        finally:
            await response.aclose()
        headers = response.headers
        return Answer(response.status_code, response.content, headers.get("content-type"),
                      headers.get("retry-after"), response.reason_phrase)

    async def aclose(self) -> None:
        await self._transport.aclose()

    def __repr__(self) -> str:  # never the headers: they hold the key
        return f"<Sender {self.base_url}>"
