"""Welcome DM: schedules and run logs, and what the cron does with them. No HTTP here.

A schedule belongs to one account and holds message variants sent to new followers at
its ``speed``. The attachment's file path is stored but never rendered: ``public_*`` are
the only way a document leaves.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any, Literal

from orchestrator.emulator.clock import parse_stamp
from orchestrator.emulator.context import Ctx, Paging
from orchestrator.emulator.engine import interval_seconds
from orchestrator.emulator.modules.schedules_by_id import SchedulesById
from orchestrator.emulator.scheduler import (
    Pass,
    ScheduledModule,
    count_statuses,
    pause_object_windows,
    run_pass,
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


def list_rendered(ctx: Ctx, paging: Paging) -> tuple[list[bytes], int]:
    """A page of the caller's schedules as the JSON texts of ``public_schedule``."""
    return _schedules.list_rendered(ctx, paging, public_schedule)


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


def dms_due(schedule: Doc, since: str, now: datetime) -> int:
    """How many new followers this run greets: the intervals elapsed since the last action."""
    elapsed = (now - parse_stamp(since)).total_seconds()
    return max(1, min(MAX_DMS_PER_RUN, int(elapsed // speed_interval(schedule["speed"]))))


class WelcomeDmSchedules(ScheduledModule):
    """The cron's view of Welcome DM: each run greets the followers its speed allowed."""

    module, schedules_table, logs_table = MODULE, SCHEDULES, LOGS

    def pauses(self, schedule: Doc) -> list[tuple[str, str]]:
        return pause_object_windows(schedule["daily_pause"])

    def next_run_at(self, schedule: Doc, now: datetime) -> datetime:
        return now + timedelta(seconds=speed_interval(schedule["speed"]))

    def run_once(self, run: Pass, schedule: Doc, since: str, counts: Counter[str]) -> list[Doc]:
        logs = greet_new_followers(run, schedule, since)
        count_statuses(counts, logs)
        return logs

    def switch_off_log(self, schedule: Doc, stamp: str, message: str) -> Doc:
        return new_log(schedule, "error", stamp, message=message)


CRON = WelcomeDmSchedules()


def tick(state: EmulatorState, now: datetime) -> dict[str, int] | None:
    """Greet new followers for every due schedule; switch off the ones that cannot run."""
    return run_pass(CRON, state, now)


def greet_new_followers(run: Pass, schedule: Doc, since: str) -> list[Doc]:
    """One run: a log per new follower greeted (or skipped) since the last run."""
    count = dms_due(schedule, since, run.now)
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
