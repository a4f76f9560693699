"""UserResource and WalletResource (the later revision) against the in-process emulator."""

from __future__ import annotations

import httpx
import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import ValidationFailed
from orchestrator.emulator.state import MODULES
from tests.api.conftest import make_client


async def test_profile_reads_and_updates(client: SharingtoolsClient) -> None:
    user = await client.user.get()
    assert (user.username, user.is_admin, user.timezone) == ("alice", False, "UTC")
    assert sorted(user.modules) == sorted(MODULES)
    updated = await client.user.update(firstname="Alice", timezone="Europe/Berlin", email="alice@example.com")
    assert (updated.firstname, updated.timezone, updated.email) == ("Alice", "Europe/Berlin", "alice@example.com")
    assert (await client.user.get()).timezone == "Europe/Berlin"


async def test_profile_update_refuses_read_only_unknown_and_bad_values(client: SharingtoolsClient) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await client.user.update(username="mallory", modules="all", timezone="Mars/Base", colour="red")
    assert set(refused.value.errors or {}) == {"username", "modules", "timezone", "colour"}
    assert (await client.user.get()).username == "alice"  # nothing applied
    with pytest.raises(ValidationFailed):
        await client.user.update()


async def test_subscription_and_wallet_follow_the_plan(
    emu, client: SharingtoolsClient, bob_client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    packages = await client.wallet.packages()
    agency = next(p for p in packages if sorted(p.modules) == sorted(MODULES))
    sub = await client.user.subscription()
    assert (sub.package_id, sub.price, sub.accounts_used) == (agency.id, agency.price, 25)
    wallet = await client.wallet.get()
    assert wallet.monthly_charge == agency.price

    bob_sub = await bob_client.user.subscription()  # no ai-dm: no package matches, priced per module
    assert bob_sub.package_id is None and "ai-dm" not in bob_sub.modules

    user, key = emu.state.create_user("starter", modules=["reactions", "repost-pro", "first-comment"])
    async with make_client(emu, key) as starter:
        sub = await starter.user.subscription()
        assert sub.package == "Starter" and sub.accounts_used == 0
        emu.state.set_user_modules(user["id"], ["reactions"])  # the plan changes: so does the bill
        changed = await starter.user.subscription()
        assert changed.package_id is None and changed.modules == ["reactions"]
        assert (await starter.wallet.get()).monthly_charge == changed.price


async def test_wallet_transactions_add_up_and_filter(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    history = [t async for t in client.wallet.transactions()]
    wallet = await client.wallet.get()
    assert round(sum(t.amount for t in history), 2) == wallet.balance
    assert [t.type for t in history] == ["charge", "topup"]  # newest first
    (await control.post("/clock/advance", json={"seconds": 31 * 86400, "ticks": 0})).raise_for_status()
    charges = [t async for t in client.wallet.transactions(type="charge")]
    assert len(charges) == 2 and all(t.amount < 0 for t in charges)
    page = await client.wallet.transactions_page(1, 1)
    assert page.total == 3 and len(page.items) == 1
    assert (await client.wallet.get()).balance == round(wallet.balance + charges[0].amount, 2)


async def test_dashboard_and_statistics_count_what_the_user_owns(
    client: SharingtoolsClient, bob_client: SharingtoolsClient
) -> None:
    board = await client.user.dashboard()
    assert board.accounts["total"] == 25 and board.accounts["login_required"] >= 1
    assert (
        "ai-dm" in board.schedules and board.schedules["reactions"]["total"] >= board.schedules["reactions"]["active"]
    )
    assert sum(board.posts.values()) == 20
    assert "ai-dm" not in (await bob_client.user.dashboard()).schedules  # not in bob's plan
    stats = await client.user.statistics()
    accounts = [a async for a in client.accounts.list()]
    followers = 0
    for account in accounts:
        followers += (await client.accounts.stats(account.id)).followers or 0
    assert (stats.accounts, stats.followers) == (25, followers)
    assert stats.published_posts == sum(1 for p in [p async for p in client.posts.list(status="published")])
