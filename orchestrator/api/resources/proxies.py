"""Proxies the user's accounts use (the later revision's ``GET /proxies``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from orchestrator.api.models import ApiModel, Page
from orchestrator.api.resources.base import Resource


class Proxy(ApiModel):
    """One proxy (credentials masked) and the accounts that use it."""

    proxy: str
    scheme: str | None = None
    host: str | None = None
    port: int | None = None
    account_ids: list[int] = []
    accounts_count: int | None = None


class ProxiesResource(Resource):
    def list(self, *, account_id: int | None = None) -> AsyncIterator[Proxy]:
        return self._all("proxies", {"account_id": account_id}, Proxy)

    async def page(self, page: int = 1, per_page: int = 20) -> Page[Proxy]:
        return await self._page("proxies", None, page, per_page, Proxy)
