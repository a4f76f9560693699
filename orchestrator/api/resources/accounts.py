"""Accounts and Account Actions (core module), with the later revision's account lifecycle.

Adding an account is not a single call: Instagram asks a new login to confirm a code, so
``add`` leaves the account ``login_required`` with a pending challenge, and ``challenge``
completes it. While a challenge waits, ``login`` and ``challenge`` without a code answer 202
("try again later"), returned here as a ``LoginOutcome`` whose ``pending`` is True rather
than raised. Password-bearing and code-bearing calls are never retried.
"""

from __future__ import annotations

import builtins  # the resource's `list` method shadows the type in its class body
from collections.abc import AsyncIterator
from typing import Any

from orchestrator.api.errors import ServerError
from orchestrator.api.models import ApiModel, Page, parse
from orchestrator.api.resources.base import Resource
from orchestrator.api.retry import Policy
from orchestrator.log import register_secret

_UNSET: Any = object()


class Account(ApiModel):
    id: int
    username: str
    full_name: str | None = None
    platform: str | None = None
    is_active: bool | None = None
    login_required: bool | None = None
    is_slave: bool | None = None
    proxy: str | None = None
    date: str | None = None
    last_login: str | None = None  # the later revision: None until an added account first logs in


class Challenge(ApiModel):
    """A login challenge as the server tells of it (never its code)."""

    account_id: int
    status: str  # pending | none
    method: str | None = None
    attempts_left: int | None = None


class AddedAccount(Account):
    """A just-added account: ``login_required`` until its ``challenge`` is completed."""

    challenge: Challenge | None = None


class LoginOutcome(ApiModel):
    """The answer to ``login`` or ``challenge``: the logged-in account, or a pending challenge."""

    account_id: int
    pending: bool
    account: Account | None = None
    challenge: Challenge | None = None
    message: str | None = None


class AccountDeleted(ApiModel):
    account_id: int
    deleted: bool
    schedules_removed: int | None = None


class AccountStats(ApiModel):
    followers: int | None = None
    following: int | None = None
    posts: int | None = None


class ProxyChange(ApiModel):
    account_id: int
    proxy: str | None = None


class BulkProxyChange(ApiModel):
    updated: int
    results: list[ProxyChange] = []


class Privacy(ApiModel):
    account_id: int
    is_private: bool


def _filters(
    platform: str | None, search: str | None, login_required: bool | None, is_slave: bool | None,
    is_active: bool | None,
) -> dict[str, Any]:
    flags = {"login_required": login_required, "is_slave": is_slave, "is_active": is_active}
    return {"platform": platform, "search": search,
            **{k: ("true" if v else "false") for k, v in flags.items() if v is not None}}


