"""Ctrl-C and SIGTERM, for runs that read and runs that write: `InterruptWatch` is the one
watcher of apply (``cli/apply.py``) and of the reconcile loop (``Reconciler.run``, whose cycles
are writing from their first write to their record).

- **While reading** (plan, the reads before apply's first write, ``api``): nothing has changed
  on the server, so the first signal cancels every request at once and the command exits 130
  (143 for SIGTERM).
- **While writing**: the first signal stops new operations; the calls in flight get `GRACE`
  seconds to finish (so the journal records their outcome), then they are cancelled, so a dead
  server's retry loop cannot hold the process. A second signal cancels them at once; the
  journal keeps what is known (an operation it shows ``pending`` may or may not have applied:
  ``apply --resume`` re-reads before it acts).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import anyio
import anyio.abc

T = TypeVar("T")
#: Seconds the calls in flight get to finish after the first signal during writes.
GRACE = 5.0
SIGNALS = (signal.SIGINT, signal.SIGTERM)


def exit_code(signum: int) -> int:
    """130 for SIGINT, 143 for SIGTERM (128 + the signal's number, as shells report it)."""
    return 128 + int(signum)


@dataclass
class InterruptWatch:
    """The signals a run received, and what they did; `watch` runs beside the work."""

    writing: bool = False
    received: list[int] = field(default_factory=list)
    on_stop: Callable[[], None] | None = None  # the first signal while writing: stop starting work
    grace: float = GRACE

    @property
    def signal(self) -> int | None:
        return self.received[0] if self.received else None

    async def watch(self, tg: anyio.abc.TaskGroup, notice: Callable[[str], None] = lambda _: None) -> None:
        """Receive signals until one ends the work: cancels ``tg`` as the module docstring says."""
        with anyio.open_signal_receiver(*SIGNALS) as signals:
            async for signum in signals:
                self.received.append(signum)
                if not self.writing or len(self.received) > 1:
                    if self.writing:
                        notice("stopping now: requests in flight are cancelled; the journal keeps what is known")
                    tg.cancel_scope.cancel()
                    return
                notice(f"stopping: in-flight calls finish (at most {self.grace:g} s), nothing new starts; "
                       "press Ctrl-C again to stop at once")
                if self.on_stop is not None:
                    self.on_stop()
                tg.start_soon(_cancel_after, tg.cancel_scope, self.grace)


async def _cancel_after(scope: anyio.CancelScope, seconds: float) -> None:
    await anyio.sleep(seconds)
    scope.cancel()


async def run_reading(fn: Callable[[], Awaitable[T]]) -> tuple[T | None, int | None]:
    """``fn()`` cancelled at once by SIGINT or SIGTERM: (its result, None) or (None, the signal).
    An exception ``fn`` raises is raised as itself, not inside an exception group."""
    watch = InterruptWatch()
    result: T | None = None
    failure: BaseException | None = None

    async def work(tg: anyio.abc.TaskGroup) -> None:
        nonlocal result, failure
        try:
            result = await fn()
        except Exception as exc:  # re-raised below, outside the task group
            failure = exc
        tg.cancel_scope.cancel()

    async with anyio.create_task_group() as tg:
        tg.start_soon(watch.watch, tg)
        await work(tg)
    if failure is not None:
        raise failure
    return (None, watch.signal) if watch.signal is not None else (result, None)


async def ask(prompt: Callable[[], str], poll: float = 0.05) -> str:
    """``prompt()`` (a blocking read of the terminal) without blocking the event loop, and
    cancellable: a Ctrl-C at the prompt ends the run at once. The read runs on a daemon thread,
    which the interpreter does not wait for at exit (a worker thread blocked in ``input()``
    would keep the process alive until Enter is pressed)."""
    done = threading.Event()
    answer: list[str] = []
    failure: list[BaseException] = []

    def read() -> None:
        try:
            answer.append(prompt())
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting task
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=read, name="confirmation-prompt", daemon=True).start()
    # The answer is set by a plain daemon thread, which cannot set an anyio.Event of this loop:
    # polling a threading.Event is the simple, cancellable way to wait for it.
    while not done.is_set():  # noqa: ASYNC110
        await anyio.sleep(poll)
    if failure:
        raise failure[0]
    return answer[0]
