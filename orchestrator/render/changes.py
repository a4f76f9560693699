"""Identical changes grouped across accounts, and how one change reads.

Two changes are the same change when they have the same (kind, action, path, before, after,
source) and the same drift label: at 800 accounts, one setting raised everywhere is one line,
not 800. A value a change's line does not show (what a created or deleted ``schedules[...]``
or ``posts[...]`` holds: each account's own time, its spun caption) does not split a group:
lines that read the same are one line; the JSON plan keeps every change's values.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from orchestrator.plan import ACTION_ORDER, SYMBOL, Change, Plan, canonical, describe

LIBRARY = "the caption library"  # it belongs to the API key's user, not to an account


def who(c: Change) -> str:
    return LIBRARY if c.on_library else c.username


@dataclass
class ChangeGroup:
    """One change made identically on several accounts."""

    first: Change
    drift: bool = False
    changes: list[Change] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.first.kind

    @property
    def symbol(self) -> str:
        return SYMBOL.get(self.first.action, "?")

    @property
    def usernames(self) -> list[str]:
        return sorted({who(c) for c in self.changes})

    @property
    def text(self) -> str:
        return describe(self.first)

    def sort_key(self) -> tuple[Any, ...]:
        return (self.kind, ACTION_ORDER.get(self.first.action, 9), self.first.path, -len(self.changes),
                canonical(self.first.before), canonical(self.first.after), self.first.source or "")


def shown(c: Change) -> tuple[Any, Any]:
    """The (before, after) the line of ``c`` shows (see `describe`): both for an update or a
    switch, the value of a created setting, nothing of an item created or deleted by name."""
    if c.action in ("create", "add"):
        return None, (None if c.path.endswith("]") else c.after)
    if c.action in ("delete", "remove"):
        return None, None
    return c.before, c.after


def group_changes(changes: Iterable[Change], drift: frozenset[tuple[int, str, str]] = frozenset()) -> list[ChangeGroup]:
    """Changes grouped by (kind, action, path, before, after, source, drift), in kind order,
    then action order, then path; a group keeps its changes in plan order."""
    groups: dict[tuple[Any, ...], ChangeGroup] = {}
    for c in changes:
        is_drift = (c.account_id, c.kind, c.path) in drift
        before, after = shown(c)
        key = (c.kind, c.action, c.path, canonical(before), canonical(after), c.source, is_drift)
        group = groups.get(key)
        if group is None:
            group = groups[key] = ChangeGroup(c, is_drift)
        group.changes.append(c)
    return sorted(groups.values(), key=ChangeGroup.sort_key)


def summary_line(plan: Plan) -> str:
    """``Plan: N changes on M accounts (kind: n action, ...; ...).``"""
    s = plan.summary()
    parts = [f"{kind}: " + ", ".join(f"{n} {a}" for a, n in actions.items()) for kind, actions in s["by_kind"].items()]
    return f"Plan: {s['total']} changes on {s['accounts']} accounts ({'; '.join(parts)})."

