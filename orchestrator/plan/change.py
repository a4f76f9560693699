"""One difference between desired and live state (`Change`), and how it reads.

The plan's unit, as octoDNS's change objects are: plain, immutable, sorted by account and by
the order its `Action` runs in. ``orchestrator.plan.model`` holds the `Plan` made of them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from orchestrator.contract import LIBRARY_ID, Kind
from orchestrator.contract.vocabulary import Action

#: The order actions run in within one account (pauses first, activations last): `Action.order`.
ACTION_ORDER: dict[str, int] = {a.value: a.order for a in Action}


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between desired and live state, and what realises it.

    ``account_id`` is `LIBRARY_ID` (0) for user-level resources (the caption library). ``path`` says what
    changes (``state``, ``settings.likes_speed``, ``targets[hashtag:summer]``, ``captions[Summer sale]``);
    ``source`` is the ``file:line`` of the playbook value that asks for it. ``ref`` carries
    what the executor needs and the renderers don't show (a target id, a schedule id).
    ``window`` names the windowed entry (``when:``) the change is for: an item it adds while open
    (the state database remembers it: ``StateStore.window_claims``), or takes back once closed.
    """

    account_id: int
    username: str
    kind: Kind
    action: Action
    path: str
    before: Any = None
    after: Any = None
    source: str | None = None
    ref: Any = None
    window: str | None = None

    @property
    def on_library(self) -> bool:
        """Whether this changes the caption library (the user's, not an account's)."""
        return self.account_id == LIBRARY_ID

    def sort_key(self) -> tuple[Any, ...]:
        return (self.username, self.account_id, self.kind, Action(self.action).order, self.path)

    def public(self) -> dict[str, Any]:
        """The change as the plan's JSON shows it, without ``ref``."""
        # Built field by field rather than with ``dataclasses.asdict``, which deep-copies every
        # value: for the thousands of changes of a fleet plan it was half the JSON rendering.
        # The values are plain data already (JSON as read, or as the playbook wrote it).
        out = {"account_id": self.account_id, "username": self.username, "kind": self.kind,
               "action": self.action, "path": self.path, "before": self.before, "after": self.after,
               "source": self.source}
        if self.window is not None:  # only then: plans without windows read as they always did
            out["window"] = self.window
        return out



def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def fingerprint(value: Any) -> str:
    """A stable hash of a live state as read (canonical JSON)."""
    return "sha256:" + hashlib.sha256(canonical(value).encode()).hexdigest()



# How one change reads (shared by `orchestrator.render`, the blocked list and reconcile's drift).
SYMBOL: dict[str, str] = {a.value: a.symbol for a in Action}
COLOUR = {"+": "green", "▶": "green", "~": "yellow", "-": "red", "⏸": "magenta"}


def value_text(v: Any) -> str:
    """A value as a plan shows it: strings quoted, the rest as canonical JSON."""
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    return canonical(v)


def describe(c: Change) -> str:
    """What one change does, without whom it concerns: ``settings.likes_speed: 3 -> 4``."""
    if c.action in (Action.UPDATE, Action.SET):
        return f"{c.path}: {value_text(c.before)} -> {value_text(c.after)}"
    if c.action in (Action.ACTIVATE, Action.PAUSE, Action.START, Action.STOP):
        return f"{c.path}: {c.before} -> {c.after}"
    if c.action in (Action.CREATE, Action.ADD):
        shown = c.after not in (None, "") and not c.path.endswith("]")
        return f"{c.path}" + (f" = {value_text(c.after)}" if shown else "")
    return c.path
