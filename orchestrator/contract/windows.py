"""Desired state in time: the contract's side of entry windows (``when:``).

An entry with ``when:`` is desired only inside its windows. The playbook evaluates the windows
(``orchestrator.playbook.windows``) and hands the engine plain facts:

- `WindowEvent`: a window of an entry opens or closes at an instant (what plans list ahead,
  and what wakes the reconcile loop);
- `Withdrawal`: an item of an additive list (a target, a first-comment schedule) that a windowed
  entry adds and whose window is now closed: taken back from the live state, but only where the
  orchestrator added it for a window (a `Claim` says so) and no entry that applies now wants it;
- `Claim`: the state database's record that an apply added an item for a window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from orchestrator.contract.sourced import Position

T = TypeVar("T")


@dataclass(frozen=True, order=True)
class WindowEvent:
    """A windowed entry starts (``opens``) or stops applying at ``at`` (aware, UTC)."""

    at: datetime
    entry: str  # the entry's name (unique among windowed entries)
    opens: bool
    source: Position  # the entry's `when:`
    timezone: str = "UTC"  # the zone its window is written in, to show the local time too

    @property
    def event(self) -> str:
        return "open" if self.opens else "close"


@dataclass(frozen=True, slots=True)
class Withdrawal(Generic[T]):
    """``value`` (a `Target`, a `CommentScheduleDesired`) that the closed window of entry
    ``window`` adds; ``source`` is that entry's ``when:``."""

    value: T
    window: str
    source: Position


@dataclass(frozen=True)
class Claim:
    """An item an apply added for the window of entry ``window``: (account, kind, path) as the
    add's `Change` names it (``targets[hashtag:blackfriday]``, ``schedules[brands]``)."""

    account_id: int
    kind: str
    path: str
    window: str

    @property
    def key(self) -> tuple[int, str, str]:
        return (self.account_id, self.kind, self.path)
