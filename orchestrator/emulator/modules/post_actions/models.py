"""Post Actions: queued like / comment / follow jobs that the cron engine runs. State and rules, no HTTP.

A job asks ``count`` of the user's accounts to act once on one target (a post, or a
profile for follows). The lifecycle is the reference's: ``pending`` (due a minute after
creation) -> ``processing`` -> ``success`` | ``partial`` | ``failed``, or ``cancelled``
while still pending. Each account acts at most once per (target, action): usage records
remember who did what, and a later job skips those accounts ("already liked").
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from orchestrator.emulator.context import Ctx, Paging
from orchestrator.emulator.errors import BadRequest, Conflict, ValidationFailed
from orchestrator.emulator.seed import SeedContext
from orchestrator.emulator.state import EmulatorState
from orchestrator.emulator.store import Doc, Store, Table
from orchestrator.text.spintax import spin

MODULE = "post-actions-api"
JOBS, LOGS, USAGE = "post_actions_jobs", "post_actions_logs", "post_actions_usage"

ACTIONS = ("like", "comment", "follow")
STATUSES = ("pending", "processing", "success", "partial", "failed", "cancelled")
PAST_TENSE = {"like": "liked", "comment": "commented", "follow": "followed"}
QUEUE_DELAY = timedelta(minutes=1)  # "scheduled ~1 min after creation"
STUCK_AFTER = timedelta(minutes=30)  # api-gaps: stuck processing jobs go back to pending
MAX_COUNT = 10_000  # api-gaps
MAX_COMMENT = 2_200  # Instagram's comment length limit

ACTION_INFO = (
    {"action": "like", "description": "Like a post with each account.",
     "required_fields": ["post_url", "count"], "optional_fields": []},
    {"action": "comment", "description": "Comment on a post with each account; comment_text supports spintax.",
     "required_fields": ["post_url", "count", "comment_text"], "optional_fields": []},
    {"action": "follow", "description": "Follow a profile (or a post's author) with each account.",
     "required_fields": ["count"], "optional_fields": ["post_url", "target_username"]},
)

JOB_FIELDS = ("id", "post_url", "target_username", "action", "count", "comment_text", "status",
              "performed_count", "scheduled_at", "started_at", "finished_at", "created_at")
LOG_FIELDS = ("id", "schedule_id", "post_url", "action", "requested_count", "performed_count", "status",
              "message", "details", "started_at", "finished_at")
USAGE_FIELDS = ("id", "post_url", "action", "used_count", "account_ids", "first_used_at", "last_used_at")

ISO = "%Y-%m-%dT%H:%M:%SZ"


def iso(when: datetime) -> str:
    """The module's timestamp form, ISO 8601 with ``Z`` (as the reference's examples)."""
    return when.strftime(ISO)


def parse_iso(value: str) -> datetime:
    return datetime.strptime(value, ISO).replace(tzinfo=UTC)


def _pick(doc: Doc, fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: doc.get(k) for k in fields}


def public_job(doc: Doc) -> dict[str, Any]:
    return _pick(doc, JOB_FIELDS)


def public_log(doc: Doc) -> dict[str, Any]:
    return _pick(doc, LOG_FIELDS)


def public_usage(doc: Doc) -> dict[str, Any]:
    return _pick(doc, USAGE_FIELDS)


class Tables(NamedTuple):
    jobs: Table
    logs: Table  # keyed by job id (the reference's ``schedule_id``)
    usage: Table  # keyed by target|action


def tables(store: Store) -> Tables:
    """The module's collections."""
    return Tables(store.table(JOBS), store.table(LOGS, key="schedule_id"), store.table(USAGE, key="usage_key"))


# -- targets ---------------------------------------------------------------------
_HOST = r"^https?://(?:www\.|m\.)?instagram\.com/"
_POST_URL = re.compile(_HOST + r"(?:[A-Za-z0-9._]{1,30}/)?(?:p|reel|tv)/([A-Za-z0-9_-]+)/?(?:[?#].*)?$")
_PROFILE_URL = re.compile(_HOST + r"([A-Za-z0-9._]{1,30})/?(?:[?#].*)?$")
_USERNAME = re.compile(r"^@?([A-Za-z0-9._]{1,30})$")
_NOT_PROFILES = {"p", "reel", "reels", "tv", "explore", "stories", "accounts", "direct", "about", "legal"}


