"""Reading whole lists: page-numbered (``page``/``per_page``, 100 a page) and cursor-based
(InBox, Direct). Both are bounded: a server that keeps answering cannot keep us looping.

Every page is checked against the shape the reference documents before an item of it is
handed on: ``data`` an object with ``items`` (a list), ``total``, ``page`` (the one asked
for) and ``per_page``; every page of one read agreeing with the first on ``total`` and
``per_page``; each page holding the items the total says it must (full pages, then the rest).
A page that is not so is `UnexpectedAnswer`, never a shorter list: a list cut short (a
maintenance page in place of page 2, a proxy's cached page 1 for every page) would plan
against accounts that seem gone. Items are validated as their model, each failure naming
its index. The checks are a few comparisons per page, nothing per item beyond the model.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import AsyncIterator
from itertools import islice
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from orchestrator.api.envelope import kind_of
from orchestrator.api.errors import UnexpectedAnswer

if TYPE_CHECKING:
    from orchestrator.api.transport import Result, Transport

MAX_PER_PAGE = 100
MAX_PAGES = 5_000  # a bound on what one list read may fetch (500,000 items): a larger ``total`` is refused
MAX_CURSOR_PAGES = 10_000
PAGES_AHEAD = 32  # pages of one list read ahead of the consumer: memory stays bounded by this
PAGE_SHAPE = "a page of the list (an object with items, total, page and per_page)"


def page_data(result: Result, path: str, page: int, *, first: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``data`` of ``result``, the answer to ``page`` of the list at ``path``, checked (see the
    module docstring); ``first``: page 1 of the same read, which this page must agree with."""
    data = result.data

    def wrong(cause: str) -> UnexpectedAnswer:
        return UnexpectedAnswer(cause, method="GET", path=path, status=result.status, page=page)

    if not isinstance(data, dict):
        raise wrong(f"data that is {kind_of(data)} where {PAGE_SHAPE} belongs")
    items = data.get("items")
    if not isinstance(items, list):
        raise wrong(f'a page whose "items" is {kind_of(items)}, not a list')
    for name in ("total", "page", "per_page"):
        value = data.get(name)
        if type(value) is not int or value < (0 if name == "total" else 1):
            raise wrong(f'a page whose "{name}" is {kind_of(value) if type(value) is not int else value}, '
                        "not a count")
    total, size = data["total"], data["per_page"]
    if first is not None and total != first["total"]:
        raise wrong(f"a page whose total ({total:,}) disagrees with page 1's ({first['total']:,}): the list "
                    "changed while it was read, or something between us and the API answered; read it again")
    if first is not None and size != first["per_page"]:
        raise wrong(f"{size} items a page where page 1 had {first['per_page']}")
    if data["page"] != page:
        raise wrong(f"page {data['page']} where page {page} was asked for: a cache in front of the API "
                    "that ignores the query string?")
    due = min(size, max(0, total - (page - 1) * size))
    if len(items) != due:
        raise wrong(f"{len(items):,} items where the list's total ({total:,}, {size} a page) puts {due:,} on "
                    "this page: its pages disagree with its total")
    return data


def checked_items(items: list[Any], model: type[Any] | None, path: str, page: int | None = None, *,
                  status: int = 200) -> list[Any]:
    """``items`` as ``model`` (unchanged without one; ``dict``: raw objects, each checked to be
    one); an item that is not one is `UnexpectedAnswer`."""
    if model is None:
        return items
    if model is dict:  # raw items a readback compares field by field: objects, or nothing to compare
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise UnexpectedAnswer(f"items[{i}] that is {kind_of(item)}, not an object", method="GET",
                                       path=path, status=status, page=page)
        return items
    validate = model.model_validate
    out = []
    for i, item in enumerate(items):
        try:
            out.append(validate(item))
        except ValidationError as exc:
            raise UnexpectedAnswer(f"items[{i}] that is not {article(model.__name__)} ({describe(exc)})",
                                   method="GET", path=path, status=status, page=page) from None
    return out


