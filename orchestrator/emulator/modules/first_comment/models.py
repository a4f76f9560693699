"""First Comment: schedules, their validation, comment logs, and what the cron does. No HTTP.

A schedule makes one account post the first comment on its targets' latest posts, picking
comments from a pool (spintax allowed) at random or in turn. An account may have several
schedules. The rotation position is internal; ``public_*`` are the only way a document leaves.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Literal

from orchestrator.emulator.context import Ctx, Paging
from orchestrator.emulator.errors import ValidationFailed
from orchestrator.emulator.scheduler import Pass, ScheduledModule, run_pass
from orchestrator.emulator.state import EmulatorState
from orchestrator.emulator.store import Doc
from orchestrator.text.spintax import balanced, spin

MODULE = "first-comment"
SCHEDULES = "first_comment_schedules"
LOGS = "first_comment_logs"

CommentMode = Literal["random", "sequential"]
LogStatus = Literal["success", "skipped", "error"]

# "Cron processes schedules every 5 minutes" (the reference).
RUN_INTERVAL = timedelta(minutes=5)
USERNAME = re.compile(r"^[a-z0-9._]{1,30}$")
USER_PK = re.compile(r"^[0-9]{1,20}$")
MAX_COMMENT_LENGTH = 2200  # Instagram's limit for a comment
SHORTCODE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
UPDATABLE = ("targets", "comments", "is_active", "comment_mode")
SCHEDULE_FIELDS = ("id", "account_id", "is_active", "running", "comment_mode", "targets",
                   "comments", "schedule_date", "last_action_date")
LOG_FIELDS = ("id", "account_id", "schedule_id", "status", "target_username", "post_code",
              "comment_text", "message", "date")


# -- rendering --------------------------------------------------------------------------
def public_schedule(doc: Doc) -> dict[str, Any]:
    return {k: doc.get(k) for k in SCHEDULE_FIELDS}


def public_log(doc: Doc) -> dict[str, Any]:
    return {k: doc.get(k) for k in LOG_FIELDS}


def new_log(schedule: Doc, status: str, date: str, *, target: dict[str, str] | None = None,
            post_code: str | None = None, comment_text: str | None = None,
            message: str | None = None) -> Doc:
    return {
        "user_id": schedule["user_id"],
        "account_id": schedule["account_id"],
        "schedule_id": schedule["id"],
        "status": status,
        "target_username": target["username"] if target else None,
        "post_code": post_code,
        "comment_text": comment_text,
        "message": message,
        "date": date,
    }


# -- validation -------------------------------------------------------------------------
def derived_user_pk(username: str) -> str:
    """The pk the server's username lookup would find; the emulator derives a stable fake one."""
    digest = int(hashlib.sha256(username.encode()).hexdigest()[:15], 16)
    return str(10**9 + digest % (9 * 10**10))