@dataclass(frozen=True, slots=True)
class Target:
    """What a job acts on. ``key`` identifies it for usage: the media code or the username."""

    key: str
    post_url: str
    username: str | None = None


def post_target(url: str) -> Target | None:
    m = _POST_URL.match(url)
    return Target(f"media:{m.group(1)}", url) if m else None


def profile_target(url: str) -> Target | None:
    m = _PROFILE_URL.match(url)
    if not m or m.group(1).lower() in _NOT_PROFILES:
        return None
    return Target(f"user:{m.group(1).lower()}", url, m.group(1))


def username_target(username: str) -> Target | None:
    m = _USERNAME.match(username.strip())
    if not m:
        return None
    name = m.group(1)
    return Target(f"user:{name.lower()}", f"https://www.instagram.com/{name}/", name)


def target_key_for_url(url: str) -> str | None:
    """The usage key a filter URL stands for, so ``/p/X`` and ``/reel/X`` find the same records."""
    target = post_target(url) or profile_target(url)
    return target.key if target else None


def resolve_target(action: str, post_url: str | None, target_username: str | None) -> Target:
    """Validate the job's target the way the reference describes: like/comment need a post URL;
    follow takes a post or profile URL, or ``target_username``, which overrides ``post_url``."""
    post_url = (post_url or "").strip() or None
    target_username = (target_username or "").strip() or None
    if action == "follow" and target_username:
        target = username_target(target_username)
        if target is None:
            raise ValidationFailed({"target_username": "Not a valid Instagram username."})
        return target
    if post_url is None:
        hint = "post_url or target_username" if action == "follow" else "post_url"
        raise BadRequest(f"Missing required field: {hint}", errors={"post_url": [f"Required for {action}."]})
    target = post_target(post_url)
    if target is None and action == "follow":
        target = profile_target(post_url)
    if target is None:
        kinds = "post (/p/, /reel/, /tv/) or profile" if action == "follow" else "post (/p/, /reel/, /tv/)"
        raise ValidationFailed({"post_url": f"Must be an Instagram {kinds} URL."})
    return target


# -- jobs ------------------------------------------------------------------------
def new_job(user_id: int, action: str, target: Target, count: int, comment_text: str | None,
            created: datetime) -> Doc:
    """A pending job document, due one minute after ``created``."""
    return {
        "user_id": user_id,
        "post_url": target.post_url,
        "target_username": target.username if action == "follow" else None,
        "target_key": target.key,
        "action": action,
        "count": count,
        "comment_text": comment_text if action == "comment" else None,
        "status": "pending",
        "performed_count": None,
        "scheduled_at": iso(created + QUEUE_DELAY),
        "started_at": None,
        "finished_at": None,
        "created_at": iso(created),
    }


def create_job(ctx: Ctx, action: str, count: int, post_url: str | None, target_username: str | None,
               comment_text: str | None) -> Doc:
    """Validate and queue a job for the caller."""
    target = resolve_target(action, post_url, target_username)
    if action == "comment" and not (comment_text or "").strip():
        raise BadRequest("Missing required field: comment_text",
                         errors={"comment_text": ["Required for comment."]})
    job = new_job(ctx.user.id, action, target, count, comment_text, ctx.clock.now())
    return tables(ctx.store).jobs.insert(job)


def list_jobs(ctx: Ctx, paging: Paging, status: str | None) -> tuple[list[Doc], int]:
    if status is not None and status not in STATUSES:
        raise ValidationFailed({"status": f"Must be one of: {', '.join(STATUSES)}."})
    return tables(ctx.store).jobs.find(user_id=ctx.owner_scope, status=status, descending=True,
                                       **paging.slice())


def cancel_job(ctx: Ctx, job: Doc) -> Doc:
    """Cancel a pending job; any other status is a conflict with the job's state (409)."""
    if job["status"] != "pending":
        raise Conflict(f"Only pending jobs can be cancelled; this job is {job['status']}.")
    job.update(status="cancelled", finished_at=ctx.clock.iso())
    return tables(ctx.store).jobs.update(job)


# -- logs and usage ----------------------------------------------------------------
def _filters(post_url: str | None, action: str | None) -> dict[str, Any]:
    if action is not None and action not in ACTIONS:
        raise ValidationFailed({"action": f"Must be one of: {', '.join(ACTIONS)}."})
    where: dict[str, Any] = {"action": action}
    if post_url:
        key = target_key_for_url(post_url.strip())
        # An unparseable URL can still match a stored one literally (and otherwise finds nothing).
        where.update({"target_key": key} if key else {"post_url": post_url})
    return where


