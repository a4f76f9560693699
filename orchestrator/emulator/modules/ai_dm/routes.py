"""HTTP for AI-DM: parse, call the model, wrap in the envelope."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Depends
from pydantic import Field

from orchestrator.emulator.context import Ctx, Paging, auth, paging
from orchestrator.emulator.envelope import JSON, Open, ok, ok_page, paged, responds
from orchestrator.emulator.modules.ai_dm import models
from orchestrator.emulator.routing import ModuleRouter

router = ModuleRouter(module=models.MODULE, tag="AI-DM")
gate = Depends(auth(models.MODULE))


class AiDailyPause(Open):
    enabled: bool
    from_: str | None = Field(..., alias="from")
    to: str | None


class AiCta(Open):
    platform: str | None
    username: str | None
    spintax: str | None


class AiSettings(Open):
    system_prompt: str
    api_key_configured: bool
    model: str
    folder: str
    max_per_conversation: int
    max_per_day_requests: int
    max_per_run_requests: int
    max_per_day_messages: int
    max_per_run_messages: int
    max_time: int


class AiSchedule(Open):
    id: int
    account_id: int
    account_name: str | None
    status: Literal["running", "active", "inactive"]
    is_active: bool
    daily_pause: AiDailyPause
    cta: AiCta
    settings: AiSettings
    schedule_date: str | None
    last_action_date: str | None


class AiLog(Open):
    id: int
    account_id: int
    schedule_id: int
    thread_id: int | None
    type: models.LogType
    status: models.LogStatus
    message: str | None
    details: dict[str, Any] | None
    date: str


class AiThread(Open):
    id: int
    account_id: int
    thread_v2_id: str
    them_user_pk: str
    them_username: str
    them_fullname: str | None
    item_count: int
    last_activity_at: str | None
    last_seen_by_us: str | None
    last_seen_by_them: str | None
    last_permanent_item_at: str | None
    last_non_sender_item_at: str | None
    last_checked: str | None


class AiMessage(Open):
    id: int
    thread_id: int
    item_id: str
    timestamp: str
    item_type: str
    is_sent_by_us: bool
    content: dict[str, Any]


@router.get("/ai-dm/schedules", **responds(AiSchedule, paged=True))
async def list_schedules(page: Paging = Depends(paging), ctx: Ctx = gate) -> JSON:
    items, total = models.list_rendered(ctx, page)
    return ok_page(items, total, page.page, page.per_page)


@router.get("/ai-dm/schedules/{id}", **responds(AiSchedule))
async def get_schedule(id: int, ctx: Ctx = gate) -> JSON:
    return ok(models.public_schedule(models.get_schedule(ctx, id)))


@router.post("/ai-dm/schedules/{id}/activate", **responds(AiSchedule))
async def activate(id: int, ctx: Ctx = gate) -> JSON:
    schedule = models.set_active(ctx, models.get_schedule(ctx, id), True)
    return ok(models.public_schedule(schedule), "Schedule activated.")


@router.post("/ai-dm/schedules/{id}/pause", **responds(AiSchedule))
async def pause(id: int, ctx: Ctx = gate) -> JSON:
    schedule = models.set_active(ctx, models.get_schedule(ctx, id), False)
    return ok(models.public_schedule(schedule), "Schedule paused.")


@router.get("/ai-dm/logs", **responds(AiLog, paged=True))
async def list_logs(
    account_id: int | None = None,
    type: models.LogType | None = None,
    status: models.LogStatus | None = None,
    page: Paging = Depends(paging),
    ctx: Ctx = gate,
) -> JSON:
    items, total = models.list_logs(ctx, page, account_id, type, status)
    return ok(paged([models.public_log(d) for d in items], total, page.page, page.per_page))


@router.get("/ai-dm/logs/{id}", **responds(AiLog))
async def get_log(id: int, ctx: Ctx = gate) -> JSON:
    return ok(models.public_log(models.get_log(ctx, id)))


@router.get("/ai-dm/threads", **responds(AiThread, paged=True))
async def list_threads(account_id: int | None = None, page: Paging = Depends(paging),
                       ctx: Ctx = gate) -> JSON:
    items, total = models.list_threads(ctx, page, account_id)
    return ok(paged([models.public_thread(d) for d in items], total, page.page, page.per_page))


@router.get("/ai-dm/threads/{id}", **responds(AiThread))
async def get_thread(id: int, ctx: Ctx = gate) -> JSON:
    return ok(models.public_thread(models.get_thread(ctx, id)))


@router.get("/ai-dm/threads/{id}/messages", **responds(AiMessage, paged=True))
async def list_messages(id: int, page: Paging = Depends(paging), ctx: Ctx = gate) -> JSON:
    items, total = models.list_messages(ctx, models.get_thread(ctx, id), page)
    return ok(paged([models.public_message(d) for d in items], total, page.page, page.per_page))
