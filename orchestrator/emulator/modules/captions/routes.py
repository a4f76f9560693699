"""HTTP for the caption library: parse, call the model, wrap in the envelope."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel, ConfigDict, StringConstraints

from orchestrator.emulator.context import Ctx, Paging, auth, paging
from orchestrator.emulator.envelope import JSON, Open, created, ok, paged, responds
from orchestrator.emulator.errors import ValidationFailed
from orchestrator.emulator.modules.captions import models
from orchestrator.emulator.routing import ModuleRouter

router = ModuleRouter(module=None, tag="Captions")
core = Depends(auth(None))

# Trimmed as a PHP form handler would; a blank value is invalid (422), not missing (400).
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]
# 2,200 characters is Instagram's caption limit: a longer template could never be posted.
CaptionText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2200)]


class CaptionOut(Open):
    id: int
    title: str
    caption: str
    date: str


class Deleted(Open):
    id: int


class CaptionBody(BaseModel):
    title: Title
    caption: CaptionText


class CaptionPatch(BaseModel):
    """Only the fields to change; unknown or read-only fields are refused (422)."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    caption: CaptionText | None = None

    def changes(self) -> dict[str, str]:
        found = {k: v for k, v in self.model_dump().items() if v is not None}
        if not found:
            raise ValidationFailed({"body": "Nothing to update: give title and/or caption"})
        return found


@router.get("/captions", **responds(CaptionOut, paged=True))
async def list_captions(
    search: str | None = Query(None, description="case-insensitive match on title or caption"),
    page: Paging = Depends(paging),
    ctx: Ctx = core,
) -> JSON:
    items, total = models.list_captions(ctx, page, search)
    return ok(paged([models.public(d) for d in items], total, page.page, page.per_page))


@router.get("/captions/{id}", **responds(CaptionOut))
async def get_caption(id: int, ctx: Ctx = core) -> JSON:
    return ok(models.public(ctx.owned(models.TABLE, id, "Caption")))


@router.post("/captions", **responds(CaptionOut, status=201))
async def create_caption(body: CaptionBody, ctx: Ctx = core) -> JSON:
    doc = models.create(ctx, body.title, body.caption)
    return created(models.public(doc), "Caption created.")


@router.patch("/captions/{id}", **responds(CaptionOut))
async def update_caption(id: int, body: CaptionPatch, ctx: Ctx = core) -> JSON:
    doc = ctx.owned(models.TABLE, id, "Caption")
    return ok(models.public(models.update(ctx, doc, body.changes())), "Caption updated.")


@router.delete("/captions/{id}", **responds(Deleted))
async def delete_caption(id: int, ctx: Ctx = core) -> JSON:
    models.delete(ctx, ctx.owned(models.TABLE, id, "Caption"))
    return ok({"id": id}, "Caption deleted.")
