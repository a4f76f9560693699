"""HTTP for Leads Finder: parse, call the model, wrap in the envelope."""

from __future__ import annotations

from typing import Any

from fastapi import Depends

from orchestrator.emulator.context import Ctx, Paging, auth, paging, paging_up_to
from orchestrator.emulator.envelope import JSON, Open, ok, paged, responds
from orchestrator.emulator.modules.leads import models
from orchestrator.emulator.routing import ModuleRouter

router = ModuleRouter(module=models.MODULE, tag="Leads Finder")
gate = Depends(auth(models.MODULE))
EXPORT_PAGE_LIMIT = 5000  # api-gaps: the export's per_page goes up to 5,000


class LeadsTarget(Open):
    type: str
    value: str
    id: str | None


class LeadsSchedule(Open):
    id: int
    account_id: int
    task_name: str
    status: str
    is_active: bool
    is_running: bool
    targets: list[LeadsTarget]
    target_count: int
    speed: int
    estimated_speed: int
    estimated_speed_parsed: int
    analyzed_percentage: float
    parser_data_type: str
    data_fields: dict[str, bool]
    filters: dict[str, int]
    language_filter: dict[str, Any]
    telegram: dict[str, Any]
    accelerators: dict[str, Any]
    custom_delays: dict[str, Any]
    schedule_date: str | None
    end_date: str | None
    last_action_date: str | None


class LeadsExport(Open):
    items: list[str]
    total: int
    page: int
    per_page: int
    file_path: str


class LeadsLogTarget(Open):
    type: str
    value: str


class LeadsLog(Open):
    id: int
    account_id: int
    schedule_id: int
    task_name: str
    status: str
    type: str | None
    target: LeadsLogTarget | None
    parsed: int
    collected: int
    message: str
    date: str


class LeadsStat(Open):
    id: int
    account_id: int
    schedule_id: int
    type: str
    date: str
    requests: int
    results: int


def _schedule(ctx: Ctx, doc: dict[str, Any]) -> dict[str, Any]:
    return models.public_schedule(doc, ctx.clock.stamp())


def _owned_schedule(ctx: Ctx, id: int) -> dict[str, Any]:
    return ctx.owned(models.SCHEDULES, id, "Schedule")


@router.get("/leads/schedules", **responds(LeadsSchedule, paged=True))
async def list_schedules(account_id: int | None = None, page: Paging = Depends(paging), ctx: Ctx = gate) -> JSON:
    items, total = models.list_schedules(ctx, page, account_id)
    return ok(paged([_schedule(ctx, d) for d in items], total, page.page, page.per_page))


@router.get("/leads/schedules/{id}", **responds(LeadsSchedule))
async def get_schedule(id: int, ctx: Ctx = gate) -> JSON:
    return ok(_schedule(ctx, _owned_schedule(ctx, id)))


@router.post("/leads/schedules/{id}/start", **responds(LeadsSchedule))
async def start_schedule(id: int, ctx: Ctx = gate) -> JSON:
    doc = models.start(ctx, _owned_schedule(ctx, id))
    return ok(_schedule(ctx, doc), "Schedule started.")


@router.post("/leads/schedules/{id}/stop", **responds(LeadsSchedule))
async def stop_schedule(id: int, ctx: Ctx = gate) -> JSON:
    doc = models.stop(ctx, _owned_schedule(ctx, id))
    return ok(_schedule(ctx, doc), "Schedule stopped.")


@router.get("/leads/schedules/{id}/export", **responds(LeadsExport))
async def export_leads(id: int, page: Paging = Depends(paging_up_to(EXPORT_PAGE_LIMIT)), ctx: Ctx = gate) -> JSON:
    doc = _owned_schedule(ctx, id)
    lines, total = models.export(ctx, doc, page)
    account = ctx.store.table("accounts", key="username").get(doc["account_id"])
    return ok(paged(lines, total, page.page, page.per_page, file_path=models.file_path(doc, account)))


@router.get("/leads/logs", **responds(LeadsLog, paged=True))
async def list_logs(account_id: int | None = None, status: str | None = None,
                    page: Paging = Depends(paging), ctx: Ctx = gate) -> JSON:
    items, total = models.list_logs(ctx, page, account_id, status)
    return ok(paged([models.public_log(d) for d in items], total, page.page, page.per_page))


@router.get("/leads/logs/{id}", **responds(LeadsLog))
async def get_log(id: int, ctx: Ctx = gate) -> JSON:
    return ok(models.public_log(ctx.owned(models.LOGS, id, "Log entry")))


@router.get("/leads/stats", **responds(LeadsStat, paged=True))
async def list_stats(account_id: int | None = None, type: str | None = None,
                     page: Paging = Depends(paging), ctx: Ctx = gate) -> JSON:
    items, total = models.list_stats(ctx, page, account_id, type)
    return ok(paged([models.public_stat(d) for d in items], total, page.page, page.per_page))
