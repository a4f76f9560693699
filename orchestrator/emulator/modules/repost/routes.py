"""HTTP for Repost Pro: parse, call the model, wrap in the envelope.

Bulk routes are registered before ``/repost/schedules/{account_id}/...`` so that the
later revision's ``/repost/schedules/bulk/...`` is not read as an account id.
"""

from __future__ import annotations

from typing import Any

from fastapi import Body, Depends, Query

from orchestrator.emulator.context import Ctx, Paging, auth, paging
from orchestrator.emulator.envelope import JSON, Open, ok, paged, responds
from orchestrator.emulator.modules.automation import (
    BulkBody,
    BulkOut,
    DailyPauseOut,
    RemovedOut,
    SettingsUpdatedOut,
    TargetBody,
    TargetMatch,
    TargetOut,
    TargetsOut,
    TargetTypesOut,
    as_text,
)
from orchestrator.emulator.modules.repost.models import REPOST
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


class RepostSettingsOut(Open):
    account_id: int
    settings: RepostSettings  # type: ignore[valid-type]


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


def _schedule(doc: dict[str, Any]) -> dict[str, Any]:
    return REPOST.public(doc)


# -- settings: first, so the benchmarked hot path is matched before the other routes ---------
@router.get("/repost/schedules/{account_id}/settings", **responds(RepostSettingsOut))
async def get_settings(account_id: int, ctx: Ctx = gate) -> JSON:
    doc = REPOST.schedule(ctx, account_id)
    return ok({"account_id": account_id, "settings": REPOST.read_settings(doc)})


@router.patch(
    "/repost/schedules/{account_id}/settings",
    **responds(SettingsUpdatedOut),
    openapi_extra=REPOST.settings.request_body_doc(),
)
async def patch_settings(
    account_id: int, body: dict[str, Any] = Body(...), ctx: Ctx = gate
) -> JSON:
    doc = REPOST.schedule(ctx, account_id)
    fields = REPOST.patch_settings(ctx, doc, body)
    return ok({"account_id": account_id, "updated_fields": fields}, "Settings updated.")


# -- bulk (both the reference's and the later revision's paths) --------------------------------
@router.post("/repost/bulk/activate", **responds(BulkOut))
@router.post("/repost/schedules/bulk/activate", **responds(BulkOut))
async def bulk_activate(body: BulkBody | None = None, ctx: Ctx = gate) -> JSON:
    out = REPOST.bulk(ctx, "activate", body.account_ids if body else None)
    return ok(out, f"{out['affected']} schedules activated.")


@router.post("/repost/bulk/pause", **responds(BulkOut))
@router.post("/repost/schedules/bulk/pause", **responds(BulkOut))
async def bulk_pause(body: BulkBody | None = None, ctx: Ctx = gate) -> JSON:
    out = REPOST.bulk(ctx, "pause", body.account_ids if body else None)
    return ok(out, f"{out['affected']} schedules paused.")


# -- schedules ---------------------------------------------------------------------------------
@router.get("/repost/schedules", **responds(RepostSchedule, paged=True))
async def list_schedules(
    is_active: bool | None = Query(None, description="only active (true) or paused (false) ones"),
    page: Paging = Depends(paging),
    ctx: Ctx = gate,
) -> JSON:
    docs, total = REPOST.list_schedules(ctx, page, is_active)
    return ok(paged([_schedule(d) for d in docs], total, page.page, page.per_page))


@router.get("/repost/schedules/{account_id}", **responds(RepostSchedule))
async def get_schedule(account_id: int, ctx: Ctx = gate) -> JSON:
    return ok(_schedule(REPOST.schedule(ctx, account_id)))


@router.post("/repost/schedules/{account_id}/activate", **responds(RepostSchedule))
async def activate(account_id: int, ctx: Ctx = gate) -> JSON:
    doc = REPOST.set_active(ctx, REPOST.schedule(ctx, account_id), True)
    return ok(_schedule(doc), "Schedule activated.")


@router.post("/repost/schedules/{account_id}/pause", **responds(RepostSchedule))
async def pause(account_id: int, ctx: Ctx = gate) -> JSON:
    doc = REPOST.set_active(ctx, REPOST.schedule(ctx, account_id), False)
    return ok(_schedule(doc), "Schedule paused.")


# -- targets -----------------------------------------------------------------------------------
@router.get("/repost/targets/types", **responds(TargetTypesOut))
async def target_types(ctx: Ctx = gate) -> JSON:
    types = [t.public() for t in REPOST.target_types.values()]
    return ok({"types": types, "total": len(types)})


@router.get("/repost/schedules/{account_id}/targets", **responds(TargetsOut))
async def list_targets(account_id: int, ctx: Ctx = gate) -> JSON:
    targets = REPOST.schedule(ctx, account_id)["targets"]
    return ok({"targets": targets, "total": len(targets)})


@router.post("/repost/schedules/{account_id}/targets", **responds(TargetOut, status=201))
async def add_target(account_id: int, body: TargetBody, ctx: Ctx = gate) -> JSON:
    doc = REPOST.schedule(ctx, account_id)
    target = REPOST.add_target(ctx, doc, body.type, as_text(body.value), as_text(body.id))
    return ok(target, "Target added.", 201)


@router.delete("/repost/schedules/{account_id}/targets", **responds(RemovedOut))
async def remove_matching_targets(account_id: int, body: TargetMatch, ctx: Ctx = gate) -> JSON:
    doc = REPOST.schedule(ctx, account_id)
    out = REPOST.remove_matching(ctx, doc, body.type, as_text(body.value), as_text(body.id))
    return ok(out, f"{out['removed']} targets removed.")


@router.delete("/repost/schedules/{account_id}/targets/{target_id}", **responds(RemovedOut))
async def remove_target(account_id: int, target_id: int, ctx: Ctx = gate) -> JSON:
    out = REPOST.remove_target(ctx, REPOST.schedule(ctx, account_id), target_id)
    return ok(out, "Target removed.")


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
