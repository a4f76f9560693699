"""The wallet and the packages on offer (the later revision)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from orchestrator.api.models import ApiModel, Page
from orchestrator.api.resources.base import Resource


class Wallet(ApiModel):
    balance: float
    currency: str | None = None
    monthly_charge: float | None = None
    next_charge_date: str | None = None


class Transaction(ApiModel):
    id: int
    type: str  # topup | charge
    amount: float  # negative for a charge
    currency: str | None = None
    description: str | None = None
    date: str | None = None


class Package(ApiModel):
    id: int
    title: str
    price: float | None = None
    currency: str | None = None
    accounts_limit: int | None = None
    modules: list[str] = []


class WalletResource(Resource):
    """``/wallet``, ``/wallet/transactions`` and ``/packages``."""

    async def get(self) -> Wallet:
        return await self._get("wallet", model=Wallet)

    def transactions(self, *, type: str | None = None) -> AsyncIterator[Transaction]:
        """Every transaction, newest first; ``type`` is ``topup`` or ``charge``."""
        return self._all("wallet/transactions", {"type": type}, Transaction)

    async def transactions_page(
        self, page: int = 1, per_page: int = 20, *, type: str | None = None
    ) -> Page[Transaction]:
        return await self._page("wallet/transactions", {"type": type}, page, per_page, Transaction)

    async def packages(self) -> list[Package]:
        data = await self._get("packages")
        return [Package.model_validate(p) for p in data.get("items", [])]
