"""HTTP for Accounts and Account Actions: parse, call the model, wrap in the envelope."""

from __future__ import annotations

from fastapi import Depends
from pydantic import BaseModel, Field

from orchestrator.emulator.context import Ctx, Paging, auth, paging
from orchestrator.emulator.envelope import JSON, Open, ok, paged, responds
from orchestrator.emulator.modules.accounts import models
from orchestrator.emulator.routing import ModuleRouter

router = ModuleRouter(module=None, tag="Accounts")
core = Depends(auth(None))


class AccountOut(Open):
    id: int
    username: str
    full_name: str | None
    platform: str
    is_active: bool
    login_required: bool
    is_slave: bool
    proxy: str | None
    is_private: bool
    date: str


class AccountStats(Open):
    account_id: int
    followers: int
    following: int
    posts: int


class AccountRef(Open):
    account_id: int


class ProxyOut(Open):
    account_id: int
    proxy: str


class PrivacyOut(Open):
    account_id: int
    is_private: bool


class LoginActivity(Open):
    account_id: int
    items: list[dict[str, str]]
    total: int


class BackupCodes(Open):
    backup_codes: list[str]


class BulkProxyOut(Open):
    updated: int
    results: list[ProxyOut]
    skipped: list[int]


class BulkPasswordOut(Open):
    updated: int
    skipped: list[int]


class ChangeProxyBody(BaseModel):
    proxy: str | None = Field(None, description="a proxy to assign; omitted: allocate from the pool")


class BulkProxyBody(BaseModel):
    account_ids: list[int] = Field(..., min_length=1)
    proxy: str | None = None


class PasswordBody(BaseModel):
    password: str = Field(..., min_length=6, max_length=128)


class AccountPassword(BaseModel):
    account_id: int
    password: str = Field(..., min_length=6, max_length=128)


class BulkPasswordBody(BaseModel):
    accounts: list[AccountPassword] = Field(..., min_length=1)


@router.get("/accounts", **responds(AccountOut, paged=True))
async def list_accounts(platform: str | None = None, page: Paging = Depends(paging), ctx: Ctx = core) -> JSON:
    items, total = models.list_accounts(ctx, page, platform)
    return ok(paged([models.public(d) for d in items], total, page.page, page.per_page))


@router.post("/accounts/change-proxy/bulk", **responds(BulkProxyOut))
async def bulk_change_proxy(body: BulkProxyBody, ctx: Ctx = core) -> JSON:
    docs, skipped = models.owned_or_skipped(ctx, body.account_ids)
    with ctx.store.transaction():
        results = [{"account_id": d["id"], "proxy": models.change_proxy(ctx, d, body.proxy)} for d in docs]
    return ok({"updated": len(results), "results": results, "skipped": skipped})


@router.post("/accounts/password/bulk", **responds(BulkPasswordOut))
async def bulk_password(body: BulkPasswordBody, ctx: Ctx = core) -> JSON:
    docs, skipped = models.owned_or_skipped(ctx, [a.account_id for a in body.accounts])
    passwords = {a.account_id: a.password for a in body.accounts}
    with ctx.store.transaction():
        for d in docs:
            models.set_password(ctx, d, passwords[d["id"]])
    return ok({"updated": len(docs), "skipped": skipped}, "Passwords updated.")


@router.get("/accounts/{id}", **responds(AccountOut))
async def get_account(id: int, ctx: Ctx = core) -> JSON:
    return ok(models.public(ctx.account(id)))


@router.get("/accounts/{id}/stats", **responds(AccountStats))
async def account_stats(id: int, ctx: Ctx = core) -> JSON:
    return ok(models.stats(ctx.account(id)))


@router.post("/accounts/{id}/refresh-cookies", **responds(AccountRef))
async def refresh_cookies(id: int, ctx: Ctx = core) -> JSON:
    models.refresh_cookies(ctx, ctx.account(id))
    return ok({"account_id": id}, "Cookies refreshed.")


@router.get("/accounts/{id}/login-activity", **responds(LoginActivity))
async def login_activity(id: int, ctx: Ctx = core) -> JSON:
    items = ctx.account(id)["login_activity"]
    return ok({"account_id": id, "items": items, "total": len(items)})


@router.post("/accounts/{id}/change-proxy", **responds(ProxyOut))
async def change_proxy(id: int, body: ChangeProxyBody | None = None, ctx: Ctx = core) -> JSON:
    proxy = models.change_proxy(ctx, ctx.account(id), body.proxy if body else None)
    return ok({"account_id": id, "proxy": proxy}, "Proxy updated.")


@router.post("/accounts/{id}/set-public", **responds(PrivacyOut))
async def set_public(id: int, ctx: Ctx = core) -> JSON:
    models.set_private(ctx, ctx.account(id), False)
    return ok({"account_id": id, "is_private": False}, "Account set to public.")


@router.post("/accounts/{id}/set-private", **responds(PrivacyOut))
async def set_private(id: int, ctx: Ctx = core) -> JSON:
    models.set_private(ctx, ctx.account(id), True)
    return ok({"account_id": id, "is_private": True}, "Account set to private.")


@router.get("/accounts/{id}/2fa-backup", **responds(BackupCodes))
async def backup_codes(id: int, ctx: Ctx = core) -> JSON:
    return ok({"backup_codes": ctx.account(id)["backup_codes"]})


@router.delete("/accounts/{id}/options", **responds(AccountRef))
async def reset_options(id: int, ctx: Ctx = core) -> JSON:
    models.reset_options(ctx, ctx.account(id))
    return ok({"account_id": id}, "Account options reset.")


@router.post("/accounts/{id}/password", **responds(AccountRef))
async def change_password(id: int, body: PasswordBody, ctx: Ctx = core) -> JSON:
    models.set_password(ctx, ctx.account(id), body.password)
    return ok({"account_id": id}, "Password updated.")