def clean_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Validate schedule fields (all problems at once, 422); return them normalised."""
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for name, value in fields.items():
        if value is None:
            errors[name] = "This field may not be null."
        elif name == "targets":
            cleaned[name] = _clean_targets(value, errors)
        elif name == "comments":
            cleaned[name] = _clean_comments(value, errors)
        else:
            cleaned[name] = value
    if errors:
        raise ValidationFailed(errors)
    return cleaned


def _clean_targets(targets: list[dict[str, Any]],
                   errors: dict[str, str]) -> list[dict[str, str]]:
    if not targets:
        errors["targets"] = "At least one target is required."
    cleaned: list[dict[str, str]] = []
    names: set[str] = set()
    pks: set[str] = set()
    for i, target in enumerate(targets):
        # Instagram usernames are case-insensitive; "@nike" and "Nike" are the same target.
        username = str(target.get("username") or "").strip().lstrip("@").lower()
        raw_pk = target.get("user_pk")
        user_pk = derived_user_pk(username) if raw_pk is None else str(raw_pk).strip()
        if not USERNAME.match(username):
            errors[f"targets.{i}.username"] = (
                "A username is 1-30 letters, digits, periods or underscores.")
        elif not USER_PK.match(user_pk):
            errors[f"targets.{i}.user_pk"] = "user_pk must be a numeric string."
        elif username in names or user_pk in pks:
            errors[f"targets.{i}"] = (
                f"Duplicate target: @{username} (user_pk {user_pk}) repeats an earlier target.")
        names.add(username)
        pks.add(user_pk)
        cleaned.append({"username": username, "user_pk": user_pk})
    return cleaned


def _clean_comments(comments: list[str], errors: dict[str, str]) -> list[str]:
    if not comments:
        errors["comments"] = "At least one comment is required."
    for i, comment in enumerate(comments):
        if not comment.strip():
            errors[f"comments.{i}"] = "A comment may not be empty."
        elif not balanced(comment):
            errors[f"comments.{i}"] = "Unbalanced spintax braces: every { needs its }."
        elif len(comment) > MAX_COMMENT_LENGTH:
            errors[f"comments.{i}"] = f"A comment is at most {MAX_COMMENT_LENGTH} characters."
    return [c.strip() for c in comments]


# -- schedules ----------------------------------------------------------------------------
def list_schedules(ctx: Ctx, paging: Paging, account_id: int | None) -> tuple[list[bytes], int]:
    """A page of schedules as the JSON texts of ``public_schedule``. A filter on another user's
    account simply matches nothing."""
    return ctx.store.table(SCHEDULES).find_rendered(
        public_schedule, user_id=ctx.owner_scope, account_id=account_id, **paging.slice())


def get_schedule(ctx: Ctx, schedule_id: int) -> Doc:
    return ctx.owned(SCHEDULES, schedule_id, "Schedule")


def create_schedule(ctx: Ctx, account: Doc, fields: dict[str, Any]) -> Doc:
    """A new schedule on ``account``, owned by the account's user (also when an admin
    creates it)."""
    fields = clean_fields(fields)
    now = ctx.clock.stamp()
    return ctx.store.table(SCHEDULES).insert({
        "user_id": account["user_id"],
        "account_id": account["id"],
        "is_active": fields["is_active"],
        "running": False,
        "comment_mode": fields["comment_mode"],
        "targets": fields["targets"],
        "comments": fields["comments"],
        "next_comment": 0,
        "schedule_date": now,
        "last_action_date": now,
    })


def update_schedule(ctx: Ctx, schedule: Doc, changes: dict[str, Any]) -> Doc:
    """Apply a partial update of the updatable fields; turning it on works like /activate."""
    if not changes:
        raise ValidationFailed({"body": f"Give at least one of: {', '.join(UPDATABLE)}."})
    changes = clean_fields(changes)
    if "comments" in changes:
        schedule["next_comment"] = 0  # a new pool starts its rotation from the top
    if changes.get("is_active") and not schedule["is_active"]:
        schedule["schedule_date"] = ctx.clock.stamp()
    schedule.update(changes)
    return ctx.store.table(SCHEDULES).update(schedule)


def delete_schedule(ctx: Ctx, schedule: Doc) -> None:
    """Delete permanently; its logs stay, as the account's history."""
    ctx.store.table(SCHEDULES).delete(schedule["id"])


def set_active(ctx: Ctx, schedule: Doc, active: bool) -> Doc:
    """Activate (is_active=1, schedule_date=now: runs at the next cron pass) or pause."""
    schedule["is_active"] = active
    if active:
        schedule["schedule_date"] = ctx.clock.stamp()
    return ctx.store.table(SCHEDULES).update(schedule)


# -- logs -----------------------------------------------------------------------------------
def list_logs(ctx: Ctx, paging: Paging, status: LogStatus | None,
              account_id: int | None = None) -> tuple[list[Doc], int]:
    """Newest first."""
    return ctx.store.table(LOGS).find(
        user_id=ctx.owner_scope, account_id=account_id, status=status,
        order="id", descending=True, **paging.slice(),
    )


# -- the cron -------------------------------------------------------------------------------
class FirstCommentSchedules(ScheduledModule):
    """The cron's view of First Comment: each run comments on every target's latest post."""

    module, schedules_table, logs_table = MODULE, SCHEDULES, LOGS

    def next_run_at(self, schedule: Doc, now: datetime) -> datetime:
        return now + RUN_INTERVAL

    def run_once(self, run: Pass, schedule: Doc, since: str, counts: Counter[str]) -> list[Doc]:
        rng = run.rng(schedule)
        logs = []
        for target in schedule["targets"]:
            text = spin(next_comment(schedule, rng), rng)
            logs.append(new_log(schedule, "success", run.stamp, target=target,
                                post_code=post_code(rng), comment_text=text))
        counts["commented"] += len(logs)
        return logs

    def switch_off_log(self, schedule: Doc, stamp: str, message: str) -> Doc:
        return new_log(schedule, "error", stamp, message=message)


CRON = FirstCommentSchedules()


def tick(state: EmulatorState, now: datetime) -> dict[str, int] | None:
    """Every 5 minutes per schedule: comment on each target's latest post."""
    return run_pass(CRON, state, now)


def next_comment(schedule: Doc, rng: random.Random) -> str:
    """The pool's next comment: in turn (sequential) or drawn (random)."""
    comments = schedule["comments"]
    if schedule["comment_mode"] == "sequential":
        index = schedule.get("next_comment", 0) % len(comments)
        schedule["next_comment"] = index + 1
        return comments[index]
    return rng.choice(comments)


def post_code(rng: random.Random) -> str:
    """An Instagram-style shortcode for the post commented on."""
    return rng.choice("CD") + "".join(rng.choice(SHORTCODE_CHARS) for _ in range(10))
