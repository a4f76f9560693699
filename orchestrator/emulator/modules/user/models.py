"""The user's profile, dashboard and statistics: state and rules, no HTTP.

The profile lives on the user document the key belongs to. Fields the panel lets a user
edit are ``PROFILE_FIELDS``; everything else (username, plan, admin flag) is read-only here.
The dashboard and the statistics are computed from what the user owns, on every request.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from orchestrator.emulator.context import Ctx
from orchestrator.emulator.errors import ValidationFailed
from orchestrator.emulator.modules.billing.models import user_doc
from orchestrator.emulator.store import Doc

PROFILE_DEFAULTS: dict[str, Any] = {"firstname": "", "lastname": "", "email": None, "timezone": "UTC", "language": "en"}
PROFILE_FIELDS = frozenset(PROFILE_DEFAULTS)
READ_ONLY = frozenset({"id", "username", "is_admin", "modules", "date"})
LANGUAGES = frozenset({"en", "de", "es", "fr", "it", "pt", "ru", "tr", "ar", "id", "nl"})  # the panel's 11
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NAME_MAX = 100
# Schedule tables of the modules with a per-account schedule, for the dashboard's counts.
SCHEDULE_TABLES = {
    "reactions": "reactions_schedules", "repost-pro": "repost_schedules", "parser": "leads_schedules",
    "ai-dm": "ai_dm_schedules", "welcomedm": "welcomedm_schedules", "first-comment": "first_comment_schedules",
}
ACTIVITY_LOGS = {"reactions": "reactions_logs", "repost-pro": "repost_logs", "welcomedm": "welcomedm_logs",
                 "first-comment": "first_comment_logs", "ai-dm": "ai_dm_logs", "parser": "leads_logs"}
POST_STATUSES = ("saved", "scheduled", "publishing", "published", "failed")


def profile(user: Doc) -> dict[str, Any]:
    return {
        "id": user["id"], "username": user["username"], "is_admin": bool(user.get("is_admin")),
        **{k: user.get(k, default) for k, default in PROFILE_DEFAULTS.items()},
        "modules": sorted(user.get("modules", ())), "date": user.get("date"),
    }


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones()) | {"UTC"}


def update_profile(ctx: Ctx, changes: dict[str, Any]) -> list[str]:
    """Apply a PATCH of the profile; one 422 naming every field refused."""
    if not changes:
        raise ValidationFailed({"body": "Nothing to update: send at least one of " + ", ".join(sorted(PROFILE_FIELDS))})
    errors: dict[str, str] = {}
    for field, value in changes.items():
        problem = _problem(field, value)
        if problem:
            errors[field] = problem
    if errors:
        raise ValidationFailed(errors)
    user = user_doc(ctx)
    user.update(changes)
    ctx.state.users.update(user)
    return sorted(changes)


def _problem(field: str, value: Any) -> str | None:
    if field in READ_ONLY:
        return "Read-only field"
    if field not in PROFILE_FIELDS:
        return "Unknown field"
    if not isinstance(value, str):
        return "Must be a string"
    if field in ("firstname", "lastname") and len(value) > NAME_MAX:
        return f"At most {NAME_MAX} characters"
    if field == "email" and not EMAIL.match(value):
        return "Not an email address"
    if field == "timezone" and value not in _timezones():
        return "Unknown time zone: use an IANA name such as Europe/Berlin"
    if field == "language" and value not in LANGUAGES:
        return "Unsupported language: one of " + ", ".join(sorted(LANGUAGES))
    return None


def _count(ctx: Ctx, table: str, **where: Any) -> int:
    exists = ctx.store.db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)).fetchone()
    return ctx.store.table(table).count(user_id=ctx.user.id, **where) if exists else 0


def dashboard(ctx: Ctx, subscription: dict[str, Any], wallet: dict[str, Any]) -> dict[str, Any]:
    """What the panel's home page shows: accounts, schedules per module in the plan, posts."""
    modules = set(ctx.user.modules)
    return {
        "user": {"id": ctx.user.id, "username": ctx.user.username},
        "accounts": {
            "total": _count(ctx, "accounts"),
            "active": _count(ctx, "accounts", is_active=True),
            "login_required": _count(ctx, "accounts", login_required=True),
        },
        "schedules": {
            module: {"total": _count(ctx, table), "active": _count(ctx, table, is_active=True)}
            for module, table in SCHEDULE_TABLES.items() if module in modules
        },
        "posts": {status: _count(ctx, "posts", status=status) for status in POST_STATUSES},
        "subscription": {"package": subscription["package"], "modules": subscription["modules"],
                         "period_end": subscription["period_end"]},
        "wallet": {"balance": wallet["balance"], "currency": wallet["currency"]},
    }


def statistics(ctx: Ctx) -> dict[str, Any]:
    """Totals over the user's accounts and the activity the engine logged per module."""
    accounts = ctx.store.table("accounts").all(user_id=ctx.user.id)
    return {
        "accounts": len(accounts),
        "followers": sum(a.get("followers", 0) for a in accounts),
        "following": sum(a.get("following", 0) for a in accounts),
        "posts": sum(a.get("posts", 0) for a in accounts),
        "published_posts": _count(ctx, "posts", status="published"),
        "scheduled_posts": _count(ctx, "posts", status="scheduled"),
        "activity": {module: _count(ctx, table) for module, table in ACTIVITY_LOGS.items()
                     if module in ctx.user.modules},
    }