def describe(exc: ValidationError, most: int = 3) -> str:
    """What pydantic found wrong, by field, without the values (a value may be a secret)."""
    found = exc.errors(include_url=False, include_context=False, include_input=False)
    parts = [f"{'.'.join(map(str, e['loc'])) or 'the value'}: {e['msg']}" for e in found[:most]]
    more = f"; and {len(found) - most} more" if len(found) > most else ""
    return "; ".join(parts) + more


def article(name: str) -> str:
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


async def pages(
    transport: Transport,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    per_page: int = MAX_PER_PAGE,
    ahead: int = PAGES_AHEAD,
) -> AsyncIterator[dict[str, Any]]:
    """Yield the checked ``data`` of every page of a page-numbered list, first to last.

    The first page says how many there are; the next ``ahead`` pages are then read
    concurrently (the client's rate and concurrency limits pace them) and yielded in order,
    a new read starting as each page is handed on. Those reads start before the first page
    is handed on: a consumer that queues a read per item (a plan's settings reads) would
    otherwise put a page's worth of requests ahead of the list's own next pages. Reading the
    pages one after another would cost a round trip each (20 pages at 50 ms is a second per
    list); reading all at once would hold every page of a 100,000-item list in memory.
    """
    query = dict(params or {})

    async def call(page: int) -> Result:
        return await transport.call("GET", path, params={**query, "page": page, "per_page": per_page})

    answer = await call(1)
    first = page_data(answer, path, 1)
    size = first["per_page"]  # the server may clamp per_page: its pages are counted by its own
    last_page = max(1, math.ceil(first["total"] / size))
    if last_page > MAX_PAGES:
        # Refused, not truncated: a list cut short would plan against accounts that seem gone.
        # A server claiming a total this large is broken or hostile, and reading it would never end.
        raise UnexpectedAnswer(f"a list that claims {last_page:,} pages, more than the {MAX_PAGES:,} this "
                               "client reads", method="GET", path=path, status=answer.status, page=1)

    async def read(page: int) -> dict[str, Any]:
        return page_data(await call(page), path, page, first=first)

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
    """Yield every item of a page-numbered list, validated as ``model``. A page's items are
    checked before the first of them is handed on, so a bad page yields none of its items."""
    async for data in pages(transport, path, params, per_page=per_page):
        for item in checked_items(data["items"], model, path, data["page"]):
            yield item


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
    ``messages``), following ``next_cursor`` until it is empty or repeats. Each page must be
    an object with a list under ``key`` and a ``next_cursor`` that is a string or null."""
    cursor: str | None = None
    seen: set[str] = set()
    for _ in range(max_pages):
        query = {**(params or {}), **({"cursor": cursor} if cursor else {})}
        result = await transport.call("GET", path, params=query)
        data = cursor_page(result, path, key)
        for item in checked_items(data[key], model, path, status=result.status):
            yield item
        cursor = data["next_cursor"]
        if not cursor or cursor in seen:
            return
        seen.add(cursor)


def cursor_page(result: Result, path: str, key: str) -> dict[str, Any]:
    """The checked ``data`` of one cursor page (InBox, Direct Basic) with its items under ``key``."""
    data = result.data

    def wrong(cause: str) -> UnexpectedAnswer:
        return UnexpectedAnswer(cause, method="GET", path=path, status=result.status)

    if not isinstance(data, dict):
        raise wrong(f"data that is {kind_of(data)} where a cursor page (an object with {key} and "
                    "next_cursor) belongs")
    if not isinstance(data.get(key), list):
        raise wrong(f'a cursor page whose "{key}" is {kind_of(data.get(key))}, not a list')
    if "next_cursor" not in data:
        raise wrong('a cursor page without "next_cursor": whether more follow is unknown')
    if data["next_cursor"] is not None and not isinstance(data["next_cursor"], str):
        raise wrong(f'a cursor page whose "next_cursor" is {kind_of(data["next_cursor"])}, not a string or null')
    return data
