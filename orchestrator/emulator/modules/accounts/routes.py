"""HTTP for Accounts and Account Actions: parse, call the model, wrap in the envelope."""

from __future__ import annotations

from typing import Any

from fastapi import Body, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.emulator.context import Ctx, Paging, auth, paging
from orchestrator.emulator.envelope import JSON, Open, created, envelope_of, ok, ok_page, responds
from orchestrator.emulator.errors import BadRequest, ValidationFailed
from orchestrator.emulator.modules.accounts import credentials, models
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
    last_login: str | None = None


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


# -- the later revision's account lifecycle: bodies and answers ------------------------
USERNAME = r"^[A-Za-z0-9._]{1,30}$"  # Instagram's username alphabet and length


class AddAccountBody(BaseModel):
    username: str = Field(..., pattern=USERNAME)
    password: str = Field(..., min_length=6, max_length=128, description="write-only: never returned")
    proxy: str | None = Field(None, description="[scheme://][user:pass@]host:port; omitted: none")


class LoginCredentials(BaseModel):
    """What a login may bring besides the password (``credentials.py``): write-only."""

    # Other unknown fields are ignored, as on every create; an unknown ``imap_*`` is 422.
    model_config = ConfigDict(extra="allow")

    twofa_secret: str | None = Field(None, description="base32 TOTP secret: the server answers two-factor "
                                                       "itself (write-only)")
    imap_host: str | None = Field(None, description="the account's mailbox, for auto_imap (alias imap_server)")
    imap_server: str | None = Field(None, description="alias of imap_host")
    imap_port: int | None = Field(None, description="default 993 (143 with imap_ssl false)")
    imap_username: str | None = Field(None, description="the mailbox login (alias imap_email)")
    imap_email: str | None = Field(None, description="alias of imap_username")
    imap_password: str | None = Field(None, description="write-only: never returned")
    imap_ssl: bool | None = Field(None, description="IMAPS (default true)")


class LoginBody(LoginCredentials):
    account_id: int | None = Field(None, description="the account to log in; or give username")
    username: str | None = Field(None, pattern=USERNAME,
                                 description="log in (adding when new) the caller's account of this name")
    password: str | None = Field(None, min_length=6, max_length=128,
                                 description="checked against the stored password when given; "
                                             "required with username")
    proxy: str | None = Field(None, description="[scheme://][user:pass@]host:port: replaces the account's")


class ChallengeBody(BaseModel):
    account_id: int | None = Field(None, description="the account whose challenge this answers; "
                                                     "or give challenge_token")
    challenge_token: str | None = Field(None, max_length=128,
                                        description="the token the login answer gave")
    code: str | None = Field(
        None, max_length=16, description="the code Instagram sent; omitted: ask whether one is pending"
    )
    auto_imap: bool = Field(False, description="without a code: the server reads it from the mailbox "
                                               "the login stored")


class ChallengeOut(Open):
    account_id: int
    status: str
    method: str | None
    attempts_left: int
    challenge_token: str | None = None


class ChallengePending(Open):
    account_id: int
    challenge_token: str | None = None
    challenge: ChallengeOut
    created: bool | None = None


class AddedAccount(AccountOut):
    challenge: ChallengeOut


class AccountDeleted(Open):
    account_id: int
    deleted: bool
    schedules_removed: int


def _pending(doc: dict[str, Any], **extra: Any) -> JSON:
    view = models.challenge_view(doc)
    return ok({"account_id": doc["id"], "challenge_token": view["challenge_token"], "challenge": view, **extra},
              "Login challenge pending: send the code with POST /accounts/challenge", 202)


ACCEPTED = {
    202: {"model": envelope_of(ChallengePending), "description": "A login challenge is pending: try again later"}
}


@router.get("/accounts", **responds(AccountOut, paged=True))
async def list_accounts(
    platform: str | None = None,
    search: str | None = Query(None, description="case-insensitive part of the username or full name"),
    login_required: bool | None = Query(None, description="only accounts that need (true) or do not need a new login"),
    is_slave: bool | None = Query(None, description="only slave (true) or main (false) accounts"),
    is_active: bool | None = Query(None, description="only active (true) or inactive (false) accounts"),
    page: Paging = Depends(paging),
    ctx: Ctx = core,
) -> JSON:
    items, total = models.list_accounts(ctx, page, platform, search=search, login_required=login_required,
                                        is_slave=is_slave, is_active=is_active)
    return ok_page(items, total, page.page, page.per_page)


