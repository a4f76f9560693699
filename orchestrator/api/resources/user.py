"""The user behind the key (the later revision): profile, subscription, dashboard, statistics."""

from __future__ import annotations

from typing import Any

from orchestrator.api.models import ApiModel, parse
from orchestrator.api.resources.base import Resource
from orchestrator.api.retry import Policy


class User(ApiModel):
    id: int
    username: str
    is_admin: bool | None = None
    firstname: str | None = None
    lastname: str | None = None
    email: str | None = None
    timezone: str | None = None
    language: str | None = None
    modules: list[str] = []
    date: str | None = None


class Subscription(ApiModel):
    """The package the user's plan makes (``package_id`` None for a custom plan) and its price."""

    package: str | None = None
    package_id: int | None = None
    modules: list[str] = []
    price: float | None = None
    currency: str | None = None
    accounts_limit: int | None = None
    accounts_used: int | None = None
    status: str | None = None
    period_start: str | None = None
    period_end: str | None = None


class Dashboard(ApiModel):
    """The panel's summary; its parts are kept as the server sends them."""

    user: dict[str, Any] = {}
    accounts: dict[str, int] = {}
    schedules: dict[str, dict[str, int]] = {}
    posts: dict[str, int] = {}
    subscription: dict[str, Any] = {}
    wallet: dict[str, Any] = {}


class Statistics(ApiModel):
    accounts: int | None = None
    followers: int | None = None
    following: int | None = None
    posts: int | None = None
    published_posts: int | None = None
    scheduled_posts: int | None = None
    activity: dict[str, int] = {}


class UserResource(Resource):
    """``/user``, ``/user/subscription``, ``/dashboard`` and ``/statistics``."""

    async def get(self) -> User:
        return await self._get("user", model=User)

    async def update(self, **fields: str) -> User:
        """Change ``firstname``, ``lastname``, ``email``, ``timezone`` (IANA) or ``language``;
        another field is ValidationFailed naming it. Idempotent."""
        return parse(User, (await self._write("PATCH", "user", json=fields, policy=Policy.IDEMPOTENT)).data)

    async def subscription(self) -> Subscription:
        return await self._get("user/subscription", model=Subscription)

    async def dashboard(self) -> Dashboard:
        return await self._get("dashboard", model=Dashboard)

    async def statistics(self) -> Statistics:
        """Totals over the user's accounts and the engine's activity per module."""
        return await self._get("statistics", model=Statistics)
