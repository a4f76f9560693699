"""HTTP for Reactions Pro: the routes it shares with Repost Pro come from
``schedule_routes.add_schedule_routes``; this file holds its models and what is its own."""

from __future__ import annotations

from fastapi import Depends, Query

from orchestrator.emulator.context import Ctx, Paging, auth, paging
from orchestrator.emulator.envelope import JSON, Open, ok, paged, responds
from orchestrator.emulator.modules.schedule_models import (
    DailyPauseOut,
    TargetOut,
)
from orchestrator.emulator.modules.reactions import models
from orchestrator.emulator.modules.reactions.models import REACTIONS
from orchestrator.emulator.modules.schedule_routes import add_schedule_routes
from orchestrator.emulator.routing import ModuleRouter

router = ModuleRouter(module="reactions", tag="Reactions Pro")
gate = Depends(auth("reactions"))


class ReactionsSchedule(Open):
    id: int
    account_id: int
    username: str
    status: str
    is_active: bool
    is_running: bool
    speed: int
    daily_pause: DailyPauseOut
    target_count: int
    targets: list[TargetOut]
    schedule_date: str | None
    end_date: str
    last_action_date: str | None
    date: str


ReactionsSettings = REACTIONS.settings.model("ReactionsSettings")



class ReactionsLog(Open):
    id: int
    account_id: int
    username: str
    action: str
    status: str
    target_type: str | None
    target_value: str | None
    target_username: str | None
    media_code: str | None
    message: str
    date: str


class DayCounts(Open):
    likes: int
    follows: int
    unfollows: int
    comments: int
    story_views: int
    story_likes: int
    story_reactions: int
    dms: int


class DayStats(DayCounts):
    date: str


class ReactionsStats(Open):
    account_id: int
    username: str
    is_active: bool
    totals: DayCounts
    today: DayCounts
    per_day: list[DayStats]
    last_action_date: str | None


add_schedule_routes(
    router, REACTIONS, gate, schedule_model=ReactionsSchedule, settings_model=ReactionsSettings,
    bulk_ops=("activate", "pause", "stop"),
)


# -- logs and stats ----------------------------------------------------------------------------
@router.get("/reactions/logs", **responds(ReactionsLog, paged=True))
async def list_logs(
    account_id: int | None = Query(None, description="only this account's entries"),
    status: str | None = Query(None, description="success | error | skipped"),
    action: str | None = Query(None, description="like, follow, unfollow, comment, dm, ..."),
    page: Paging = Depends(paging),
    ctx: Ctx = gate,
) -> JSON:
    docs, total = REACTIONS.list_logs(ctx, page, account_id, status=status, action=action)
    return ok(paged([REACTIONS.public_log(d) for d in docs], total, page.page, page.per_page))


@router.get("/reactions/logs/{account_id}", **responds(ReactionsLog, paged=True))
async def account_logs(
    account_id: int,
    status: str | None = Query(None, description="success | error | skipped"),
    action: str | None = Query(None, description="like, follow, unfollow, comment, dm, ..."),
    page: Paging = Depends(paging),
    ctx: Ctx = gate,
) -> JSON:
    REACTIONS.schedule(ctx, account_id)
    docs, total = REACTIONS.list_logs(ctx, page, account_id, status=status, action=action)
    return ok(paged([REACTIONS.public_log(d) for d in docs], total, page.page, page.per_page))


@router.get("/reactions/stats/{account_id}", **responds(ReactionsStats))
async def account_stats(
    account_id: int,
    days: int = Query(7, description="days of per-day counts, newest first (1-30)"),
    ctx: Ctx = gate,
) -> JSON:
    doc = REACTIONS.schedule(ctx, account_id)
    return ok(models.stats(doc, ctx.clock.stamp(), min(max(days, 1), models.STATS_DAYS_KEPT)))


@router.get("/reactions/stats", **responds(ReactionsStats))
async def account_stats_by_query(
    account_id: int = Query(..., description="the account whose statistics to show"),
    days: int = Query(7, description="days of per-day counts, newest first (1-30)"),
    ctx: Ctx = gate,
) -> JSON:
    """The later revision's form of ``/reactions/stats/{account_id}``; both are served."""
    doc = REACTIONS.schedule(ctx, account_id)
    return ok(models.stats(doc, ctx.clock.stamp(), min(max(days, 1), models.STATS_DAYS_KEPT)))