@router.post("/accounts", **responds(AddedAccount, status=201))
async def add_account(body: AddAccountBody, ctx: Ctx = core) -> JSON:
    doc = models.add_account(ctx, body.username, body.password, body.proxy)
    return created({**models.public(doc), "challenge": models.challenge_view(doc)},
                   "Account added: complete its login challenge with POST /accounts/challenge")


def _with_accepted(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {**kwargs, "responses": {**kwargs["responses"], **ACCEPTED}}


@router.post("/accounts/login", **_with_accepted(responds(AccountOut)))
async def login(body: LoginBody, ctx: Ctx = core) -> JSON:
    """Log an account in: by ``account_id`` (the later revision), or by ``username`` with its
    ``password`` (third-party clients), which adds the account when the caller has none of
    that name. 202 with a ``challenge_token`` while a challenge waits; 201 when the login
    added the account and logged it in at once (a two-factor secret); else 200."""
    creds = credentials.parse(body.model_dump(exclude_none=True))
    if body.account_id is not None:
        doc = ctx.account(body.account_id)
        if body.username is not None and body.username != doc["username"]:
            raise ValidationFailed({"username": "Does not match the account named by account_id"})
        if not models.login(ctx, doc, body.password, creds, body.proxy):
            return _pending(doc, created=False)
        return ok(models.public(doc), "Logged in.")
    if body.username is None:
        raise BadRequest("Missing required field: account_id",
                         errors={"account_id": ["This field is required (or username and password)."]})
    if body.password is None:
        raise BadRequest("Missing required field: password", errors={"password": ["This field is required."]})
    doc, added, logged_in = models.login_by_username(ctx, body.username, body.password, body.proxy, creds)
    if not logged_in:
        return _pending(doc, created=added)
    if added:
        return created(models.public(doc), "Account added and logged in.")
    return ok(models.public(doc), "Logged in.")


@router.post("/accounts/challenge", **_with_accepted(responds(AccountOut)))
async def challenge(body: ChallengeBody, ctx: Ctx = core) -> JSON:
    """Answer a pending login challenge, named by ``account_id`` or by the ``challenge_token``
    the login answer gave: with its ``code``, or ``auto_imap`` to have the server read the code
    from the mailbox the login stored. Without either: 202 while it waits."""
    if body.challenge_token is not None:
        doc = models.by_challenge_token(ctx, body.challenge_token)
        if body.account_id is not None and body.account_id != doc["id"]:
            raise ValidationFailed({"challenge_token": "Belongs to another account than account_id"})
        named_by = "challenge_token"
    elif body.account_id is not None:
        doc, named_by = ctx.account(body.account_id), "account_id"
    else:
        raise BadRequest("Missing required field: account_id",
                         errors={"account_id": ["This field is required (or challenge_token)."]})
    if not models.answer_challenge(ctx, doc, body.code, auto_imap=body.auto_imap, named_by=named_by):
        return _pending(doc)
    return ok(models.public(doc), "Challenge passed: the account is logged in.")


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


@router.patch("/accounts/{id}", **responds(AccountOut))
async def update_account(id: int, body: dict[str, Any] = Body(..., examples=[{"proxy": "http://10.0.0.9:8080"}]),
                         ctx: Ctx = core) -> JSON:
    """Settable: ``proxy`` (a proxy, or null for none) and ``is_active``; anything else is 422."""
    doc = ctx.account(id)
    models.update_account(ctx, doc, body)
    return ok(models.public(doc), "Account updated.")


@router.delete("/accounts/{id}", **responds(AccountDeleted))
async def delete_account(id: int, ctx: Ctx = core) -> JSON:
    removed = models.delete_account(ctx, ctx.account(id))
    return ok({"account_id": id, "deleted": True, "schedules_removed": removed}, "Account deleted.")


@router.get("/accounts/{id}/stats", **responds(AccountStats))
async def account_stats(id: int, ctx: Ctx = core) -> JSON:
    return ok(models.stats(ctx.account(id)))


@router.get("/statistics/accounts/{id}", **responds(AccountStats))
async def account_statistics(id: int, ctx: Ctx = core) -> JSON:
    """The later revision's path for ``/accounts/{id}/stats``; both are served."""
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
