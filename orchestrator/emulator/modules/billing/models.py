"""Packages, subscription and wallet: derived from the user's plan, no state of their own.

The reference is silent on billing; the later revision names the endpoints only. What a user
pays follows from the ``modules`` of their plan (the list that gates each module with 403),
so everything here is computed from the user document and the clock: a plan changed through
the control surface shows in the subscription and the wallet at once, and nothing can drift.

- A package is a named set of modules with a monthly price and an account limit.
- The subscription is the package whose modules are exactly the user's; a plan matching no
  package is ``custom``, priced per module.
- The wallet starts with one top-up when the user is created, and is charged the
  subscription's price at the start of every 30-day period since (the first at creation).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from orchestrator.emulator.clock import Clock, parse_stamp
from orchestrator.emulator.context import Ctx
from orchestrator.emulator.state import MODULES
from orchestrator.emulator.store import Doc

CURRENCY = "USD"
PERIOD = timedelta(days=30)
OPENING_TOP_UP = 500.0
MODULE_PRICES: dict[str, float] = {
    "reactions": 19.0, "repost-pro": 15.0, "post-actions-api": 9.0, "parser": 12.0, "ai-dm": 25.0,
    "welcomedm": 9.0, "first-comment": 7.0, "inbox": 15.0, "direct-basic": 5.0,
}
CUSTOM_ACCOUNTS_LIMIT = 1000
PACKAGES: tuple[dict[str, Any], ...] = (
    {"id": 1, "title": "Starter", "price": 29.0, "accounts_limit": 10,
     "modules": ["reactions", "repost-pro", "first-comment"]},
    {"id": 2, "title": "Growth", "price": 79.0, "accounts_limit": 50,
     "modules": ["reactions", "repost-pro", "first-comment", "welcomedm", "post-actions-api", "parser",
                 "direct-basic"]},
    {"id": 3, "title": "Agency", "price": 129.0, "accounts_limit": CUSTOM_ACCOUNTS_LIMIT, "modules": list(MODULES)},
)
assert set(MODULE_PRICES) == set(MODULES), "every module has a price"


def user_doc(ctx: Ctx) -> Doc:
    """The document of the user the request's key belongs to."""
    user = ctx.state.users.get(ctx.user.id)
    assert user is not None, "an authenticated key always has its user"
    return user


def packages() -> list[dict[str, Any]]:
    return [{**p, "currency": CURRENCY, "period_days": PERIOD.days} for p in PACKAGES]


def subscription(user: Doc, clock: Clock, accounts_used: int) -> dict[str, Any]:
    """The package the user's modules make, its price and limits, and the current period."""
    modules = sorted(user.get("modules", ()))
    package = next((p for p in PACKAGES if sorted(p["modules"]) == modules), None)
    start, end = _period(user, clock)
    return {
        "package_id": package["id"] if package else None,
        "package": package["title"] if package else "custom",
        "modules": modules,
        "price": (package["price"] if package
                  else round(sum(MODULE_PRICES[m] for m in modules if m in MODULE_PRICES), 2)),
        "currency": CURRENCY,
        "accounts_limit": package["accounts_limit"] if package else CUSTOM_ACCOUNTS_LIMIT,
        "accounts_used": accounts_used,
        "status": "active",
        "period_start": clock.stamp(start),
        "period_end": clock.stamp(end),
    }


def transactions(user: Doc, clock: Clock, price: float) -> list[dict[str, Any]]:
    """The wallet's history, newest first: the opening top-up, then one charge per period."""
    created = _created(user, clock)
    periods = _periods_started(user, clock)
    entries = [{"id": 1, "type": "topup", "amount": OPENING_TOP_UP, "currency": CURRENCY,
                "description": "Opening balance", "date": clock.stamp(created)}]
    for n in range(periods):
        entries.append({"id": n + 2, "type": "charge", "amount": -price, "currency": CURRENCY,
                        "description": f"Subscription, period {n + 1}", "date": clock.stamp(created + n * PERIOD)})
    entries.reverse()
    return entries


def wallet(user: Doc, clock: Clock, price: float) -> dict[str, Any]:
    history = transactions(user, clock, price)
    _, end = _period(user, clock)
    return {
        "balance": round(sum(t["amount"] for t in history), 2),
        "currency": CURRENCY,
        "monthly_charge": price,
        "next_charge_date": clock.stamp(end),
        "transactions": len(history),
    }


def _created(user: Doc, clock: Clock) -> datetime:
    try:
        return min(parse_stamp(user["date"]), clock.now())
    except (KeyError, TypeError, ValueError):
        return clock.now()


def _periods_started(user: Doc, clock: Clock) -> int:
    elapsed = clock.now() - _created(user, clock)
    return max(0, elapsed // PERIOD) + 1


def _period(user: Doc, clock: Clock) -> tuple[datetime, datetime]:
    start = _created(user, clock) + (_periods_started(user, clock) - 1) * PERIOD
    return start, start + PERIOD
