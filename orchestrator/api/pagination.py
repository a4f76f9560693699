"""Reading whole lists: page-numbered (``page``/``per_page``, 100 a page) and cursor-based
(InBox, Direct). Both are bounded: a server that keeps answering cannot keep us looping."""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import AsyncIterator
from itertools import islice
from typing import TYPE_CHECKING, Any

from orchestrator.api.errors import ResponseError
from orchestrator.api.models import parse

if TYPE_CHECKING:
    from orchestrator.api.transport import Transport

MAX_PER_PAGE = 100
MAX_PAGES = 5_000  # a bound on what one list read may fetch (500,000 items): a larger ``total`` is refused
MAX_CURSOR_PAGES = 10_000
PAGES_AHEAD = 32  # pages of one list read ahead of the consumer: memory stays bounded by this


async def pages(
    transport: Transport,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    per_page: int = MAX_PER_PAGE,
    ahead: int = PAGES_AHEAD,
) -> AsyncIterator[dict[str, Any]]:
    """Yield the ``data`` of every page of a page-numbered list, first to last.

    The first page says how many there are; the next ``ahead`` pages are then read
    concurrently (the client's rate and concurrency limits pace them) and yielded in order,
    a new read starting as each page is handed on. Those reads start before the first page
    is handed on: a consumer that queues a read per item (a plan's settings reads) would
    otherwise put a page's worth of requests ahead of the list's own next pages. Reading the
    pages one after another would cost a round trip each (20 pages at 50 ms is a second per
    list); reading all at once would hold every page of a 100,000-item list in memory.
    """
    query = dict(params or {})
    first = (await transport.call("GET", path, params={**query, "page": 1, "per_page": per_page})).data or {}
    if not first.get("items"):
        yield first
        return
    size = int(first.get("per_page", per_page)) or per_page  # the server may clamp per_page
    last_page = max(1, math.ceil(int(first.get("total", 0)) / size))
    if last_page > MAX_PAGES:
        # Refused, not truncated: a list cut short would plan against accounts that seem gone.
        # A server claiming a total this large is broken or hostile, and reading it would never end.
        raise ResponseError(f"the list claims {last_page:,} pages, more than the {MAX_PAGES:,} this client reads",
                            method="GET", path=path, status=200)

    async def read(page: int) -> dict[str, Any]:
        return (await transport.call("GET", path, params={**query, "page": page, "per_page": per_page})).data or {}

    # Plain asyncio tasks rather than an anyio task group: a task group's cancel scope cannot
    # stay open across this generator's ``yield``. Whatever is still in flight when the
    # consumer stops early (or fails) is cancelled in ``finally``.
    window: deque[asyncio.Task[dict[str, Any]]] = deque()
    following = iter(range(2, last_page + 1))
    try:
        for page in islice(following, max(1, ahead)):
            window.append(asyncio.ensure_future(read(page)))
        yield first
        while window:
            data = await window.popleft()
            for page in islice(following, 1):
                window.append(asyncio.ensure_future(read(page)))
            yield data
    finally:
        for task in window:
            task.cancel()
        if window:
            await asyncio.gather(*window, return_exceptions=True)


async def items(
    transport: Transport,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    model: type[Any] | None = None,
    per_page: int = MAX_PER_PAGE,
) -> AsyncIterator[Any]:
    """Yield every item of a page-numbered list, parsed as ``model``."""
    async for data in pages(transport, path, params, per_page=per_page):
        for item in data.get("items", []):
            yield parse(model, item)


async def cursor_items(
    transport: Transport,
    path: str,
    key: str,
    params: dict[str, Any] | None = None,
    *,
    model: type[Any] | None = None,
    max_pages: int = MAX_CURSOR_PAGES,
) -> AsyncIterator[Any]:
    """Yield every item of a cursor-paged list whose items sit under ``key`` (``threads``,
    ``messages``), following ``next_cursor`` until it is empty or repeats."""
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(max_pages):
        query = {**(params or {}), **({"cursor": cursor} if cursor else {})}
        data = (await transport.call("GET", path, params=query)).data or {}
        for item in data.get(key, []):
            yield parse(model, item)
        cursor = data.get("next_cursor")
        if not cursor or cursor in seen:
            return
        seen.add(cursor)
