"""HTTP for Welcome DM: parse, call the model, wrap in the envelope."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Depends
from pydantic import Field

from orchestrator.emulator.context import Ctx, Paging, auth, paging
from orchestrator.emulator.envelope import JSON, Open, ok, ok_page, paged, responds
from orchestrator.emulator.modules.welcomedm import models
from orchestrator.emulator.routing import ModuleRouter

router = ModuleRouter(module=models.MODULE, tag="Welcome DM")
gate = Depends(auth(models.MODULE))


class WelcomeDailyPause(Open):
    enabled: bool
    from_: str | None = Field(..., alias="from")
    to: str | None


class WelcomeSettings(Open):
    skip_opened: bool
    mute_thread: bool
    has_attachment: bool
    debug_mode: bool


class WelcomeSchedule(Open):
    id: int
    account_id: int
    is_active: bool
    status: Literal["active", "inactive"]
    messages: list[dict[str, Any]]
    message_count: int
    speed: Literal["auto"] | int
    daily_pause: WelcomeDailyPause
    settings: WelcomeSettings
    schedule_date: str | None
    end_date: str | None
    last_action_date: str | None


class WelcomeLog(Open):
    id: int
    account_id: int
    status: models.LogStatus
    follower_id: str | None
    message: str | None
    details: dict[str, Any] | None
    date: str


@router.get("/welcomedm/schedules", **responds(WelcomeSchedule, paged=True))
async def list_schedules(page: Paging = Depends(paging), ctx: Ctx = gate) -> JSON:
    items, total = models.list_rendered(ctx, page)
    return ok_page(items, total, page.page, page.per_page)


@router.get("/welcomedm/schedules/{id}", **responds(WelcomeSchedule))
async def get_schedule(id: int, ctx: Ctx = gate) -> JSON:
    return ok(models.public_schedule(models.get_schedule(ctx, id)))


@router.post("/welcomedm/schedules/{id}/activate", **responds(WelcomeSchedule))
async def activate(id: int, ctx: Ctx = gate) -> JSON:
    schedule = models.set_active(ctx, models.get_schedule(ctx, id), True)
    return ok(models.public_schedule(schedule), "Schedule activated.")


@router.post("/welcomedm/schedules/{id}/pause", **responds(WelcomeSchedule))
async def pause(id: int, ctx: Ctx = gate) -> JSON:
    schedule = models.set_active(ctx, models.get_schedule(ctx, id), False)
    return ok(models.public_schedule(schedule), "Schedule paused.")


@router.get("/welcomedm/logs", **responds(WelcomeLog, paged=True))
async def list_logs(
    account_id: int | None = None,
    status: models.LogStatus | None = None,
    page: Paging = Depends(paging),
    ctx: Ctx = gate,
) -> JSON:
    items, total = models.list_logs(ctx, page, account_id, status)
    return ok(paged([models.public_log(d) for d in items], total, page.page, page.per_page))


@router.get("/welcomedm/logs/{id}", **responds(WelcomeLog))
async def get_log(id: int, ctx: Ctx = gate) -> JSON:
    return ok(models.public_log(models.get_log(ctx, id)))
