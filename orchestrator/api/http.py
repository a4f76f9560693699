"""The connection pool under the client: httpx's API over aiohttp's transport (``httpx-aiohttp``).

httpcore's pool (httpx's default) spends most of a busy client's CPU assigning requests to
connections: at 64 concurrent requests, 1,000 GETs cost 5.3 s of client CPU through it and
0.65 s through aiohttp (measured in ``docs/benchmarks.md``). httpx stays the API, so tests
still inject ``httpx.ASGITransport`` for the in-process emulator.

Two things are adjusted on top of ``httpx_aiohttp.AiohttpTransport``:

- its exception map turns every dropped connection into ``httpx.ConnectTimeout`` (a subclass
  test picks ``ClientConnectionError``'s entry for ``ServerDisconnectedError``), which would
  tell the retry policy that a request whose answer was lost never reached the server. Here a
  failure to connect stays a connect error, and anything after it is a read/protocol error
  ("may have been applied"), as httpcore reports it;
- aiohttp silently sends an idempotent method (GET, PUT, DELETE) a second time when its
  connection drops. Whether a call may be repeated is the retry policy's decision
  (``retry.py``), so that is switched off.
"""

from __future__ import annotations

import asyncio
import urllib.parse
import urllib.request
from collections.abc import AsyncIterator

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport


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


class _Body(httpx.AsyncByteStream):
    """The response body, with the same error mapping while it is read."""

    def __init__(self, inner: httpx.AsyncByteStream) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except httpx.TransportError as exc:
            raise (_mapped(exc.__cause__) if exc.__cause__ else None) or exc from exc.__cause__

    async def aclose(self) -> None:
        await self._inner.aclose()


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
        try:
            response = await super().handle_async_request(request)
        except httpx.TransportError as exc:
            mapped = _mapped(exc.__cause__) if exc.__cause__ else None
            if mapped is None:
                raise
            raise mapped from exc.__cause__
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise (_mapped(exc) or httpx.TransportError(str(exc))) from exc
        response.stream = _Body(response.stream)  # type: ignore[arg-type]
        return response
