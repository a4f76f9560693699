"""HTTP for packages, the subscription and the wallet (the later revision; core, no module gate)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Depends, Query

from orchestrator.emulator.context import Ctx, Paging, auth, paging
from orchestrator.emulator.envelope import JSON, Open, ok, paged, responds
from orchestrator.emulator.modules.billing import models
from orchestrator.emulator.routing import ModuleRouter

router = ModuleRouter(module=None, tag="Billing")
core = Depends(auth(None))


class PackageOut(Open):
    id: int
    title: str
    price: float
    currency: str
    period_days: int
    accounts_limit: int
    modules: list[str]


class PackageList(Open):
    items: list[PackageOut]
    total: int


class SubscriptionOut(Open):
    package_id: int | None
    package: str
    modules: list[str]
    price: float
    currency: str
    accounts_limit: int
    accounts_used: int
    status: str
    period_start: str
    period_end: str


class WalletOut(Open):
    balance: float
    currency: str
    monthly_charge: float
    next_charge_date: str
    transactions: int


class TransactionOut(Open):
    id: int
    type: Literal["topup", "charge"]
    amount: float
    currency: str
    description: str
    date: str


def current_subscription(ctx: Ctx) -> dict[str, Any]:
    used = ctx.store.table("accounts").count(user_id=ctx.user.id)
    return models.subscription(models.user_doc(ctx), ctx.clock, used)


@router.get("/packages", **responds(PackageList))
async def list_packages(ctx: Ctx = core) -> JSON:
    items = models.packages()
    return ok({"items": items, "total": len(items)})


@router.get("/user/subscription", **responds(SubscriptionOut))
async def get_subscription(ctx: Ctx = core) -> JSON:
    return ok(current_subscription(ctx))


@router.get("/wallet", **responds(WalletOut))
async def get_wallet(ctx: Ctx = core) -> JSON:
    return ok(models.wallet(models.user_doc(ctx), ctx.clock, current_subscription(ctx)["price"]))


@router.get("/wallet/transactions", **responds(TransactionOut, paged=True))
async def list_transactions(
    type: Literal["topup", "charge"] | None = Query(None, description="only top-ups or only charges"),
    page: Paging = Depends(paging),
    ctx: Ctx = core,
) -> JSON:
    history = models.transactions(models.user_doc(ctx), ctx.clock, current_subscription(ctx)["price"])
    if type is not None:
        history = [t for t in history if t["type"] == type]
    start = (page.page - 1) * page.per_page
    return ok(paged(history[start : start + page.per_page], len(history), page.page, page.per_page))
