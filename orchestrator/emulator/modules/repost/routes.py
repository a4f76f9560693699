"""HTTP for Repost Pro: the routes it shares with Reactions Pro come from
``schedule_routes.add_schedule_routes``; this file holds its models and what is its own."""

from __future__ import annotations

from fastapi import Depends, Query

from orchestrator.emulator.context import Ctx, Paging, auth, paging
from orchestrator.emulator.envelope import JSON, Open, ok, paged, responds
from orchestrator.emulator.modules.schedule_models import (
    DailyPauseOut,
    TargetOut,
)
from orchestrator.emulator.modules.repost.models import REPOST
from orchestrator.emulator.modules.schedule_routes import add_schedule_routes
from orchestrator.emulator.routing import ModuleRouter

router = ModuleRouter(module="repost-pro", tag="Repost Pro")
gate = Depends(auth("repost-pro"))


class RepostSchedule(Open):
    id: int
    account_id: int
    username: str
    status: str
    is_active: bool
    is_running: bool
    speed: str
    daily_pause: DailyPauseOut
    target_count: int
    targets: list[TargetOut]
    schedule_date: str | None
    end_date: str
    last_action_date: str | None
    date: str


RepostSettings = REPOST.settings.model("RepostSettings")



class RepostLog(Open):
    id: int
    account_id: int
    username: str
    status: str
    target_type: str | None
    target_value: str | None
    media_type: str | None
    original_media_code: str | None
    media_code: str | None
    is_removable: bool
    remove_scheduled: str | None
    is_deleted: bool
    status_share_to_stories: str | None
    status_first_comment: str | None
    status_caption: str | None
    message: str
    date: str


add_schedule_routes(
    router, REPOST, gate, schedule_model=RepostSchedule, settings_model=RepostSettings, bulk_ops=("activate", "pause"),
)


# -- logs --------------------------------------------------------------------------------------
@router.get("/repost/logs", **responds(RepostLog, paged=True))
async def list_logs(
    account_id: int | None = Query(None, description="only this account's entries"),
    status: str | None = Query(None, description="success | error | skipped"),
    page: Paging = Depends(paging),
    ctx: Ctx = gate,
) -> JSON:
    docs, total = REPOST.list_logs(ctx, page, account_id, status=status)
    return ok(paged([REPOST.public_log(d) for d in docs], total, page.page, page.per_page))


@router.get("/repost/logs/{account_id}", **responds(RepostLog, paged=True))
async def account_logs(
    account_id: int,
    status: str | None = Query(None, description="success | error | skipped"),
    page: Paging = Depends(paging),
    ctx: Ctx = gate,
) -> JSON:
    REPOST.schedule(ctx, account_id)
    docs, total = REPOST.list_logs(ctx, page, account_id, status=status)
    return ok(paged([REPOST.public_log(d) for d in docs], total, page.page, page.per_page))
