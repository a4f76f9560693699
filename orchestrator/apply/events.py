"""One stream of events out of a run: what the terminal display, the logs, the metrics and the
status page follow, instead of callbacks threaded through the engine.

The engine (`apply.run.apply`, the `Executor`) calls `Events.emit`; a view subscribes with
`Events.subscribe` and gets every event, in order, on the event loop's thread. Subscribers
are called synchronously and must be quick (update a counter, print a line); a subscriber
that raises is logged and the run goes on, since a display is never worth an apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from orchestrator.log import get_logger

if TYPE_CHECKING:
    from orchestrator.kinds import AccountIssue, Operation

log = get_logger("orchestrator.events")


@dataclass(frozen=True)
class Phase:
    """Where an apply is: ``reading`` the live state, ``applying`` wave ``wave`` of ``waves``
    (``operations`` on ``accounts``), or ``verifying`` it."""

    name: str
    wave: int = 0
    waves: int = 0
    operations: int = 0
    accounts: int = 0


@dataclass(frozen=True)
class PhaseStarted:
    """The run moved on (reading, applying a wave, verifying it)."""

    phase: Phase


@dataclass(frozen=True, eq=False)
class WritesStarted:
    """The plan passed the policy and the run's writes begin. ``outcome`` is the run's, filled in
    as its waves end: a view that must account for a run cancelled while it writes (which then
    returns no outcome: a reconcile cycle recording what it did) keeps it."""

    outcome: Any  # an `orchestrator.apply.run.ApplyOutcome` (which imports this module: no import back)


@dataclass(frozen=True)
class OperationStarted:
    """An operation is journaled and about to be sent. It ends in `OperationDone`,
    `OperationFailed` or `OperationCancelled`."""

    op: Operation


@dataclass(frozen=True)
class OperationCancelled:
    """An operation was cancelled in flight (a second signal, the grace running out): ``sent``
    whether a request of it had gone out (then it may still take effect: journaled in doubt)."""

    op: Operation
    sent: bool


@dataclass(frozen=True)
class OperationDone:
    """An operation took effect (its answer said so, or its read-back found it)."""

    op: Operation


@dataclass(frozen=True)
class OperationFailed:
    """An operation failed; ``issue`` is its account's, as the run report lists it."""

    op: Operation
    issue: AccountIssue


@dataclass(frozen=True)
class WaveVerified:
    """Wave ``number`` was re-read: of its ``accounts``, ``failed`` failed and ``unverified`` differ still."""

    number: int
    accounts: int
    failed: int
    unverified: int


@dataclass(frozen=True)
class RunEnded:
    """The run is over, with its exit code and last line (``run_id`` in the history, if kept)."""

    exit_code: int
    message: str
    run_id: int | None = None


Event = (PhaseStarted | WritesStarted | OperationStarted | OperationDone | OperationFailed | OperationCancelled
         | WaveVerified | RunEnded)
Subscriber = Callable[[Event], None]


@dataclass
class Events:
    """The subscribers of one run's events."""

    _subscribers: list[Subscriber] = field(default_factory=list)

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Call ``subscriber`` with every later event; returns what unsubscribes it."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def emit(self, event: Event) -> None:
        for subscriber in tuple(self._subscribers):
            try:
                subscriber(event)
            except Exception as exc:  # noqa: BLE001 - a view's bug must not stop the run
                log.warning("an event subscriber failed", kind_of_event=type(event).__name__,
                            error=f"{type(exc).__name__}: {exc}")
