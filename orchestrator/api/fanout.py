"""Bounded fan-out: do one awaitable piece of work per item with a fixed number of tasks.

Why not one task per item (``tg.start_soon(work, item)`` in a loop): at 100,000 accounts that
is 100,000 tasks alive at once, each with its coroutine frames, its cancel scope and the event
it waits on at the client's concurrency limit, while only ``concurrency`` of them can send.
Measured on an apply of 10,000 accounts, those waiting tasks were the largest part of the
client's memory; at 100,000 they took it past 1.5 GB. A few workers pulling from one source
do the same work in the same order (the client's limits stay the only brakes) in memory that
does not grow with the fleet. anyio's ``CapacityLimiter`` bounds what runs, not what waits,
so it does not help here.

A failing piece of work fails the group as a task group would: the other workers are
cancelled and the error propagates (in an ``ExceptionGroup``, as from any task group).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from typing import TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

T = TypeVar("T")


async def each(items: Iterable[T], work: Callable[[T], Awaitable[object]], *, workers: int) -> None:
    """``await work(item)`` for every item, in order of start, at most ``workers`` at once."""
    source = iter(items)

    async def worker() -> None:
        # One iterator shared by every worker: ``next`` never awaits, so no two take the same item.
        for item in source:
            await work(item)

    async with anyio.create_task_group() as tg:
        for _ in range(max(1, workers)):
            tg.start_soon(worker)


async def each_streamed(items: AsyncIterable[T], work: Callable[[T], Awaitable[object]], *,
                        workers: int) -> None:
    """As `each`, for items that arrive over time (list pages): taken as they come, with
    back-pressure, so that no more than a few of them wait in memory for a worker."""
    send, receive = anyio.create_memory_object_stream[T](max(1, workers))

    async def worker(inbox: MemoryObjectReceiveStream[T]) -> None:
        # ``receive_nowait`` and ``send_nowait`` first: the stream's ``receive`` and ``send``
        # pass through the event loop on every item even when one is there (a checkpoint),
        # eight loop passes a request in a plan; the work awaits a request anyway.
        async with inbox:
            while True:
                try:
                    item = inbox.receive_nowait()
                except anyio.WouldBlock:
                    try:
                        item = await inbox.receive()
                    except anyio.EndOfStream:
                        return
                except anyio.EndOfStream:
                    return
                await work(item)

    async with anyio.create_task_group() as tg:
        async with receive:
            for _ in range(max(1, workers)):
                tg.start_soon(worker, receive.clone())
        # Closed here, by the task that read it, even when a worker's failure cancels the read:
        # a list's read-ahead requests stop with it rather than when the collector finds it.
        async with send, closing(items) as source:
            async for item in source:
                try:
                    send.send_nowait(item)
                except anyio.WouldBlock:
                    await send.send(item)


@contextlib.asynccontextmanager
async def closing(items: AsyncIterable[T]) -> AsyncIterator[AsyncIterable[T]]:
    """``contextlib.aclosing`` for any async iterable (an ``AsyncIterator`` need not have ``aclose``)."""
    try:
        yield items
    finally:
        close = getattr(items, "aclose", None)
        if close is not None:
            await close()
