"""HTTP for First Comment: parse, call the model, wrap in the envelope."""

from __future__ import annotations

from fastapi import Depends
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from orchestrator.emulator.context import Ctx, Paging, auth, paging
from orchestrator.emulator.envelope import JSON, Open, created, ok, ok_page, paged, responds
from orchestrator.emulator.modules.first_comment import models
from orchestrator.emulator.routing import ModuleRouter

router = ModuleRouter(module=models.MODULE, tag="First Comment")
gate = Depends(auth(models.MODULE))


class FirstCommentTarget(Open):
    username: str
    user_pk: str


class FirstCommentSchedule(Open):
    id: int
    account_id: int
    is_active: bool
    running: bool
    comment_mode: models.CommentMode
    targets: list[FirstCommentTarget]
    comments: list[str]
    schedule_date: str | None
    last_action_date: str | None


class FirstCommentLog(Open):
    id: int
    account_id: int
    schedule_id: int | None
    status: models.LogStatus
    target_username: str | None
    post_code: str | None
    comment_text: str | None
    message: str | None
    date: str


class FirstCommentDeleted(Open):
    id: int


class FirstCommentTargetIn(BaseModel):
    username: str = Field(..., description="Instagram username to watch (a leading @ is dropped)")
    user_pk: StrictStr | StrictInt | None = Field(
        None, description="numeric user id; looked up from the username when omitted")


class FirstCommentCreate(BaseModel):
    account_id: int
    targets: list[FirstCommentTargetIn] = Field(..., description="non-empty, no duplicates")
    comments: list[str] = Field(..., description="non-empty strings; spintax {a|b} allowed")
    comment_mode: models.CommentMode = "random"
    is_active: bool = True


class FirstCommentUpdate(BaseModel):
    """Only these fields may change; any other field answers 422."""

    model_config = ConfigDict(extra="forbid")

    targets: list[FirstCommentTargetIn] | None = None
    comments: list[str] | None = None
    is_active: bool | None = None
    comment_mode: models.CommentMode | None = None


@router.get("/first-comment/schedules", **responds(FirstCommentSchedule, paged=True))
async def list_schedules(account_id: int | None = None, page: Paging = Depends(paging),
                         ctx: Ctx = gate) -> JSON:
    items, total = models.list_schedules(ctx, page, account_id)
    return ok_page(items, total, page.page, page.per_page)


@router.post("/first-comment/schedules", **responds(FirstCommentSchedule, status=201))
async def create_schedule(body: FirstCommentCreate, ctx: Ctx = gate) -> JSON:
    account = ctx.account(body.account_id)
    schedule = models.create_schedule(ctx, account, body.model_dump(exclude={"account_id"}))
    return created(models.public_schedule(schedule), "Schedule created.")


@router.get("/first-comment/schedules/{id}", **responds(FirstCommentSchedule))
async def get_schedule(id: int, ctx: Ctx = gate) -> JSON:
    return ok(models.public_schedule(models.get_schedule(ctx, id)))


@router.patch("/first-comment/schedules/{id}", **responds(FirstCommentSchedule))
async def update_schedule(id: int, body: FirstCommentUpdate, ctx: Ctx = gate) -> JSON:
    schedule = models.get_schedule(ctx, id)
    schedule = models.update_schedule(ctx, schedule, body.model_dump(exclude_unset=True))
    return ok(models.public_schedule(schedule), "Schedule updated.")


@router.delete("/first-comment/schedules/{id}", **responds(FirstCommentDeleted))
async def delete_schedule(id: int, ctx: Ctx = gate) -> JSON:
    models.delete_schedule(ctx, models.get_schedule(ctx, id))
    return ok({"id": id}, "Schedule deleted.")


@router.post("/first-comment/schedules/{id}/activate", **responds(FirstCommentSchedule))
async def activate(id: int, ctx: Ctx = gate) -> JSON:
    schedule = models.set_active(ctx, models.get_schedule(ctx, id), True)
    return ok(models.public_schedule(schedule), "Schedule activated.")


@router.post("/first-comment/schedules/{id}/pause", **responds(FirstCommentSchedule))
async def pause(id: int, ctx: Ctx = gate) -> JSON:
    schedule = models.set_active(ctx, models.get_schedule(ctx, id), False)
    return ok(models.public_schedule(schedule), "Schedule paused.")


@router.get("/first-comment/logs", **responds(FirstCommentLog, paged=True))
async def list_logs(status: models.LogStatus | None = None, page: Paging = Depends(paging),
                    ctx: Ctx = gate) -> JSON:
    items, total = models.list_logs(ctx, page, status)
    return ok(paged([models.public_log(d) for d in items], total, page.page, page.per_page))


@router.get("/first-comment/logs/{account_id}", **responds(FirstCommentLog, paged=True))
async def account_logs(account_id: int, status: models.LogStatus | None = None,
                       page: Paging = Depends(paging), ctx: Ctx = gate) -> JSON:
    ctx.account(account_id)
    items, total = models.list_logs(ctx, page, status, account_id)
    return ok(paged([models.public_log(d) for d in items], total, page.page, page.per_page))
