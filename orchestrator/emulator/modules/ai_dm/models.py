"""AI-DM: schedules, conversation threads and messages, run logs, and the cron. No HTTP.

A schedule belongs to one account and answers that account's DM threads with an OpenAI
model. The OpenAI key is stored in the schedule's settings but never rendered: the
``public_*`` functions are the only way a document leaves, and they show only whether a
key is configured.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Literal

from orchestrator.emulator.clock import FORMAT
from orchestrator.emulator.context import Ctx, Paging
from orchestrator.emulator.modules.schedules_by_id import SchedulesById
from orchestrator.emulator.scheduler import Pass, ScheduledModule, pause_object_windows, run_pass
from orchestrator.emulator.state import EmulatorState
from orchestrator.emulator.store import Doc, Table
from orchestrator.text.spintax import spin

MODULE = "ai-dm"
SCHEDULES = "ai_dm_schedules"
THREADS = "ai_dm_threads"
MESSAGES = "ai_dm_messages"
LOGS = "ai_dm_logs"

LogType = Literal["reply", "cta", "system"]
LogStatus = Literal["success", "skipped", "error"]

# The AI-DM cron visits each schedule every 5 minutes, like the other messaging plugins.
RUN_INTERVAL = timedelta(minutes=5)
# Chance that, between two runs, someone writes into one of the account's threads.
INBOUND_CHANCE = 0.4

SETTING_FIELDS = (
    "model", "folder", "max_per_conversation", "max_per_day_requests", "max_per_run_requests",
    "max_per_day_messages", "max_per_run_messages", "max_time",
)
THREAD_FIELDS = (
    "id", "account_id", "thread_v2_id", "them_user_pk", "them_username", "them_fullname",
    "item_count", "last_activity_at", "last_seen_by_us", "last_seen_by_them",
    "last_permanent_item_at", "last_non_sender_item_at", "last_checked",
)
MESSAGE_FIELDS = (
    "id", "thread_id", "item_id", "timestamp", "item_type", "is_sent_by_us", "content",
)
LOG_FIELDS = (
    "id", "account_id", "schedule_id", "thread_id", "type", "status", "message", "details", "date",
)

INBOUND_TEXTS = [
    "Hi! Is this still available?",
    "How long does shipping take?",
    "Do you have any discount codes right now?",
    "Can I DM you about a collab? 🙏",
    "What are your opening hours this weekend?",
    "Thanks so much, that helps!",
]
REPLY_TEXTS = [
    "Thanks for your message! 😊 Happy to help — could you tell me a bit more?",
    "Great question! Yes, we can do that. I'll share the details right here.",
    "Hi! Thanks for reaching out 🙌 Our team usually confirms within a few hours.",
    "Absolutely! Let me check that for you — you'll have an answer today.",
    "You're welcome! Let us know if there's anything else we can do ✨",
]
CTA_LEAD_INS = {
    "whatsapp": "Message us on WhatsApp",
    "telegram": "Find us on Telegram",
    "website": "Book or shop here",
    "instagram": "Follow our main account",
}


# -- rendering --------------------------------------------------------------------------
def status_of(schedule: Doc) -> str:
    """running | active | inactive: a paused schedule is inactive even mid-run."""
    if not schedule["is_active"]:
        return "inactive"
    return "running" if schedule.get("is_running") else "active"


def public_schedule(doc: Doc) -> dict[str, Any]:
    settings = doc["settings"]
    return {
        "id": doc["id"],
        "account_id": doc["account_id"],
        "account_name": doc.get("account_name"),
        "status": status_of(doc),
        "is_active": doc["is_active"],
        "daily_pause": doc["daily_pause"],
        "cta": doc["cta"],
        "settings": {
            "system_prompt": settings["system_prompt"],
            "api_key_configured": bool(settings.get("openai_api_key")),
            **{k: settings[k] for k in SETTING_FIELDS},
        },
        "schedule_date": doc.get("schedule_date"),
        "last_action_date": doc.get("last_action_date"),
    }


def public_thread(doc: Doc) -> dict[str, Any]:
    return {k: doc.get(k) for k in THREAD_FIELDS}


def public_message(doc: Doc) -> dict[str, Any]:
    return {k: doc.get(k) for k in MESSAGE_FIELDS}


def public_log(doc: Doc) -> dict[str, Any]:
    return {k: doc.get(k) for k in LOG_FIELDS}


def new_log(schedule: Doc, type_: str, status: str, date: str, message: str, *,
            thread_id: int | None = None, details: dict[str, Any] | None = None) -> Doc:
    return {
        "user_id": schedule["user_id"],
        "account_id": schedule["account_id"],
        "schedule_id": schedule["id"],
        "thread_id": thread_id,
        "type": type_,
        "status": status,
        "message": message,
        "details": details,
        "date": date,
    }


def new_message(thread: Doc, when: datetime, by_us: bool, item_type: str,
                content: dict[str, Any], rng: random.Random) -> Doc:
    """A message document; ``timestamp`` is microseconds since the epoch, as Instagram stores it."""
    return {
        "user_id": thread["user_id"],
        "account_id": thread["account_id"],
        "thread_id": thread["id"],
        "item_id": str(rng.randrange(10**34, 10**35)),
        "timestamp": str(int(when.timestamp()) * 1_000_000 + rng.randrange(1_000_000)),
        "item_type": item_type,
        "is_sent_by_us": by_us,
        "content": content,
    }


# -- reads and switches ---------------------------------------------------------------
_schedules = SchedulesById(SCHEDULES)
list_schedules, get_schedule, set_active = _schedules.list, _schedules.get, _schedules.set_active


def list_rendered(ctx: Ctx, paging: Paging) -> tuple[list[bytes], int]:
    """A page of the caller's schedules as the JSON texts of ``public_schedule``."""
    return _schedules.list_rendered(ctx, paging, public_schedule)


