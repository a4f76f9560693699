"""A blocked change: one the server would undo or refuse, named in the plan instead of retried.

The rules that find them are in ``orchestrator.planning.blockers``; their views in
``orchestrator.render.blocked``. This is the data, which a plan carries and a saved plan keeps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrator.contract import Kind
from orchestrator.contract.vocabulary import Action
from orchestrator.plan.change import Change

# Reasons, as codes (JSON, history and metrics labels).
LOGIN_REQUIRED = "login_required"
ACCOUNT_INACTIVE = "account_inactive"
MODULE_NOT_ENABLED = "module_not_enabled"
MODULE_NOT_INSTALLED = "module_not_installed"
NO_AI_KEY = "ai_key_missing"
PUBLISHED = "published"  # a post Instagram has (or is receiving): the server refuses to edit it
REASONS = (LOGIN_REQUIRED, ACCOUNT_INACTIVE, MODULE_NOT_ENABLED, MODULE_NOT_INSTALLED, NO_AI_KEY, PUBLISHED)


@dataclass(frozen=True, slots=True)
class Blocked:
    """A change (or, when the module cannot even be read, a whole kind of one account) that
    is not attempted: ``reason`` is a code from ``REASONS``, ``message`` says what to do."""

    account_id: int
    username: str
    kind: Kind
    reason: str
    message: str
    change: Change | None = None

    def public(self) -> dict[str, Any]:
        change = self.change
        return {
            "account_id": self.account_id, "username": self.username, "kind": self.kind,
            "reason": self.reason, "message": self.message,
            "action": change.action if change else None, "path": change.path if change else None,
            "before": change.before if change else None, "after": change.after if change else None,
            "source": change.source if change else None, "ref": change.ref if change else None,
        }

    @classmethod
    def from_public(cls, data: Mapping[str, Any]) -> Blocked:
        change = None
        if data.get("action") is not None:
            change = Change(data["account_id"], data["username"], Kind(data["kind"]), Action(data["action"]),
                            data["path"], data.get("before"), data.get("after"), data.get("source"), data.get("ref"))
        return cls(data["account_id"], data["username"], Kind(data["kind"]), data["reason"], data["message"], change)

    def sort_key(self) -> tuple[Any, ...]:
        return (self.username, self.account_id, self.kind, self.change.path if self.change else "")


def summary(blocked: Sequence[Blocked]) -> dict[str, Any]:
    """Counts for plans and reports: total, accounts, by reason."""
    by_reason: dict[str, int] = {}
    for b in blocked:
        by_reason[b.reason] = by_reason.get(b.reason, 0) + 1
    return {"total": len(blocked), "accounts": len({b.account_id for b in blocked}),
            "by_reason": dict(sorted(by_reason.items()))}


def grouped(blocked: Sequence[Blocked]) -> list[tuple[str, list[Blocked]]]:
    """Blocked items by message (one per account and reason, or per module), in plan order:
    what a person reads, one line of what to do followed by what waits on it."""
    groups: dict[str, list[Blocked]] = {}
    for b in sorted(blocked, key=Blocked.sort_key):
        groups.setdefault(b.message, []).append(b)
    return list(groups.items())
