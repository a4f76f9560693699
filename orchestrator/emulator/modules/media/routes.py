"""HTTP for Media Upload: parse, call the model, wrap in the envelope."""

from __future__ import annotations

from fastapi import Depends, File, Request, UploadFile

from orchestrator.emulator.context import Ctx, Paging, auth, paging
from orchestrator.emulator.envelope import JSON, Open, created, ok, paged, responds
from orchestrator.emulator.modules.media import models
from orchestrator.emulator.routing import ModuleRouter

router = ModuleRouter(module=None, tag="Media Upload")
core = Depends(auth(None))
CHUNK = 1024 * 1024


class MediaOut(Open):
    id: int
    name: str
    filename: str
    extension: str
    type: str
    filesize: int
    url: str
    date: str


class Deleted(Open):
    id: int


async def measure(upload: UploadFile) -> int:
    """The upload's size in bytes, read in chunks so no whole file is held at once."""
    size = 0
    while chunk := await upload.read(CHUNK):
        size += len(chunk)
    return size


def base_url(request: Request) -> str:
    return str(request.base_url)


@router.get("/media", **responds(MediaOut, paged=True))
async def list_media(request: Request, page: Paging = Depends(paging), ctx: Ctx = core) -> JSON:
    items, total = models.list_media(ctx, page)
    base = base_url(request)
    return ok(paged([models.public(d, base) for d in items], total, page.page, page.per_page))


@router.post("/media", **responds(MediaOut, status=201))
async def upload_media(
    request: Request,
    file: UploadFile = File(..., description="jpg, jpeg, png, gif, mp4 (+ mov, m4v, mpg with video processing)"),
    ctx: Ctx = core,
) -> JSON:
    # Measure before touching the store: the await may yield, the model call below does not.
    size = await measure(file)
    doc = models.upload(ctx, file.filename or "", size)
    return created(models.public(doc, base_url(request)), "File uploaded.")


@router.get("/media/{id}", **responds(MediaOut))
async def get_media(id: int, request: Request, ctx: Ctx = core) -> JSON:
    return ok(models.public(ctx.owned(models.TABLE, id, "Media"), base_url(request)))


@router.delete("/media/{id}", **responds(Deleted))
async def delete_media(id: int, ctx: Ctx = core) -> JSON:
    models.delete(ctx, ctx.owned(models.TABLE, id, "Media"))
    return ok({"id": id}, "File deleted.")