def list_logs(ctx: Ctx, paging: Paging, account_id: int | None, type_: LogType | None,
              status: LogStatus | None) -> tuple[list[Doc], int]:
    """Newest first; a filter on another user's account simply matches nothing."""
    return ctx.store.table(LOGS).find(
        user_id=ctx.owner_scope, account_id=account_id, type=type_, status=status,
        order="id", descending=True, **paging.slice(),
    )


def get_log(ctx: Ctx, log_id: int) -> Doc:
    return ctx.owned(LOGS, log_id, "Log entry")


def list_threads(ctx: Ctx, paging: Paging, account_id: int | None) -> tuple[list[Doc], int]:
    """Most recently active first, as an inbox shows them."""
    return ctx.store.table(THREADS).find(
        user_id=ctx.owner_scope, account_id=account_id,
        order="last_activity_at", descending=True, **paging.slice(),
    )


def get_thread(ctx: Ctx, thread_id: int) -> Doc:
    return ctx.owned(THREADS, thread_id, "Thread")


def list_messages(ctx: Ctx, thread: Doc, paging: Paging) -> tuple[list[Doc], int]:
    """Oldest first (chronological), as the reference says."""
    return ctx.store.table(MESSAGES).find(
        thread_id=thread["id"], order="timestamp", **paging.slice())


# -- the cron -------------------------------------------------------------------------
class Conversations:
    """The thread and message tables, and the writes a run makes to them."""

    def __init__(self, state: EmulatorState) -> None:
        self.threads: Table = state.store.table(THREADS)
        self.messages: Table = state.store.table(MESSAGES)

    def add(self, thread: Doc, when: datetime, by_us: bool, text: str, rng: random.Random) -> None:
        """Append a text message and keep the thread's counters and dates in step.

        ``sent_by_us`` and ``awaiting_reply`` are internal: they spare the cron a query per
        thread and never leave through ``public_thread``.
        """
        self.messages.insert(new_message(thread, when, by_us, "text", {"text": text}, rng))
        stamp = when.strftime(FORMAT)
        thread["item_count"] += 1
        thread["last_activity_at"] = thread["last_permanent_item_at"] = stamp
        thread["awaiting_reply"] = not by_us
        if by_us:
            thread["sent_by_us"] += 1
        else:
            thread["last_non_sender_item_at"] = stamp


class AiDmSchedules(ScheduledModule):
    """The cron's view of AI-DM: each run answers the account's unanswered threads."""

    module, schedules_table, logs_table = MODULE, SCHEDULES, LOGS

    def problem(self, schedule: Doc) -> str | None:
        if schedule["settings"].get("openai_api_key"):
            return None
        return "no OpenAI API key is configured"

    def pauses(self, schedule: Doc) -> list[tuple[str, str]]:
        return pause_object_windows(schedule["daily_pause"])

    def next_run_at(self, schedule: Doc, now: datetime) -> datetime:
        return now + RUN_INTERVAL

    def run_once(self, run: Pass, schedule: Doc, since: str, counts: Counter[str]) -> list[Doc]:
        checked, logs = process_threads(run, schedule, Conversations(run.state))
        schedule["is_running"] = False
        counts["checked"] += checked
        counts["replied"] += sum(1 for log in logs if log["status"] == "success")
        return logs

    def switch_off_log(self, schedule: Doc, stamp: str, message: str) -> Doc:
        return new_log(schedule, "system", "error", stamp, message)


