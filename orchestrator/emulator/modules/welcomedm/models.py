"""Welcome DM: schedules and run logs, and what the cron does with them. No HTTP here.

A schedule belongs to one account and holds message variants sent to new followers at
its ``speed``. The attachment's file path is stored but never rendered: ``public_*`` are
the only way a document leaves.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from orchestrator.emulator.clock import parse_stamp
from orchestrator.emulator.context import Ctx, Paging
from orchestrator.emulator.engine import interval_seconds
from orchestrator.emulator.modules.schedules_by_id import SchedulesById
from orchestrator.emulator.modules.cron import (
    CronRun,
    pause_window_end,
    switched_off_message,
)
from orchestrator.emulator.state import EmulatorState
from orchestrator.emulator.store import Doc

MODULE = "welcomedm"
SCHEDULES = "welcomedm_schedules"
LOGS = "welcomedm_logs"
LogStatus = Literal["sent", "skipped", "error"]
LOG_FIELDS = ("id", "account_id", "status", "follower_id", "message", "details", "date")
# "auto" lets the server pick; it picks the reference's default safe speed.
AUTO_SPEED = 2
# A run catches up on the DMs its speed allowed since the last one, but never more than this.
MAX_DMS_PER_RUN = 10
# Share of new followers who already opened a DM from us, when skip_opened is on.
OPENED_SHARE = 0.1


# -- rendering --------------------------------------------------------------------------
def public_schedule(doc: Doc) -> dict[str, Any]:
    settings = doc["settings"]
    return {
        "id": doc["id"],
        "account_id": doc["account_id"],
        "is_active": doc["is_active"],
        "status": "active" if doc["is_active"] else "inactive",
        "messages": doc["messages"],
        "message_count": len(doc["messages"]),
        "speed": doc["speed"],
        "daily_pause": doc["daily_pause"],
        "settings": {
            "skip_opened": settings["skip_opened"],
            "mute_thread": settings["mute_thread"],
            "has_attachment": bool(settings.get("attachment_path")),
            "debug_mode": settings["debug_mode"],
        },
        "schedule_date": doc["schedule_date"],
        "end_date": doc.get("end_date"),
        "last_action_date": doc.get("last_action_date"),
    }


def public_log(doc: Doc) -> dict[str, Any]:
    return {k: doc.get(k) for k in LOG_FIELDS}


def new_log(schedule: Doc, status: str, date: str, *, follower_id: str | None = None,
            message: str | None = None, details: dict[str, Any] | None = None) -> Doc:
    return {
        "user_id": schedule["user_id"],
        "account_id": schedule["account_id"],
        "schedule_id": schedule["id"],
        "status": status,
        "follower_id": follower_id,
        "message": message,
        "details": details,
        "date": date,
    }


# -- reads and switches ---------------------------------------------------------------
_schedules = SchedulesById(SCHEDULES)
list_schedules, get_schedule, set_active = _schedules.list, _schedules.get, _schedules.set_active


def list_logs(ctx: Ctx, paging: Paging, account_id: int | None,
              status: LogStatus | None) -> tuple[list[Doc], int]:
    """Newest first; a filter on another user's account simply matches nothing."""
    return ctx.store.table(LOGS).find(
        user_id=ctx.owner_scope, account_id=account_id, status=status,
        order="id", descending=True, **paging.slice(),
    )


def get_log(ctx: Ctx, log_id: int) -> Doc:
    return ctx.owned(LOGS, log_id, "Log entry")


# -- the cron -------------------------------------------------------------------------
def speed_interval(speed: int | str) -> float:
    """Seconds between two welcome DMs at ``speed`` ("auto" or 1-5)."""
    return interval_seconds(AUTO_SPEED if speed == "auto" else speed)


def dms_due(schedule: Doc, now: datetime) -> int:
    """How many new followers this run greets: the intervals elapsed since the last action."""
    last = schedule.get("last_action_date") or schedule["schedule_date"]
    elapsed = (now - parse_stamp(last)).total_seconds()
    return max(1, min(MAX_DMS_PER_RUN, int(elapsed // speed_interval(schedule["speed"]))))


def tick(state: EmulatorState, now: datetime) -> dict[str, int] | None:
    """Greet new followers for every due schedule; switch off the ones that cannot run."""
    run = CronRun(state, now, MODULE)
    schedules = state.store.table(SCHEDULES)
    logs: list[Doc] = []
    counts = {"sent": 0, "skipped": 0, "switched_off": 0, "paused": 0}
    for schedule in run.due(schedules):
        reason = run.stop_reason(schedule)
        if reason:
            run.switch_off(schedules, schedule)
            logs.append(new_log(schedule, "error", run.stamp, message=switched_off_message(reason)))
            counts["switched_off"] += 1
            continue
        resume = pause_window_end(schedule["daily_pause"], now)
        if resume is not None:
            schedule["schedule_date"] = state.clock.stamp(resume)
            schedules.update(schedule)
            counts["paused"] += 1
            continue
        for log in greet_new_followers(run, schedule):
            logs.append(log)
            counts[log["status"]] += 1
        schedules.update(schedule)
    if logs:
        state.store.table(LOGS).insert_many(logs)
    return {k: v for k, v in counts.items() if v} or None


def greet_new_followers(run: CronRun, schedule: Doc) -> list[Doc]:
    """One run: a log per new follower greeted (or skipped) since the last run."""
    count = dms_due(schedule, run.now)
    # The next run is set before acting, as the server's engine does.
    wait = timedelta(seconds=speed_interval(schedule["speed"]))
    schedule["schedule_date"] = run.state.clock.stamp(run.now + wait)
    schedule["last_action_date"] = run.stamp
    rng = run.rng(schedule)
    settings = schedule["settings"]
    out = []
    for _ in range(count):
        follower = str(rng.randrange(10**9, 10**11))
        if settings["debug_mode"]:
            out.append(new_log(schedule, "skipped", run.stamp, follower_id=follower,
                               message="Debug mode: message not sent.", details={"debug": True}))
        elif settings["skip_opened"] and rng.random() < OPENED_SHARE:
            out.append(new_log(schedule, "skipped", run.stamp, follower_id=follower,
                               message="Follower has already opened a DM from us."))
        else:
            out.append(new_log(schedule, "sent", run.stamp, follower_id=follower))
    return out
