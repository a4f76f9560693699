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
     "blocked": [{"account_id", "username", "kind", "reason", "message", "action", "path", ...}],
     "windows": {"at", "open", "transitions": [{"at", "events", "accounts", "changes"}]}}

``windows`` is there when the playbook has entries with ``when:`` (`PlanWindows`): the instant
the plan's desired state is for, the windows open then, and the transitions ahead.

Blocked changes (``orchestrator.planning.blockers``) are what the server would undo or refuse: they are
listed with their reason and never applied, and are not changes (``empty`` ignores them).
"""

from __future__ import annotations

import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from orchestrator.contract import Kind
from orchestrator.contract.vocabulary import Action
from orchestrator.plan.blocked import Blocked
from orchestrator.plan.change import Change, canonical
from orchestrator.plan.windows import PlanWindows

FORMAT_VERSION = 1

#: What `Plan.without_fingerprints` leaves of every account's fingerprints (one shared, never written to).
_FORGOTTEN: dict[str, str] = {}


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
    windows: PlanWindows | None = None

    @classmethod
    def build(cls, changes: list[Change], playbook_hash: str, fingerprints: dict[int, dict[str, str]],
              accounts_read: int, blocked: Sequence[Blocked] = (), windows: PlanWindows | None = None) -> Plan:
        return cls(tuple(sorted(changes, key=Change.sort_key)), playbook_hash, fingerprints, accounts_read,
                   tuple(sorted(blocked, key=lambda b: b.sort_key())), windows)

    @property
    def empty(self) -> bool:
        return not self.changes

    def without_fingerprints(self) -> Plan:
        """This plan still saying which accounts it read, but not what it saw of them: an apply
        compares fingerprints only before its first write (a saved plan's conflicts, the
        read-back of operations in doubt), and at 100,000 accounts they were some 40 MB held
        through every wave. Not to be saved: its ``read.fingerprints`` would be empty."""
        return replace(self, fingerprints=dict.fromkeys(self.fingerprints, _FORGOTTEN))

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

    def change_items(self) -> Iterator[dict[str, Any]]:
        """Each change as the plan's JSON holds it (with ``ref``), made as it is asked for."""
        for c in self.changes:
            yield c.public() | {"ref": c.ref}

    def json_members(self) -> list[tuple[str, Any]]:
        """The plan's JSON members in document order, without ``checksum``; ``changes`` is
        `change_items`: a writer streams it, a change's dict existing only while it is encoded
        (all of them at once were the largest part of a fleet plan's peak)."""
        members: list[tuple[str, Any]] = [
            ("format_version", FORMAT_VERSION),
            ("playbook_hash", self.playbook_hash),
            ("changes", self.change_items()),
            ("summary", self.summary()),
            ("read", {"accounts": self.accounts_read,
                      "fingerprints": {str(a): f for a, f in sorted(self.fingerprints.items())}}),
            ("blocked", [b.public() for b in self.blocked]),
        ]
        if self.windows is not None:
            members.append(("windows", self.windows.public()))
        return members

    def checksum(self) -> str:
        """`plan_checksum` of `to_json`, hashed piece by piece: the canonical text of a fleet's
        plan (tens of MB) never exists whole. Canonical JSON has no indentation, so each
        member's and each change's text is the same alone as within the document."""
        digest = hashlib.sha256()
        digest.update(b"{")
        for i, (key, value) in enumerate(sorted(self.json_members(), key=lambda kv: kv[0])):
            digest.update(((',' if i else '') + canonical(key) + ":").encode())
            if key == "changes":
                digest.update(b"[")
                for j, item in enumerate(value):
                    digest.update(((',' if j else '') + canonical(item)).encode())
                digest.update(b"]")
            else:
                digest.update(canonical(value).encode())
        digest.update(b"}")
        return "sha256:" + digest.hexdigest()

    def to_json(self) -> dict[str, Any]:
        data = {key: list(value) if key == "changes" else value for key, value in self.json_members()}
        return data | {"checksum": self.checksum()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Plan:
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unsupported plan format_version {data.get('format_version')!r} "
                             f"(expected {FORMAT_VERSION})")
        changes = [Change(**{k: c.get(k) for k in Change.__dataclass_fields__}
                          | {"kind": Kind(c["kind"]), "action": Action(c["action"])})
                   for c in data["changes"]]
        fps = {int(a): f for a, f in data["read"]["fingerprints"].items()}
        blocked = [Blocked.from_public(b) for b in data.get("blocked", [])]
        windows = PlanWindows.from_public(data["windows"]) if data.get("windows") else None
        return cls.build(changes, data["playbook_hash"], fps, data["read"]["accounts"], blocked, windows)


