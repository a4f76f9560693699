"""HTTP for API keys (the later revision; core, no module gate)."""

from __future__ import annotations

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field

from orchestrator.emulator.auth import hash_key, presented_key
from orchestrator.emulator.context import Ctx, Paging, auth, paging
from orchestrator.emulator.envelope import JSON, Open, created, ok, paged, responds
from orchestrator.emulator.modules.keys import models
from orchestrator.emulator.routing import ModuleRouter

router = ModuleRouter(module=None, tag="API keys")
core = Depends(auth(None))


class KeyOut(Open):
    id: int
    name: str
    prefix: str | None
    is_active: bool
    date: str | None
    revoked_at: str | None


class GeneratedKey(KeyOut):
    key: str


class GenerateBody(BaseModel):
    name: str = Field("", max_length=models.NAME_MAX, description="a label to recognise the key by")


class RevokeBody(BaseModel):
    key_id: int | None = Field(None, description="the id of one of your keys, from GET /keys; "
                                                 "omitted (or no body): the key making this request")


@router.get("/keys", **responds(KeyOut, paged=True))
async def list_keys(
    is_active: bool | None = Query(None, description="only active (true) or revoked (false) keys"),
    page: Paging = Depends(paging),
    ctx: Ctx = core,
) -> JSON:
    docs, total = models.list_keys(ctx, page, is_active)
    return ok(paged([models.public(d) for d in docs], total, page.page, page.per_page))


@router.post("/keys/generate", **responds(GeneratedKey, status=201))
async def generate_key(body: GenerateBody | None = None, ctx: Ctx = core) -> JSON:
    doc, key = models.generate(ctx, body.name if body else "")
    return created({**models.public(doc), "key": key}, "Key generated: store it now, it is shown only once.")


@router.post("/keys/revoke", **responds(KeyOut))
async def revoke_key(request: Request, body: RevokeBody | None = None, ctx: Ctx = core) -> JSON:
    """Revoke one of your keys by ``key_id``; without one (no body, as third-party clients send
    it) the key making this request, which answers 401 from the next request on."""
    presented = hash_key(presented_key(request.headers))
    if body is None or body.key_id is None:
        doc = models.revoke_presented(ctx, presented)
    else:
        doc = models.revoke(ctx, body.key_id, presented)
    return ok(models.public(doc), "Key revoked.")
