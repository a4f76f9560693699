"""HTTP for Posts: parse, call the model, wrap in the envelope."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from orchestrator.emulator.context import Ctx, Paging, auth, paging
from orchestrator.emulator.envelope import JSON, Open, created, ok, paged, responds
from orchestrator.emulator.modules.media import models as media
from orchestrator.emulator.modules.posts import models
from orchestrator.emulator.routing import ModuleRouter

router = ModuleRouter(module=None, tag="Posts")
core = Depends(auth(None))

PostType = Literal["photo", "video", "album", "carousel", "story", "reels", "reel"]
Status = Literal["saved", "scheduled", "publishing", "published", "failed"]
# Instagram's caption limit; trimmed as a PHP form handler would.
Caption = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2200)]
MediaIds = str | int | list[int]
# Larger ids cannot exist (SQLite's integer range) and would not fit a query parameter.
AccountId = Annotated[int, Field(le=media.MAX_ID)]


class PostOut(Open):
    id: int
    account_id: int
    status: Status
    type: str
    caption: str
    first_comment: str | None = None
    media_ids: str
    is_scheduled: bool
    schedule_date: str | None
    publish_date: str | None
    date: str
    reason: str | None
    instagram_code: str | None


class Deleted(Open):
    id: int


class PostBody(BaseModel):
    account_id: AccountId
    caption: Caption | None = None
    first_comment: Caption | None = Field(None, description="posted as the first comment once published")
    type: PostType | None = Field(
        None, description="inferred from the media when omitted; carousel = album, reel = reels"
    )
    media_ids: MediaIds | None = Field(None, description='comma-separated ids of your files, e.g. "42,43"')
    is_scheduled: bool = False
    schedule_date: str | None = Field(None, description="YYYY-MM-DD HH:MM:SS (UTC)")


class PostPatch(BaseModel):
    """Only the fields to change; unknown or read-only fields (account_id, status) are refused."""

    model_config = ConfigDict(extra="forbid")

    caption: Caption | None = None
    first_comment: Caption | None = None
    type: PostType | None = None
    media_ids: MediaIds | None = None
    is_scheduled: bool | None = None
    schedule_date: str | None = None

    def changes(self) -> dict[str, Any]:
        # null means "not given", as for an omitted field
        return {k: v for k, v in self.model_dump(exclude_unset=True).items() if v is not None}


@router.get("/posts", **responds(PostOut, paged=True))
async def list_posts(
    status: Status | None = Query(None, description="only posts in this status"),
    account_id: AccountId | None = Query(None, description="only posts of this account"),
    page: Paging = Depends(paging),
    ctx: Ctx = core,
) -> JSON:
    items, total = models.list_posts(ctx, page, status, account_id)
    return ok(paged([models.public(d) for d in items], total, page.page, page.per_page))


@router.post("/posts", **responds(PostOut, status=201))
async def create_post(body: PostBody, ctx: Ctx = core) -> JSON:
    doc = models.create(ctx, body.model_dump())
    message = "Post scheduled." if doc["status"] == "scheduled" else "Post saved."
    return created(models.public(doc), message)


@router.get("/posts/{id}", **responds(PostOut))
async def get_post(id: int, ctx: Ctx = core) -> JSON:
    return ok(models.public(ctx.owned(models.TABLE, id, "Post")))


@router.patch("/posts/{id}", **responds(PostOut))
async def update_post(id: int, body: PostPatch, ctx: Ctx = core) -> JSON:
    doc = models.update(ctx, ctx.owned(models.TABLE, id, "Post"), body.changes())
    return ok(models.public(doc), "Post updated.")


@router.delete("/posts/{id}", **responds(Deleted))
async def delete_post(id: int, ctx: Ctx = core) -> JSON:
    models.delete(ctx, ctx.owned(models.TABLE, id, "Post"))
    return ok({"id": id}, "Post deleted.")
