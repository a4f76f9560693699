"""AccountsResource against the in-process emulator: filters, the later revision's account
lifecycle (add, challenge, login, update, delete) and its statistics path."""

from __future__ import annotations

import httpx
import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import Conflict, NotFound, TransportError, ValidationFailed
from orchestrator.api.resources.accounts import AddedAccount, LoginOutcome
from tests.api.conftest import lose_responses, request_count, stored

PASSWORD = "n3w-account-pass"


async def challenge_code(control: httpx.AsyncClient, account_id: int) -> str:
    """The code the emulated Instagram "sent" for the account's pending login challenge."""
    response = await control.get(f"/challenges/{account_id}")
    assert response.status_code == 200, response.text
    return response.json()["code"]


async def test_list_filters_by_search_and_flags(client: SharingtoolsClient) -> None:
    fitness = [a async for a in client.accounts.list(search="fitness")]
    assert len(fitness) == 7 and all("fitness" in a.username for a in fitness)
    assert [a.username async for a in client.accounts.list(search="FITNESS LIFT")] == ["fitness_lift"]
    needs_login = [a async for a in client.accounts.list(login_required=True)]
    assert needs_login and all(a.login_required for a in needs_login)
    fine = [a async for a in client.accounts.list(login_required=False)]
    assert len(needs_login) + len(fine) == 25
    assert len([a async for a in client.accounts.list(is_slave=False)]) == 25
    assert [a async for a in client.accounts.list(is_slave=True)] == []
    page = await client.accounts.page(1, 3, search="fitness", login_required=False)
    assert page.total == len([a for a in fitness if not a.login_required]) and len(page.items) == 3
    assert [a async for a in client.accounts.list(search="pets")] == []  # bob's niche: not alice's


async def test_unknown_filter_is_refused_not_ignored(client: SharingtoolsClient) -> None:
    with pytest.raises(ValidationFailed) as raised:
        await client.raw("GET", "accounts", params={"niche": "fitness"})
    assert "niche" in raised.value.message and set(raised.value.errors or {}) == {"niche"}


async def test_account_lifecycle_add_challenge_login_delete(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    added = await client.accounts.add("fresh_brand", PASSWORD, proxy="socks5://10.0.0.7:1080")
    assert isinstance(added, AddedAccount) and added.login_required is True and added.last_login is None
    assert added.challenge is not None and added.challenge.status == "pending"
    assert PASSWORD not in added.model_dump_json()
    assert [a.id async for a in client.accounts.list(search="fresh_brand")] == [added.id]

    # While the challenge waits, login and a code-less challenge call answer 202: pending.
    outcome = await client.accounts.login(added.id, password=PASSWORD)
    assert isinstance(outcome, LoginOutcome) and outcome.pending and outcome.account is None
    assert (await client.accounts.challenge(added.id)).pending
    with pytest.raises(ValidationFailed) as wrong:
        await client.accounts.challenge(added.id, "not-it")
    assert "code" in (wrong.value.errors or {})

    done = await client.accounts.challenge(added.id, await challenge_code(control, added.id))
    assert not done.pending and done.account is not None and done.account.login_required is False
    assert done.account.last_login is not None
    assert (await control.get(f"/challenges/{added.id}")).status_code == 404  # used up
    with pytest.raises(ValidationFailed):  # nothing pending any more
        await client.accounts.challenge(added.id, "123456")

    relogin = await client.accounts.login(added.id, password=PASSWORD)
    assert not relogin.pending and relogin.account is not None and relogin.account.id == added.id
    with pytest.raises(ValidationFailed) as bad_password:
        await client.accounts.login(added.id, password="wrong-password")
    assert "password" in (bad_password.value.errors or {})

    deleted = await client.accounts.delete(added.id)
    assert deleted.deleted and deleted.account_id == added.id
    with pytest.raises(NotFound):
        await client.accounts.get(added.id)
    assert [a async for a in client.accounts.list(search="fresh_brand")] == []


async def test_password_is_write_only_and_never_retried(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    added = await client.accounts.add("secret_keeper", PASSWORD)
    doc = (await stored(control, "accounts"))[-1]
    assert doc["id"] == added.id and PASSWORD not in str(doc)  # only its SHA-256 is kept
    assert PASSWORD not in str(await client.raw("GET", f"accounts/{added.id}"))
    await lose_responses(control, seed=3, rate=1.0)
    await control.post("/requests/reset")
    with pytest.raises(TransportError) as lost:
        await client.accounts.add("lost_answer", PASSWORD)
    assert PASSWORD not in str(lost.value)
    assert await request_count(control, "POST", "/accounts") == 1  # sent once, never again


async def test_login_of_an_account_that_needs_one_meets_a_challenge(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    needs = [a async for a in client.accounts.list(login_required=True)][0]
    outcome = await client.accounts.login(needs.id)
    assert outcome.pending and outcome.challenge is not None and outcome.challenge.method
    done = await client.accounts.challenge(needs.id, await challenge_code(control, needs.id))
    assert done.account is not None and not done.account.login_required
    fine = await client.accounts.login(needs.id)  # logged in now: no challenge
    assert not fine.pending


async def test_add_refuses_a_duplicate_and_bad_values(client: SharingtoolsClient) -> None:
    with pytest.raises(Conflict):
        await client.accounts.add("fashion_nova", PASSWORD)
    with pytest.raises(ValidationFailed) as bad:
        await client.accounts.add("has space", PASSWORD, proxy="nonsense")
    assert "username" in (bad.value.errors or {})


async def test_update_sets_proxy_and_is_active_and_refuses_the_rest(client: SharingtoolsClient) -> None:
    updated = await client.accounts.update(2, proxy="http://10.0.0.9:8080", is_active=False)
    assert (updated.proxy, updated.is_active) == ("http://10.0.0.9:8080", False)
    assert (await client.accounts.get(2)).proxy == "http://10.0.0.9:8080"
    assert (await client.accounts.update(2, proxy=None)).proxy is None
    with pytest.raises(ValidationFailed) as refused:
        await client.raw("PATCH", "accounts/2", json={"username": "renamed", "is_active": True})
    assert set(refused.value.errors or {}) == {"username"}
    with pytest.raises(ValidationFailed):
        await client.accounts.update(2)  # nothing to change
    with pytest.raises(NotFound):
        await client.accounts.update(26, is_active=True)  # bob's


async def test_delete_takes_the_schedules_and_the_engine_stops(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    assert await stored(control, "reactions_schedules", account_id=1)
    deleted = await client.accounts.delete(1)
    assert deleted.schedules_removed and deleted.schedules_removed >= 2
    for table in ("reactions_schedules", "repost_schedules", "first_comment_schedules"):
        assert await stored(control, table, account_id=1) == []
    with pytest.raises(NotFound):
        await client.reactions.get_schedule(1)
    assert 1 not in [s.account_id async for s in client.reactions.list_schedules()]
    # Posts stay (history); the engine fails a scheduled one whose account is gone.
    scheduled = [p async for p in client.posts.list(account_id=1, status="scheduled")]
    assert scheduled
    (await control.post("/clock/advance", json={"seconds": 8 * 86400, "ticks": 3})).raise_for_status()
    for post in scheduled:
        after = await client.posts.get(post.id)
        assert (after.status, after.reason) == ("failed", "Account not found")
    with pytest.raises(NotFound):
        await client.accounts.delete(26)  # bob's


async def test_statistics_at_both_paths(client: SharingtoolsClient) -> None:
    assert await client.accounts.statistics(3) == await client.accounts.stats(3)
    with pytest.raises(NotFound):
        await client.accounts.statistics(26)