class AccountsResource(Resource):
    def list(
        self, *, platform: str | None = None, search: str | None = None, login_required: bool | None = None,
        is_slave: bool | None = None, is_active: bool | None = None,
    ) -> AsyncIterator[Account]:
        """Every account of the key's user (all users' for an admin key), optionally only those
        whose username or full name contains ``search`` or with the given flags."""
        return self._all("accounts", _filters(platform, search, login_required, is_slave, is_active), Account)

    async def page(
        self, page: int = 1, per_page: int = 20, *, platform: str | None = None, search: str | None = None,
        login_required: bool | None = None, is_slave: bool | None = None, is_active: bool | None = None,
    ) -> Page[Account]:
        params = _filters(platform, search, login_required, is_slave, is_active)
        return await self._page("accounts", params, page, per_page, Account)

    async def get(self, account_id: int) -> Account:
        return await self._get(f"accounts/{account_id}", model=Account)

    async def stats(self, account_id: int) -> AccountStats:
        return await self._get(f"accounts/{account_id}/stats", model=AccountStats)

    async def statistics(self, account_id: int) -> AccountStats:
        """The same statistics at the later revision's path, ``/statistics/accounts/{id}``."""
        return await self._get(f"statistics/accounts/{account_id}", model=AccountStats)

    # -- the later revision's account lifecycle ----------------------------------------
    async def add(self, username: str, password: str, *, proxy: str | None = None) -> AddedAccount:
        """Add an Instagram account. It stays ``login_required`` until ``challenge`` completes
        its login challenge. Never retried: it carries a password, and the server does not
        deduplicate (a lost answer shows as a 409 on a second add of the same username)."""
        register_secret(password)
        body: dict[str, Any] = {"username": username, "password": password}
        if proxy is not None:
            body["proxy"] = proxy
        return parse(AddedAccount, (await self._write("POST", "accounts", json=body, policy=Policy.NEVER)).data)

    async def login(self, account_id: int, *, password: str | None = None) -> LoginOutcome:
        """Log the account in again (checking ``password`` when given). An account that needs a
        new login meets a challenge: the outcome is then ``pending``."""
        body: dict[str, Any] = {"account_id": account_id}
        if password is not None:
            register_secret(password)
            body["password"] = password
        return await self._login_call("accounts/login", body)

    async def challenge(self, account_id: int, code: str | None = None) -> LoginOutcome:
        """Send the code of a pending login challenge (without one: ask whether it is pending).
        A wrong code is ValidationFailed on ``code``."""
        body: dict[str, Any] = {"account_id": account_id}
        if code is not None:
            body["code"] = code
        return await self._login_call("accounts/challenge", body)

    async def _login_call(self, path: str, body: dict[str, Any]) -> LoginOutcome:
        # NEVER: a 202 is the server's answer ("try again later"), for the caller to act on, and
        # a credential is not resent by a retry loop.
        try:
            result = await self._write("POST", path, json=body, policy=Policy.NEVER)
        except ServerError as exc:
            if exc.status != 202:
                raise
            data = (exc.body.get("data") or {}) if isinstance(exc.body, dict) else {}
            return LoginOutcome(account_id=body["account_id"], pending=True, message=exc.message,
                                challenge=parse(Challenge, data.get("challenge")))
        return LoginOutcome(account_id=body["account_id"], pending=False, account=parse(Account, result.data),
                            message=result.message)

    async def update(self, account_id: int, *, proxy: str | None = _UNSET, is_active: bool | None = None) -> Account:
        """Change the account's ``proxy`` (None removes it) and/or ``is_active``. Idempotent."""
        body: dict[str, Any] = {}
        if proxy is not _UNSET:
            body["proxy"] = proxy
        if is_active is not None:
            body["is_active"] = is_active
        return parse(Account, (await self._write("PATCH", f"accounts/{account_id}", json=body,
                                                 policy=Policy.IDEMPOTENT)).data)

    async def delete(self, account_id: int) -> AccountDeleted:
        """Delete the account; its automation schedules go with it. Retried, so a repeat after
        a lost answer can meet NotFound: gone means done for a caller that wanted it gone."""
        return parse(AccountDeleted, (await self._write("DELETE", f"accounts/{account_id}",
                                                        policy=Policy.IDEMPOTENT)).data)

    # -- account actions -----------------------------------------------------
    async def refresh_cookies(self, account_id: int) -> dict[str, Any]:
        # A re-login: repeating it is harmless, so it retries like an idempotent write.
        return (await self._write("POST", f"accounts/{account_id}/refresh-cookies", policy=Policy.IDEMPOTENT)).data

    async def login_activity(self, account_id: int) -> dict[str, Any]:
        return await self._get(f"accounts/{account_id}/login-activity")

    async def change_proxy(self, account_id: int, proxy: str | None = None) -> ProxyChange:
        """Assign ``proxy``, or one from the pool when None. With a given proxy the call is
        idempotent; auto-allocation is not (each call may pick another), but any proxy is a
        correct outcome, so it is retried all the same."""
        body = {"proxy": proxy} if proxy is not None else None
        result = await self._write("POST", f"accounts/{account_id}/change-proxy", json=body, policy=Policy.IDEMPOTENT)
        return parse(ProxyChange, result.data)

    async def change_proxy_bulk(self, account_ids: builtins.list[int], proxy: str | None = None) -> BulkProxyChange:
        body: dict[str, Any] = {"account_ids": account_ids}
        if proxy is not None:
            body["proxy"] = proxy
        result = await self._write("POST", "accounts/change-proxy/bulk", json=body, policy=Policy.IDEMPOTENT)
        return parse(BulkProxyChange, result.data)

    async def set_public(self, account_id: int) -> Privacy:
        result = await self._write("POST", f"accounts/{account_id}/set-public", policy=Policy.IDEMPOTENT)
        return parse(Privacy, result.data)

    async def set_private(self, account_id: int) -> Privacy:
        result = await self._write("POST", f"accounts/{account_id}/set-private", policy=Policy.IDEMPOTENT)
        return parse(Privacy, result.data)

    async def backup_codes(self, account_id: int) -> builtins.list[str]:
        return (await self._get(f"accounts/{account_id}/2fa-backup"))["backup_codes"]

    async def reset_options(self, account_id: int) -> dict[str, Any]:
        return (await self._write("DELETE", f"accounts/{account_id}/options", policy=Policy.IDEMPOTENT)).data

    async def set_password(self, account_id: int, password: str) -> dict[str, Any]:
        """Store a new Instagram password. Never retried after it may have reached the server."""
        register_secret(password)
        result = await self._write("POST", f"accounts/{account_id}/password", json={"password": password},
                                   policy=Policy.NEVER)
        return result.data

    async def set_passwords_bulk(self, passwords: dict[int, str]) -> dict[str, Any]:
        for password in passwords.values():
            register_secret(password)
        body = {"accounts": [{"account_id": i, "password": p} for i, p in passwords.items()]}
        return (await self._write("POST", "accounts/password/bulk", json=body, policy=Policy.NEVER)).data