CRON = AiDmSchedules()


def tick(state: EmulatorState, now: datetime) -> dict[str, int] | None:
    """Check every due schedule's threads, answer the unanswered ones within the limits."""
    return run_pass(CRON, state, now)


def process_threads(run: Pass, schedule: Doc,
                    conversations: Conversations) -> tuple[int, list[Doc]]:
    """One run over an account's threads, least recently checked first, within the run's and
    the day's limits. Returns how many threads were checked, and the logs written."""
    settings = schedule["settings"]
    usage = usage_today(schedule, run.now)
    checks = min(settings["max_per_run_requests"],
                 settings["max_per_day_requests"] - usage["requests"])
    sends = min(settings["max_per_run_messages"],
                settings["max_per_day_messages"] - usage["messages"])
    threads = sorted(conversations.threads.all(account_id=schedule["account_id"]),
                     key=lambda t: (t.get("last_checked") or "", t["id"]))[:max(0, checks)]
    rng = run.rng(schedule)
    if threads and rng.random() < INBOUND_CHANCE:
        receive_message(run, conversations, rng.choice(threads), rng)
    logs = []
    for thread in threads:
        previous_check = thread.get("last_checked") or ""
        thread["last_checked"] = thread["last_seen_by_us"] = run.stamp
        usage["requests"] += 1
        waiting = thread.get("awaiting_reply")
        if waiting and thread["sent_by_us"] < settings["max_per_conversation"]:
            if sends > 0:
                logs.append(reply(run, schedule, thread, conversations, rng))
                sends -= 1
                usage["messages"] += 1
        elif waiting and (thread.get("last_non_sender_item_at") or "") > previous_check:
            # Over the conversation's limit: said once per new message, not at every run.
            logs.append(new_log(
                schedule, "reply", "skipped", run.stamp,
                f"Max messages per conversation reached for @{thread['them_username']}.",
                thread_id=thread["id"]))
        conversations.threads.update(thread)
    return len(threads), logs


def receive_message(run: Pass, conversations: Conversations, thread: Doc,
                    rng: random.Random) -> None:
    """Someone wrote into ``thread`` since the last run."""
    seconds_ago = rng.randint(30, int(RUN_INTERVAL.total_seconds()) - 30)
    conversations.add(thread, run.now - timedelta(seconds=seconds_ago), False,
                      rng.choice(INBOUND_TEXTS), rng)


def usage_today(schedule: Doc, now: datetime) -> dict[str, Any]:
    """The schedule's counters for the daily limits, reset when the UTC day changes."""
    day = now.strftime("%Y-%m-%d")
    if (schedule.get("usage") or {}).get("day") != day:
        schedule["usage"] = {"day": day, "requests": 0, "messages": 0}
    return schedule["usage"]


def reply(run: Pass, schedule: Doc, thread: Doc, conversations: Conversations,
          rng: random.Random) -> Doc:
    """Send the model's answer; the last message a conversation allows carries the CTA."""
    text = rng.choice(REPLY_TEXTS)
    last_allowed = thread["sent_by_us"] + 1 >= schedule["settings"]["max_per_conversation"]
    cta = cta_text(schedule["cta"], rng) if last_allowed else None
    if cta:
        text = f"{text} {cta}"
    conversations.add(thread, run.now, True, text, rng)
    return new_log(
        schedule, "cta" if cta else "reply", "success", run.stamp,
        f"Replied to @{thread['them_username']}.", thread_id=thread["id"],
        details={"model": schedule["settings"]["model"], "tokens": rng.randint(40, 180)},
    )


def cta_text(cta: dict[str, Any], rng: random.Random) -> str | None:
    """The call-to-action line, or None when none is configured."""
    if not cta.get("platform") or not cta.get("username"):
        return None
    spintax = cta.get("spintax")
    lead_in = spin(spintax, rng) if spintax else CTA_LEAD_INS.get(cta["platform"], "Reach us")
    return f"{lead_in}: {cta['username']}"
