"""What a plan says about entry windows: the instant it is desired for, the windows open then,
and the next transitions ahead (when, which entry opens or closes, on how many accounts, and
what the desired state then changes), as data. ``orchestrator.planning.windows`` makes them,
``orchestrator.render`` shows them, ``Plan.to_json`` writes them under ``windows``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from orchestrator.contract import Kind, Position, WindowEvent
from orchestrator.contract.vocabulary import Action


@dataclass(frozen=True)
class TransitionChange:
    """One change of desired state at a transition, the same on ``accounts`` accounts (named in
    ``usernames``, which a saved plan does not keep): ``before`` is what is desired just before
    (None: not managed), ``after`` just after (None: taken back)."""

    kind: Kind
    action: Action
    path: str
    before: Any
    after: Any
    accounts: int
    usernames: tuple[str, ...] = field(default=(), compare=False)

    def public(self) -> dict[str, Any]:
        return {"kind": self.kind, "action": self.action, "path": self.path, "before": self.before,
                "after": self.after, "accounts": self.accounts}


@dataclass(frozen=True)
class Transition:
    """At ``at``, the entries of ``events`` open or close; ``accounts`` accounts then want
    something else, as ``changes`` say (live as it is now: a plan at that time would apply them
    to an installation in sync today)."""

    at: datetime
    events: tuple[WindowEvent, ...]
    accounts: int
    changes: tuple[TransitionChange, ...]

    def public(self) -> dict[str, Any]:
        return {
            "at": stamp(self.at),
            "events": [{"entry": e.entry, "event": e.event, "source": str(e.source), "timezone": e.timezone}
                       for e in self.events],
            "accounts": self.accounts,
            "changes": [c.public() for c in self.changes],
        }

    @classmethod
    def from_public(cls, data: dict[str, Any]) -> Transition:
        at = parse_stamp(data["at"])
        events = tuple(WindowEvent(at, e["entry"], e["event"] == "open", _position(e.get("source")),
                                   e.get("timezone", "UTC")) for e in data.get("events", []))
        # The accounts' names are not saved (a count is): a loaded transition names none.
        changes = tuple(TransitionChange(Kind(c["kind"]), Action(c["action"]), c["path"], c.get("before"),
                                         c.get("after"), int(c.get("accounts", 0)))
                        for c in data.get("changes", []))
        return cls(at, events, int(data.get("accounts", 0)), changes)


@dataclass(frozen=True)
class PlanWindows:
    """The windows side of a plan: desired at ``at`` (whole seconds, as plans write it), with
    ``open`` entries open then."""

    at: datetime
    open: tuple[str, ...] = ()
    transitions: tuple[Transition, ...] = ()

    def public(self) -> dict[str, Any]:
        return {"at": stamp(self.at), "open": list(self.open), "transitions": [t.public() for t in self.transitions]}

    @classmethod
    def from_public(cls, data: dict[str, Any]) -> PlanWindows:
        return cls(parse_stamp(data["at"]), tuple(data.get("open", ())),
                   tuple(Transition.from_public(t) for t in data.get("transitions", ())))


def stamp(at: datetime) -> str:
    """``2026-11-27T05:00:00Z``: an instant as plans write it (UTC, seconds)."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_stamp(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _position(text: str | None) -> Position:
    if not text:
        return Position("", 0, 0)
    rest, _, col = text.rpartition(":")
    file, _, line = rest.rpartition(":")
    if not (line.isdigit() and col.isdigit()):
        return Position(text, 0, 0)
    return Position(file, int(line), int(col))
