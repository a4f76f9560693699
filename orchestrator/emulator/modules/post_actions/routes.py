"""HTTP for Post Actions: parse, call the model, wrap in the module's own ``{"success": true}`` envelope."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Depends
from pydantic import BaseModel, Field, RootModel

from orchestrator.emulator.context import Ctx, Paging, auth, paging
from orchestrator.emulator.envelope import JSON, Open, paged, post_actions_ok, responds
from orchestrator.emulator.modules.post_actions import models
from orchestrator.emulator.routing import ModuleRouter

router = ModuleRouter(module=models.MODULE, tag="Post Actions")
gate = Depends(auth(models.MODULE))

Action = Literal["like", "comment", "follow"]


class PostActionType(Open):
    action: str
    description: str
    required_fields: list[str]
    optional_fields: list[str]


class PostActionTypes(RootModel[list[PostActionType]]):
    pass


class PostActionJob(Open):
    id: int
    post_url: str
    target_username: str | None
    action: str
    count: int
    comment_text: str | None
    status: str
    performed_count: int | None
    scheduled_at: str
    started_at: str | None
    finished_at: str | None
    created_at: str


class PostActionResult(Open):
    account_id: int
    username: str
    status: str
    reason: str | None = None
    comment_text: str | None = None


class PostActionLogDetails(Open):
    results: list[PostActionResult]


class PostActionLog(Open):
    id: int
    schedule_id: int
    post_url: str
    action: str
    requested_count: int
    performed_count: int
    status: str
    message: str
    details: PostActionLogDetails
    started_at: str
    finished_at: str


class PostActionJobLogs(RootModel[list[PostActionLog]]):
    pass


class PostActionUsage(Open):
    id: int
    post_url: str
    action: str
    used_count: int
    account_ids: list[int]
    first_used_at: str
    last_used_at: str


# Explicit page models: the core names a "success"-style envelope after its model alone, so
# ``responds(Job, paged=True, style="success")`` would collide with the single job's envelope.
class PostActionJobPage(Open):
    items: list[PostActionJob]
    total: int
    page: int
    per_page: int


class PostActionLogPage(Open):
    items: list[PostActionLog]
    total: int
    page: int
    per_page: int


class PostActionUsagePage(Open):
    items: list[PostActionUsage]
    total: int
    page: int
    per_page: int


class PostActionJobBody(BaseModel):
    action: Action = Field(..., description="like | comment | follow")
    count: int = Field(..., ge=1, le=models.MAX_COUNT, description="number of accounts to act (1..10,000)")
    post_url: str | None = Field(
        None, description="Instagram post URL (/p/, /reel/, /tv/); required for like and comment; "
        "for follow a post or profile URL")
    target_username: str | None = Field(None, description="follow only: the username to follow (overrides post_url)")
    comment_text: str | None = Field(None, max_length=models.MAX_COMMENT,
                                     description="comment only (required there); supports spintax {a|b}")


def _page(items: list[dict[str, Any]], total: int, page: Paging) -> dict[str, Any]:
    return paged(items, total, page.page, page.per_page)


@router.get("/post-actions/actions", **responds(PostActionTypes, style="success"))
async def list_actions(ctx: Ctx = gate) -> JSON:
    return post_actions_ok([dict(a) for a in models.ACTION_INFO])


@router.post("/post-actions/jobs", **responds(PostActionJob, status=201, style="success"))
async def create_job(body: PostActionJobBody, ctx: Ctx = gate) -> JSON:
    job = models.create_job(ctx, body.action, body.count, body.post_url, body.target_username, body.comment_text)
    return post_actions_ok(models.public_job(job), status=201)


@router.get("/post-actions/jobs", **responds(PostActionJobPage, style="success"))
async def list_jobs(status: str | None = None, page: Paging = Depends(paging), ctx: Ctx = gate) -> JSON:
    items, total = models.list_jobs(ctx, page, status)
    return post_actions_ok(_page([models.public_job(j) for j in items], total, page))


@router.get("/post-actions/jobs/{id}", **responds(PostActionJob, style="success"))
async def get_job(id: int, ctx: Ctx = gate) -> JSON:
    return post_actions_ok(models.public_job(ctx.owned(models.JOBS, id, "Job")))


@router.delete("/post-actions/jobs/{id}", **responds(PostActionJob, style="success"))
async def cancel_job(id: int, ctx: Ctx = gate) -> JSON:
    job = models.cancel_job(ctx, ctx.owned(models.JOBS, id, "Job"))
    return post_actions_ok(models.public_job(job))


@router.get("/post-actions/logs", **responds(PostActionLogPage, style="success"))
async def list_logs(post_url: str | None = None, action: str | None = None,
                    page: Paging = Depends(paging), ctx: Ctx = gate) -> JSON:
    items, total = models.list_logs(ctx, page, post_url, action)
    return post_actions_ok(_page([models.public_log(d) for d in items], total, page))


@router.get("/post-actions/logs/{id}", **responds(PostActionJobLogs, style="success"))
async def job_logs(id: int, ctx: Ctx = gate) -> JSON:
    """Per-account logs of job ``id``: an array, as the reference's example shows."""
    job = ctx.owned(models.JOBS, id, "Job")
    return post_actions_ok([models.public_log(d) for d in models.job_logs(ctx, job)])


@router.get("/post-actions/usage", **responds(PostActionUsagePage, style="success"))
async def list_usage(post_url: str | None = None, action: str | None = None,
                     page: Paging = Depends(paging), ctx: Ctx = gate) -> JSON:
    items, total = models.list_usage(ctx, page, post_url, action)
    return post_actions_ok(_page([models.public_usage(d) for d in items], total, page))