def list_logs(ctx: Ctx, paging: Paging, post_url: str | None, action: str | None) -> tuple[list[Doc], int]:
    return tables(ctx.store).logs.find(user_id=ctx.owner_scope, descending=True,
                                       **_filters(post_url, action), **paging.slice())


def job_logs(ctx: Ctx, job: Doc) -> list[Doc]:
    return tables(ctx.store).logs.all(key=job["id"])


def list_usage(ctx: Ctx, paging: Paging, post_url: str | None, action: str | None) -> tuple[list[Doc], int]:
    return tables(ctx.store).usage.find(user_id=ctx.owner_scope, order="last_used_at", descending=True,
                                        **_filters(post_url, action), **paging.slice())


# -- the engine ----------------------------------------------------------------------
def tick(state: EmulatorState, now: datetime) -> dict[str, int] | None:
    """One cron pass. Jobs already processing (started by an earlier pass) finish, unless they
    have been stuck for over 30 minutes, which re-queues them; then due pending jobs start."""
    if MODULE not in state.installed:
        return None
    jobs = tables(state.store).jobs
    done: Counter[str] = Counter()
    for job in jobs.all(status="processing"):
        if now - parse_iso(job["started_at"]) > STUCK_AFTER:
            requeue(jobs, job, now)
            done["requeued"] += 1
        else:
            done[execute(state.store, job, now)] += 1
    stamp = iso(now)
    for job in jobs.all(status="pending"):
        if job["scheduled_at"] <= stamp:  # ISO strings in one format compare as times
            start(jobs, job, now)
            done["started"] += 1
    return dict(done) or None


def start(jobs: Table, job: Doc, now: datetime) -> None:
    job.update(status="processing", started_at=iso(now))
    jobs.update(job)


def requeue(jobs: Table, job: Doc, now: datetime) -> None:
    """Put a stuck job back in the queue for the next cron run, as a fresh one would be."""
    job.update(status="pending", started_at=None, scheduled_at=iso(now + QUEUE_DELAY))
    jobs.update(job)


def eligible_accounts(store: Store, user_id: int) -> list[Doc]:
    """The accounts that can act: active and not waiting for a new login, lowest id first."""
    accounts = store.table("accounts", key="username").all(user_id=user_id)
    return [a for a in accounts if a.get("is_active") and not a.get("login_required")]


def execute(store: Store, job: Doc, now: datetime) -> str:
    """Run a processing job to its end: act with up to ``count`` accounts, record usage and
    the per-account log, and set the final status. Returns that status."""
    jobs, logs, usage_table = tables(store)
    user = store.table("users", key="username").get(job["user_id"])
    if user is None or MODULE not in user.get("modules", []):
        results: list[dict[str, Any]] = []
        message = "Post Actions is not enabled in the owner's plan"
    else:
        usage = _usage_doc(usage_table, job)
        chosen = eligible_accounts(store, job["user_id"])[: job["count"]]
        results = [_act(job, account, usage, iso(now)) for account in chosen]
        _save_usage(usage_table, usage)
        message = _summary(job["action"], job["count"], results)
    performed = sum(r["status"] == "success" for r in results)
    status = "success" if performed == job["count"] else "failed" if performed == 0 else "partial"
    job.update(status=status, performed_count=performed, finished_at=iso(now))
    jobs.update(job)
    logs.insert({
        "user_id": job["user_id"], "schedule_id": job["id"], "target_key": job["target_key"],
        "post_url": job["post_url"], "action": job["action"], "requested_count": job["count"],
        "performed_count": performed, "status": status, "message": message,
        "details": {"results": results}, "started_at": job["started_at"], "finished_at": job["finished_at"],
    })
    return status


def _usage_doc(usage: Table, job: Doc) -> Doc:
    key = f"{job['target_key']}|{job['action']}"
    found = usage.find_one(user_id=job["user_id"], key=key)
    return found or {
        "user_id": job["user_id"], "usage_key": key, "target_key": job["target_key"],
        "post_url": job["post_url"], "action": job["action"], "account_ids": [], "used_count": 0,
        "first_used_at": None, "last_used_at": None,
    }


