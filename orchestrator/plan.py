"""A plan: the changes that would make the live installation match the playbooks.

As in octoDNS, a plan is a sorted, immutable list of small ``Change`` values that render
several ways (`orchestrator.render`: text for people, Markdown for pull requests, JSON for
machines); this module is the data only. A plan also
records what it was computed from: a hash of the playbooks, and for every account it read,
a fingerprint of the live state it saw. ``apply --plan`` uses both to apply exactly what was
reviewed, and to skip accounts that changed since.

JSON schema (``format_version`` 1), documented in full in ``docs/plan-schema.json``:

    {"format_version": 1,
     "playbook_hash": "sha256:…",
     "changes": [{"account_id", "username", "kind", "action", "path", "before", "after", "source"}],
     "summary": {"total": N, "by_kind": {kind: {action: N}}, "accounts": N},
     "read": {"accounts": N, "fingerprints": {"<account_id>": {"<kind>": "sha256:…"}}},
     "blocked": [{"account_id", "username", "kind", "reason", "message", "action", "path", ...}]}

Blocked changes (``orchestrator.blockers``) are what the server would undo or refuse: they are
listed with their reason and never applied, and are not changes (``empty`` ignores them).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # blockers imports Change from here
    from orchestrator.blockers import Blocked

from orchestrator.contract import LIBRARY_ID, Kind

FORMAT_VERSION = 1

# The order actions run in within one account (and the order they are shown in): pauses first,
# so nothing runs while it is being changed; activations last, once targets and settings are in.
ACTION_ORDER = {
    "pause": 0, "stop": 0, "delete": 1, "remove": 2, "update": 3, "set": 3, "create": 4, "add": 5,
    "activate": 6, "start": 6,
}


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between desired and live state, and what realises it.

    ``account_id`` is `LIBRARY_ID` (0) for user-level resources (the caption library). ``path`` says what
    changes (``state``, ``settings.likes_speed``, ``targets[hashtag:summer]``, ``captions[Summer sale]``);
    ``source`` is the ``file:line`` of the playbook value that asks for it. ``ref`` carries
    what the executor needs and the renderers don't show (a target id, a schedule id).
    """

    account_id: int
    username: str
    kind: Kind
    action: str
    path: str
    before: Any = None
    after: Any = None
    source: str | None = None
    ref: Any = None

    @property
    def on_library(self) -> bool:
        """Whether this changes the caption library (the user's, not an account's)."""
        return self.account_id == LIBRARY_ID

    def sort_key(self) -> tuple[Any, ...]:
        return (self.username, self.account_id, self.kind, ACTION_ORDER.get(self.action, 9), self.path)

    def public(self) -> dict[str, Any]:
        """The change as the plan's JSON shows it, without ``ref``."""
        # Built field by field rather than with ``dataclasses.asdict``, which deep-copies every
        # value: for the thousands of changes of a fleet plan it was half the JSON rendering.
        # The values are plain data already (JSON as read, or as the playbook wrote it).
        return {"account_id": self.account_id, "username": self.username, "kind": self.kind,
                "action": self.action, "path": self.path, "before": self.before, "after": self.after,
                "source": self.source}


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def fingerprint(value: Any) -> str:
    """A stable hash of a live state as read (canonical JSON)."""
    return "sha256:" + hashlib.sha256(canonical(value).encode()).hexdigest()


def plan_checksum(data: dict[str, Any]) -> str:
    """The SHA-256 of a plan's JSON without its ``checksum`` (canonical form): a saved plan
    that was edited or truncated no longer matches it."""
    rest = {k: v for k, v in data.items() if k != "checksum"}
    return "sha256:" + hashlib.sha256(canonical(rest).encode()).hexdigest()


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...]
    playbook_hash: str
    fingerprints: dict[int, dict[str, str]] = field(default_factory=dict)
    accounts_read: int = 0
    blocked: tuple[Blocked, ...] = ()

    @classmethod
    def build(cls, changes: list[Change], playbook_hash: str, fingerprints: dict[int, dict[str, str]],
              accounts_read: int, blocked: Sequence[Blocked] = ()) -> Plan:
        return cls(tuple(sorted(changes, key=Change.sort_key)), playbook_hash, fingerprints, accounts_read,
                   tuple(sorted(blocked, key=lambda b: b.sort_key())))

    @property
    def empty(self) -> bool:
        return not self.changes

    def summary(self) -> dict[str, Any]:
        by_kind: dict[str, Counter[str]] = defaultdict(Counter)
        for c in self.changes:
            by_kind[c.kind][c.action] += 1
        return {
            "total": len(self.changes),
            "accounts": len({c.account_id for c in self.changes}),
            "by_kind": {k: dict(sorted(v.items())) for k, v in sorted(by_kind.items())},
            "blocked": len(self.blocked),
        }

    def to_json(self) -> dict[str, Any]:
        data = {
            "format_version": FORMAT_VERSION,
            "playbook_hash": self.playbook_hash,
            "changes": [c.public() | {"ref": c.ref} for c in self.changes],
            "summary": self.summary(),
            "read": {
                "accounts": self.accounts_read,
                "fingerprints": {str(a): f for a, f in sorted(self.fingerprints.items())},
            },
            "blocked": [b.public() for b in self.blocked],
        }
        return data | {"checksum": plan_checksum(data)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unsupported plan format_version {data.get('format_version')!r} "
                             f"(expected {FORMAT_VERSION})")
        changes = [Change(**{k: c.get(k) for k in Change.__dataclass_fields__} | {"kind": Kind(c["kind"])})
                   for c in data["changes"]]
        fps = {int(a): f for a, f in data["read"]["fingerprints"].items()}
        from orchestrator.blockers import Blocked

        blocked = [Blocked.from_public(b) for b in data.get("blocked", [])]
        return cls.build(changes, data["playbook_hash"], fps, data["read"]["accounts"], blocked)


# How one change reads (shared by `orchestrator.render`, the blocked list and reconcile's drift).
SYMBOL = {"create": "+", "add": "+", "activate": "▶", "start": "▶", "update": "~", "set": "~",
          "remove": "-", "delete": "-", "pause": "⏸", "stop": "⏸"}
COLOUR = {"+": "green", "▶": "green", "~": "yellow", "-": "red", "⏸": "magenta"}


def value_text(v: Any) -> str:
    """A value as a plan shows it: strings quoted, the rest as canonical JSON."""
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    return canonical(v)


def describe(c: Change) -> str:
    """What one change does, without whom it concerns: ``settings.likes_speed: 3 -> 4``."""
    if c.action in ("update", "set"):
        return f"{c.path}: {value_text(c.before)} -> {value_text(c.after)}"
    if c.action in ("activate", "pause", "start", "stop"):
        return f"{c.path}: {c.before} -> {c.after}"
    if c.action in ("create", "add"):
        shown = c.after not in (None, "") and not c.path.endswith("]")
        return f"{c.path}" + (f" = {value_text(c.after)}" if shown else "")
    return c.path
