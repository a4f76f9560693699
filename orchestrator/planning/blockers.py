"""Changes the server would undo or refuse, named in the plan instead of retried forever.

The server's engine switches a schedule off on its next pass when the account needs a new
Instagram login (``login_required``), and an account switched off in the panel
(``is_active`` false) runs nothing. Activating a schedule on such an account succeeds, then
comes undone a few seconds later (and so does an AI-DM schedule without an OpenAI API key):
apply would fail to verify, and a reconcile loop would activate it again every cycle, forever.
A module the user's plan lacks (403) or the server
lacks (503) refuses every call. The planner already reads all of this (the account list,
and a refused module read), so these rules classify the diff it computed, as pure functions:
a blocked change is shown with its reason and what the user must do, and never attempted.
Once the account is logged in again, the next plan finds the change unblocked and applies it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from orchestrator.contract import SWITCHED_KINDS, Kind
from orchestrator.contract.accounts import LiveAccount
from orchestrator.contract.vocabulary import Action
from orchestrator.plan import Change
from orchestrator.plan.blocked import (
    ACCOUNT_INACTIVE,
    LOGIN_REQUIRED,
    MODULE_NOT_ENABLED,
    MODULE_NOT_INSTALLED,
    NO_AI_KEY,
    Blocked,
)

SWITCH_ON = frozenset({"activate", "start"})


def account_reason(account: LiveAccount | None) -> str | None:
    """Why the server would switch ``account``'s schedules off, if it would (unknown facts,
    ``None``, block nothing)."""
    if account is None:
        return None
    if account.login_required:
        return LOGIN_REQUIRED
    if account.is_active is False:
        return ACCOUNT_INACTIVE
    return None


def account_message(reason: str, username: str) -> str:
    if reason == LOGIN_REQUIRED:
        return (f"{username} needs a new Instagram login: its schedules would be switched off "
                "(log in again in the panel, or refresh its cookies; the next run applies them)")
    return (f"{username} is switched off in the panel: its schedules would not run "
            "(switch the account on in the panel; the next run applies them)")


def module_blocked(account_id: int, username: str, kind: Kind, label: str, *, installed: bool) -> Blocked:
    """A kind the user's plan (403) or the server (503) lacks: nothing of it can be managed."""
    if installed:
        return Blocked(account_id, username, kind, MODULE_NOT_ENABLED,
                       f"{label} is not in your Sharingtools plan: add the module to your plan, or remove "
                       f"{kind} from the entries of these accounts")
    return Blocked(account_id, username, kind, MODULE_NOT_INSTALLED,
                   f"{label} is not installed on the server: ask the installation's admin to install it")


def schedule_reason(change: Change, live: Mapping[tuple[int, Kind], Mapping[str, Any]]) -> str | None:
    """Why the engine would switch off the one schedule ``change`` switches on, if it would."""
    if change.action not in SWITCH_ON:
        return None
    schedules = live.get((change.account_id, change.kind), {}).get("schedules", [])
    schedule = next((s for s in schedules if s.get("id") == change.ref), None)
    return NO_AI_KEY if schedule is not None and schedule.get("api_key_configured") is False else None


def blocker_facts(state: Mapping[str, Any]) -> dict[str, Any] | None:
    """Of one live state, what `schedule_reason` reads (each schedule's id and whether it has
    its API key), or None when it reads nothing there: the planner keeps only this."""
    schedules = state.get("schedules")
    if not schedules:
        return None
    return {"schedules": [{"id": s.get("id"), "api_key_configured": s.get("api_key_configured")}
                          for s in schedules if isinstance(s, Mapping)]}


def classify(changes: Iterable[Change], accounts: Mapping[int, LiveAccount],
             live: Mapping[tuple[int, Kind], Mapping[str, Any]] | None = None) -> tuple[list[Change], list[Blocked]]:
    """Split ``changes`` into those to apply and those the server would undo.

    Only switching a schedule on is undone: settings, targets and pauses stick on an account
    that needs a login, so they are applied. A First Comment schedule created active on such
    an account is created paused, and its activation is blocked. ``live`` (the state read, by
    account and kind) holds the facts of single schedules (an AI-DM schedule without a key)."""
    allowed: list[Change] = []
    blocked: list[Blocked] = []
    for change in changes:
        reason = account_reason(accounts.get(change.account_id)) if change.kind in SWITCHED_KINDS else None
        if reason is None and live is not None and schedule_reason(change, live) is not None:
            blocked.append(Blocked(change.account_id, change.username, change.kind, NO_AI_KEY,
                                   f"{change.username}'s AI-DM schedule has no OpenAI API key: the server would "
                                   "switch it off (set the key in the panel; the next run applies it)", change))
            continue
        if reason is None:
            allowed.append(change)
            continue
        message = account_message(reason, change.username)
        if change.action in SWITCH_ON:
            blocked.append(Blocked(change.account_id, change.username, change.kind, reason, message, change))
        elif change.action == "create" and isinstance(change.after, dict) and change.after.get("is_active"):
            allowed.append(replace(change, after={**change.after, "is_active": False}))
            activation = replace(change, action=Action.ACTIVATE, path=f"{change.path}.state", before="paused",
                                 after="active", ref=None)
            blocked.append(Blocked(change.account_id, change.username, change.kind, reason, message, activation))
        else:
            allowed.append(change)
    return allowed, blocked
