"""HTTP for Reactions Pro: parse, call the model, wrap in the envelope.

Bulk routes are registered before ``/reactions/schedules/{account_id}/...`` so that the
later revision's ``/reactions/schedules/bulk/...`` is not read as an account id.
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
from orchestrator.emulator.modules.reactions import models
from orchestrator.emulator.modules.reactions.models import REACTIONS
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


class ReactionsSettingsOut(Open):
    account_id: int
    settings: ReactionsSettings  # type: ignore[valid-type]


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


def _schedule(doc: dict[str, Any]) -> dict[str, Any]:
    return REACTIONS.public(doc)


# -- settings: first, so the benchmarked hot path is matched before the other routes ---------
@router.get("/reactions/schedules/{account_id}/settings", **responds(ReactionsSettingsOut))
async def get_settings(account_id: int, ctx: Ctx = gate) -> JSON:
    doc = REACTIONS.schedule(ctx, account_id)
    return ok({"account_id": account_id, "settings": REACTIONS.read_settings(doc)})


@router.patch(
    "/reactions/schedules/{account_id}/settings",
    **responds(SettingsUpdatedOut),
    openapi_extra=REACTIONS.settings.request_body_doc(),
)
async def patch_settings(
    account_id: int, body: dict[str, Any] = Body(...), ctx: Ctx = gate
) -> JSON:
    doc = REACTIONS.schedule(ctx, account_id)
    fields = REACTIONS.patch_settings(ctx, doc, body)
    return ok({"account_id": account_id, "updated_fields": fields}, "Settings updated.")


# -- bulk (both the reference's and the later revision's paths) --------------------------------
@router.post("/reactions/bulk/activate", **responds(BulkOut))
@router.post("/reactions/schedules/bulk/activate", **responds(BulkOut))
async def bulk_activate(body: BulkBody | None = None, ctx: Ctx = gate) -> JSON:
    out = REACTIONS.bulk(ctx, "activate", body.account_ids if body else None)
    return ok(out, f"{out['affected']} schedules activated.")


@router.post("/reactions/bulk/pause", **responds(BulkOut))
@router.post("/reactions/schedules/bulk/pause", **responds(BulkOut))
async def bulk_pause(body: BulkBody | None = None, ctx: Ctx = gate) -> JSON:
    out = REACTIONS.bulk(ctx, "pause", body.account_ids if body else None)
    return ok(out, f"{out['affected']} schedules paused.")


@router.post("/reactions/bulk/stop", **responds(BulkOut))
@router.post("/reactions/schedules/bulk/stop", **responds(BulkOut))
async def bulk_stop(body: BulkBody | None = None, ctx: Ctx = gate) -> JSON:
    out = REACTIONS.bulk(ctx, "stop", body.account_ids if body else None)
    return ok(out, f"{out['affected']} schedules stopped.")


# -- schedules ---------------------------------------------------------------------------------
@router.get("/reactions/schedules", **responds(ReactionsSchedule, paged=True))
async def list_schedules(
    is_active: bool | None = Query(None, description="only active (true) or paused (false) ones"),
    page: Paging = Depends(paging),
    ctx: Ctx = gate,
) -> JSON:
    docs, total = REACTIONS.list_schedules(ctx, page, is_active)
    return ok(paged([_schedule(d) for d in docs], total, page.page, page.per_page))


@router.get("/reactions/schedules/{account_id}", **responds(ReactionsSchedule))
async def get_schedule(account_id: int, ctx: Ctx = gate) -> JSON:
    return ok(_schedule(REACTIONS.schedule(ctx, account_id)))


@router.post("/reactions/schedules/{account_id}/activate", **responds(ReactionsSchedule))
async def activate(account_id: int, ctx: Ctx = gate) -> JSON:
    doc = REACTIONS.set_active(ctx, REACTIONS.schedule(ctx, account_id), True)
    return ok(_schedule(doc), "Schedule activated.")


@router.post("/reactions/schedules/{account_id}/pause", **responds(ReactionsSchedule))
async def pause(account_id: int, ctx: Ctx = gate) -> JSON:
    doc = REACTIONS.set_active(ctx, REACTIONS.schedule(ctx, account_id), False)
    return ok(_schedule(doc), "Schedule paused.")


# -- targets -----------------------------------------------------------------------------------
@router.get("/reactions/targets/types", **responds(TargetTypesOut))
async def target_types(ctx: Ctx = gate) -> JSON:
    types = [t.public() for t in REACTIONS.target_types.values()]
    return ok({"types": types, "total": len(types)})


@router.get("/reactions/schedules/{account_id}/targets", **responds(TargetsOut))
async def list_targets(account_id: int, ctx: Ctx = gate) -> JSON:
    targets = REACTIONS.schedule(ctx, account_id)["targets"]
    return ok({"targets": targets, "total": len(targets)})


@router.post("/reactions/schedules/{account_id}/targets", **responds(TargetOut, status=201))
async def add_target(account_id: int, body: TargetBody, ctx: Ctx = gate) -> JSON:
    doc = REACTIONS.schedule(ctx, account_id)
    target = REACTIONS.add_target(ctx, doc, body.type, as_text(body.value), as_text(body.id))
    return ok(target, "Target added.", 201)


@router.delete("/reactions/schedules/{account_id}/targets", **responds(RemovedOut))
async def remove_matching_targets(account_id: int, body: TargetMatch, ctx: Ctx = gate) -> JSON:
    doc = REACTIONS.schedule(ctx, account_id)
    out = REACTIONS.remove_matching(ctx, doc, body.type, as_text(body.value), as_text(body.id))
    return ok(out, f"{out['removed']} targets removed.")


@router.delete("/reactions/schedules/{account_id}/targets/{target_id}", **responds(RemovedOut))
async def remove_target(account_id: int, target_id: int, ctx: Ctx = gate) -> JSON:
    out = REACTIONS.remove_target(ctx, REACTIONS.schedule(ctx, account_id), target_id)
    return ok(out, "Target removed.")


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
