"""Accounts and Account Actions (core module)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from orchestrator.api.models import ApiModel, Page, parse
from orchestrator.api.resources.base import Resource
from orchestrator.api.retry import Policy
from orchestrator.log import register_secret


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


class AccountsResource(Resource):
    def list(self, *, platform: str | None = None) -> AsyncIterator[Account]:
        """Every account of the key's user (all users' for an admin key)."""
        return self._all("accounts", {"platform": platform}, Account)

    async def page(self, page: int = 1, per_page: int = 20, *, platform: str | None = None) -> Page[Account]:
        return await self._page("accounts", {"platform": platform}, page, per_page, Account)

    async def get(self, account_id: int) -> Account:
        return await self._get(f"accounts/{account_id}", model=Account)

    async def stats(self, account_id: int) -> AccountStats:
        return await self._get(f"accounts/{account_id}/stats", model=AccountStats)

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

    async def change_proxy_bulk(self, account_ids: list[int], proxy: str | None = None) -> BulkProxyChange:
        body: dict[str, Any] = {"account_ids": account_ids}
        if proxy is not None:
            body["proxy"] = proxy
        result = await self._write("POST", "accounts/change-proxy/bulk", json=body, policy=Policy.IDEMPOTENT)
        return parse(BulkProxyChange, result.data)

    async def set_public(self, account_id: int) -> Privacy:
        return parse(Privacy, (await self._write("POST", f"accounts/{account_id}/set-public", policy=Policy.IDEMPOTENT)).data)

    async def set_private(self, account_id: int) -> Privacy:
        return parse(Privacy, (await self._write("POST", f"accounts/{account_id}/set-private", policy=Policy.IDEMPOTENT)).data)

    async def backup_codes(self, account_id: int) -> list[str]:
        return (await self._get(f"accounts/{account_id}/2fa-backup"))["backup_codes"]

    async def reset_options(self, account_id: int) -> dict[str, Any]:
        return (await self._write("DELETE", f"accounts/{account_id}/options", policy=Policy.IDEMPOTENT)).data

    async def set_password(self, account_id: int, password: str) -> dict[str, Any]:
        """Store a new Instagram password. Never retried after it may have reached the server."""
        register_secret(password)
        return (await self._write("POST", f"accounts/{account_id}/password", json={"password": password}, policy=Policy.NEVER)).data

    async def set_passwords_bulk(self, passwords: dict[int, str]) -> dict[str, Any]:
        for password in passwords.values():
            register_secret(password)
        body = {"accounts": [{"account_id": i, "password": p} for i, p in passwords.items()]}
        return (await self._write("POST", "accounts/password/bulk", json=body, policy=Policy.NEVER)).data
