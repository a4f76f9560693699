"""HTTP for the user's profile, dashboard and statistics (the later revision; core)."""

from __future__ import annotations

from typing import Any

from fastapi import Body, Depends

from orchestrator.emulator.context import Ctx, auth
from orchestrator.emulator.envelope import JSON, Open, ok, responds
from orchestrator.emulator.modules.billing import models as billing
from orchestrator.emulator.modules.billing.routes import current_subscription
from orchestrator.emulator.modules.user import models
from orchestrator.emulator.routing import ModuleRouter

router = ModuleRouter(module=None, tag="User")
core = Depends(auth(None))


class UserOut(Open):
    id: int
    username: str
    is_admin: bool
    firstname: str
    lastname: str
    email: str | None
    timezone: str
    language: str
    modules: list[str]
    date: str | None


class Counts(Open):
    total: int
    active: int


class AccountCounts(Counts):
    login_required: int


class DashboardOut(Open):
    user: dict[str, Any]
    accounts: AccountCounts
    schedules: dict[str, Counts]
    posts: dict[str, int]
    subscription: dict[str, Any]
    wallet: dict[str, Any]


class StatisticsOut(Open):
    accounts: int
    followers: int
    following: int
    posts: int
    published_posts: int
    scheduled_posts: int
    activity: dict[str, int]


@router.get("/user", **responds(UserOut))
async def get_user(ctx: Ctx = core) -> JSON:
    return ok(models.profile(models.user_doc(ctx)))


@router.patch("/user", **responds(UserOut))
async def update_user(body: dict[str, Any] = Body(..., examples=[{"timezone": "Europe/Berlin"}]),
                      ctx: Ctx = core) -> JSON:
    """Settable: ``firstname``, ``lastname``, ``email``, ``timezone`` (IANA), ``language``."""
    models.update_profile(ctx, body)
    return ok(models.profile(models.user_doc(ctx)), "Profile updated.")


@router.get("/dashboard", **responds(DashboardOut))
async def dashboard(ctx: Ctx = core) -> JSON:
    subscription = current_subscription(ctx)
    wallet = billing.wallet(models.user_doc(ctx), ctx.clock, subscription["price"])
    return ok(models.dashboard(ctx, subscription, wallet))


@router.get("/statistics", **responds(StatisticsOut))
async def statistics(ctx: Ctx = core) -> JSON:
    return ok(models.statistics(ctx))