def _save_usage(usage_table: Table, usage: Doc) -> None:
    if usage.get("id"):
        usage_table.update(usage)
    elif usage["account_ids"]:  # no record until some account has acted
        usage_table.insert(usage)


def _act(job: Doc, account: Doc, usage: Doc, when: str) -> dict[str, Any]:
    """One account's attempt; the usage record is updated in place when it acts."""
    result: dict[str, Any] = {"account_id": account["id"], "username": account["username"]}
    if account["id"] in usage["account_ids"]:
        return {**result, "status": "skipped", "reason": f"already {PAST_TENSE[job['action']]}"}
    if job["action"] == "comment":
        # Seeded per (job, account) so a job's comments are varied but reproducible.
        result["comment_text"] = spin(job["comment_text"], random.Random(f"{job['id']}:{account['id']}"))
    usage["account_ids"].append(account["id"])
    usage["used_count"] = len(usage["account_ids"])
    usage["first_used_at"] = usage["first_used_at"] or when
    usage["last_used_at"] = when
    return {**result, "status": "success"}


def _accounts(n: int) -> str:
    return f"{n} account{'' if n == 1 else 's'}"


def _summary(action: str, requested: int, results: list[dict[str, Any]]) -> str:
    """The log message, in the reference's form: "1 account skipped (already liked)"."""
    performed = sum(r["status"] == "success" for r in results)
    skipped = len(results) - performed
    missing = requested - len(results)
    parts = []
    if skipped:
        parts.append(f"{_accounts(skipped)} skipped (already {PAST_TENSE[action]})")
    if missing:
        parts.append(f"{_accounts(missing)} unavailable (not enough active accounts)")
    return "; ".join(parts) or f"{_accounts(performed)} {PAST_TENSE[action]}"


# -- seeding -------------------------------------------------------------------------
def seed_demo(ctx: SeedContext) -> None:
    """An agency's recent jobs for alice (every status, with logs and usage) and one for bob.

    Jobs are replayed through the engine at past times, so logs and usage are exactly
    what the engine would have produced."""
    store = ctx.state.store
    jobs = tables(store).jobs
    now = ctx.state.clock.now()
    alice, bob = ctx.users["alice"]["id"], ctx.users["bob"]["id"]
    post_a = "https://www.instagram.com/p/C4xLuxeDrop1/"
    reel_c = "https://www.instagram.com/reel/C5kStreetFit/"
    # (user, action, target, count, comment, created ago, final state)
    plan: list[tuple[int, str, Target | None, int, str | None, timedelta, str]] = [
        (alice, "like", post_target(post_a), 5, None, timedelta(days=3), "run"),
        (alice, "follow", username_target("atelier.milano"), 12, None, timedelta(days=2), "run"),
        (alice, "comment", post_target("https://www.instagram.com/p/C4yAtelierSS/"), 4,
         "{Love|Adore|Obsessed with} this {look|fit}! {🔥|😍|✨}", timedelta(days=1), "run"),
        (alice, "like", post_target(post_a), 8, None, timedelta(hours=20), "run"),  # partial: 5 already liked
        (alice, "like", post_target(post_a), 3, None, timedelta(hours=10), "run"),  # failed: all already liked
        (alice, "comment", post_target(reel_c), 6, "So {good|inspiring}!", timedelta(hours=2), "cancel"),
        (alice, "like", post_target(reel_c), 10, None, timedelta(minutes=45), "stuck"),
        (alice, "follow", post_target("https://www.instagram.com/p/C5mWanderPeak/"), 3, None,
         timedelta(0), "pending"),
        (bob, "like", post_target("https://www.instagram.com/p/C3pPawsOfTheDay/"), 2, None, timedelta(days=1), "run"),
    ]
    for user_id, action, target, count, comment, ago, fate in plan:
        assert target is not None
        created = now - ago
        job = jobs.insert(new_job(user_id, action, target, count, comment, created))
        started = created + QUEUE_DELAY
        if fate == "run":
            start(jobs, job, started)
            execute(store, job, started + timedelta(seconds=ctx.rng.randint(20, 90)))
        elif fate == "stuck":
            start(jobs, job, started)  # the cron died mid-run: the first tick re-queues it
        elif fate == "cancel":
            job.update(status="cancelled", finished_at=iso(created + timedelta(seconds=20)))
            jobs.update(job)
