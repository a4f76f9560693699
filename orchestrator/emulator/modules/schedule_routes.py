"""The HTTP routes Reactions Pro and Repost Pro share: settings, bulk switches, schedules and
targets. The two modules answer the same endpoints under their own prefix, with their own
schedule and settings models; each module's ``routes.py`` calls ``add_schedule_routes`` and
adds what differs (logs with their own filters, Reactions' stats).

Order matters and is kept here: settings first (the benchmarked hot path is matched before
the other routes), then the bulk routes, so that the later revision's
``/{module}/schedules/bulk/...`` is not read as an account id.
"""

from __future__ import annotations

from typing import Any

from fastapi import Body, Depends, Query
from pydantic import BaseModel, create_model

from orchestrator.emulator.context import Ctx, Paging, paging
from orchestrator.emulator.envelope import JSON, Open, ok, ok_data, ok_page, responds
from orchestrator.emulator.modules.automation import Automation
from orchestrator.emulator.modules.schedule_models import (
    BulkBody,
    BulkOut,
    RemovedOut,
    SettingsUpdatedOut,
    TargetBody,
    TargetMatch,
    TargetOut,
    TargetsOut,
    TargetTypesOut,
    as_text,
)
from orchestrator.emulator.routing import ModuleRouter

BULK_DONE = {"activate": "activated", "pause": "paused", "stop": "stopped"}


def add_schedule_routes(
    router: ModuleRouter,
    spec: Automation,
    gate: Any,
    *,
    schedule_model: type[BaseModel],
    settings_model: type[BaseModel],
    bulk_ops: tuple[str, ...],
) -> None:
    base = f"/{spec.name}"
    settings_out = create_model(
        f"{settings_model.__name__}Out", __base__=Open, account_id=(int, ...), settings=(settings_model, ...)
    )

    # -- settings ---------------------------------------------------------------------------
    @router.get(f"{base}/schedules/{{account_id}}/settings", **responds(settings_out))
    async def get_settings(account_id: int, ctx: Ctx = gate) -> JSON:
        doc = spec.schedule(ctx, account_id)
        return ok_data(b'{"account_id":%d,"settings":%s}' % (account_id, spec.settings_json(doc)))

    @router.patch(
        f"{base}/schedules/{{account_id}}/settings",
        **responds(SettingsUpdatedOut),
        openapi_extra=spec.settings.request_body_doc(),
    )
    async def patch_settings(account_id: int, body: dict[str, Any] = Body(...), ctx: Ctx = gate) -> JSON:
        doc = spec.schedule(ctx, account_id)
        fields = spec.patch_settings(ctx, doc, body)
        return ok({"account_id": account_id, "updated_fields": fields}, "Settings updated.")

    # -- bulk (both the reference's and the later revision's paths) ----------------------------
    for op in bulk_ops:
        _add_bulk(router, spec, gate, op)

    # -- schedules ----------------------------------------------------------------------------
    @router.get(f"{base}/schedules", **responds(schedule_model, paged=True))
    async def list_schedules(
        is_active: bool | None = Query(None, description="only active (true) or paused (false) ones"),
        page: Paging = Depends(paging),
        ctx: Ctx = gate,
    ) -> JSON:
        items, total = spec.list_schedules(ctx, page, is_active)
        return ok_page(items, total, page.page, page.per_page)

    @router.get(f"{base}/schedules/{{account_id}}", **responds(schedule_model))
    async def get_schedule(account_id: int, ctx: Ctx = gate) -> JSON:
        return ok(spec.public(spec.schedule(ctx, account_id)))

    @router.post(f"{base}/schedules/{{account_id}}/activate", **responds(schedule_model))
    async def activate(account_id: int, ctx: Ctx = gate) -> JSON:
        doc = spec.set_active(ctx, spec.schedule(ctx, account_id), True)
        return ok(spec.public(doc), "Schedule activated.")

    @router.post(f"{base}/schedules/{{account_id}}/pause", **responds(schedule_model))
    async def pause(account_id: int, ctx: Ctx = gate) -> JSON:
        doc = spec.set_active(ctx, spec.schedule(ctx, account_id), False)
        return ok(spec.public(doc), "Schedule paused.")

    # -- targets ------------------------------------------------------------------------------
    @router.get(f"{base}/targets/types", **responds(TargetTypesOut))
    async def target_types(ctx: Ctx = gate) -> JSON:
        types = [t.public() for t in spec.target_types.values()]
        return ok({"types": types, "total": len(types)})

    @router.get(f"{base}/schedules/{{account_id}}/targets", **responds(TargetsOut))
    async def list_targets(account_id: int, ctx: Ctx = gate) -> JSON:
        targets = spec.schedule(ctx, account_id)["targets"]
        return ok({"targets": targets, "total": len(targets)})

    @router.post(f"{base}/schedules/{{account_id}}/targets", **responds(TargetOut, status=201))
    async def add_target(account_id: int, body: TargetBody, ctx: Ctx = gate) -> JSON:
        doc = spec.schedule(ctx, account_id)
        target = spec.add_target(ctx, doc, body.type, as_text(body.value), as_text(body.id))
        return ok(target, "Target added.", 201)

    @router.delete(f"{base}/schedules/{{account_id}}/targets", **responds(RemovedOut))
    async def remove_matching_targets(account_id: int, body: TargetMatch, ctx: Ctx = gate) -> JSON:
        doc = spec.schedule(ctx, account_id)
        out = spec.remove_matching(ctx, doc, body.type, as_text(body.value), as_text(body.id))
        return ok(out, f"{out['removed']} targets removed.")

    @router.delete(f"{base}/schedules/{{account_id}}/targets/{{target_id}}", **responds(RemovedOut))
    async def remove_target(account_id: int, target_id: int, ctx: Ctx = gate) -> JSON:
        out = spec.remove_target(ctx, spec.schedule(ctx, account_id), target_id)
        return ok(out, "Target removed.")


def _add_bulk(router: ModuleRouter, spec: Automation, gate: Any, op: str) -> None:
    async def bulk(body: BulkBody | None = None, ctx: Ctx = gate) -> JSON:
        out = spec.bulk(ctx, op, body.account_ids if body else None)
        return ok(out, f"{out['affected']} schedules {BULK_DONE[op]}.")

    bulk.__name__ = f"bulk_{op}"
    for path in (f"/{spec.name}/bulk/{op}", f"/{spec.name}/schedules/bulk/{op}"):
        router.post(path, **responds(BulkOut))(bulk)
