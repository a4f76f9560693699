"""DirectResource against the in-process emulator (cursor paging per account)."""

from __future__ import annotations

import httpx
import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import Conflict, NotFound, ValidationFailed
from orchestrator.api.resources.direct import (
    GENERAL,
    DirectInboxPage,
    DirectLastMessage,
    DirectMessage,
    DirectMessagePage,
    DirectParticipant,
    DirectThread,
)
from tests.api.conftest import clear_faults, lose_responses, request_count, stored

BUSY = 1  # fashion_nova: 13 primary threads (two pages), 3 general, 3 pending requests
BOB_ACCOUNT = 26


async def _threads(control: httpx.AsyncClient, account_id: int, box: str, folder: int | None = None) -> list[dict]:
    rows = await stored(control, "direct_threads", account_id=account_id)
    return [r for r in rows if r["box"] == box and (folder is None or r["folder"] == folder)]


async def _group_thread(control: httpx.AsyncClient) -> str:
    """The busy account's group chat, whose history is longer than one page."""
    return next(r["thread_id"] for r in await _threads(control, BUSY, "inbox") if r["is_group"])


async def test_inbox_follows_the_cursor(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    primary = await _threads(control, BUSY, "inbox", 0)
    await control.post("/requests/reset")
    threads = [t async for t in client.direct.inbox(BUSY)]
    assert sorted(t.thread_id for t in threads) == sorted(r["thread_id"] for r in primary)
    assert await request_count(control, "GET", "/direct/{account_id}/inbox") == 2  # 13 threads, 10 a page
    first = threads[0]
    assert isinstance(first, DirectThread) and first.thread_title and first.last_activity
    assert isinstance(first.participants[0], DirectParticipant) and isinstance(first.last_message, DirectLastMessage)
    assert all(t.pending is False for t in threads)
    assert [t.last_activity for t in threads] == sorted((t.last_activity for t in threads), reverse=True)
    general = [t async for t in client.direct.inbox(BUSY, folder=GENERAL)]
    assert len(general) == len(await _threads(control, BUSY, "inbox", 1))


async def test_inbox_page_by_page(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    first = await client.direct.inbox_page(BUSY)
    assert isinstance(first, DirectInboxPage) and len(first.threads) == 10 and first.next_cursor
    assert first.pending_count == len(await _threads(control, BUSY, "pending"))
    second = await client.direct.inbox_page(BUSY, first.next_cursor)
    assert second.next_cursor is None and len(second.threads) == 3
    assert not {t.thread_id for t in first.threads} & {t.thread_id for t in second.threads}


async def test_inbox_errors(client: SharingtoolsClient) -> None:
    with pytest.raises(ValidationFailed) as info:
        await client.direct.inbox_page(BUSY, folder=2)
    assert "folder" in info.value.errors
    with pytest.raises(ValidationFailed) as info:
        await client.direct.inbox_page(BUSY, "not-a-cursor")
    assert "cursor" in info.value.errors
    with pytest.raises(NotFound):
        [t async for t in client.direct.inbox(BOB_ACCOUNT)]


async def test_pending_requests(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    expected = {r["thread_id"] for r in await _threads(control, BUSY, "pending")}
    pending = [t async for t in client.direct.pending(BUSY)]
    assert {t.thread_id for t in pending} == expected and all(t.pending for t in pending)
    page = await client.direct.pending_page(BUSY)
    assert isinstance(page, DirectInboxPage) and {t.thread_id for t in page.threads} == expected
    assert page.next_cursor is None
    with pytest.raises(NotFound):
        await client.direct.pending_page(BOB_ACCOUNT)


async def test_messages_follow_the_cursor_to_older_ones(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    group = await _group_thread(control)
    expected = [m for m in await stored(control, "direct_messages", account_id=BUSY) if m["thread_id"] == group]
    await control.post("/requests/reset")
    messages = [m async for m in client.direct.messages(BUSY, group)]
    assert len(messages) == len(expected) > 20  # more than one page
    assert await request_count(control, "GET", "/direct/{account_id}/threads/{thread_id}/messages") == 2
    assert all(isinstance(m, DirectMessage) and m.id and m.type and m.timestamp for m in messages)
    assert [m.timestamp for m in messages] == sorted((m.timestamp for m in messages), reverse=True)
    assert any(m.is_sent_by_me for m in messages) and any(not m.is_sent_by_me for m in messages)
    page = await client.direct.messages_page(BUSY, group)
    assert isinstance(page, DirectMessagePage) and page.thread_id == group and page.next_cursor
    assert [m.id for m in page.messages] == [m.id for m in messages[:20]]
    older = await client.direct.messages_page(BUSY, group, page.next_cursor)
    assert older.next_cursor is None and [m.id for m in older.messages] == [m.id for m in messages[20:]]


async def test_messages_of_unknown_or_another_users_thread(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    bobs = (await _threads(control, BOB_ACCOUNT, "inbox"))[0]["thread_id"]
    with pytest.raises(NotFound):
        await client.direct.messages_page(BOB_ACCOUNT, bobs)
    with pytest.raises(NotFound):
        await client.direct.messages_page(BUSY, bobs)  # not a thread of this account
    with pytest.raises(NotFound):
        await client.direct.messages_page(BUSY, "1234")


async def test_accept_moves_a_request_to_the_inbox(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    request = (await _threads(control, BUSY, "pending"))[0]["thread_id"]
    assert await client.direct.thread_state(BUSY, request) == "pending"
    assert await client.direct.accept(BUSY, request) == {"thread_id": request}
    assert await client.direct.thread_state(BUSY, request) == "accepted"
    assert request in [t.thread_id async for t in client.direct.inbox(BUSY)]
    with pytest.raises(Conflict):
        await client.direct.accept(BUSY, request)  # no longer a request
    with pytest.raises(Conflict):
        await client.direct.decline(BUSY, request)


async def test_decline_and_delete_hide_threads(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    request = (await _threads(control, BUSY, "pending"))[0]["thread_id"]
    assert await client.direct.decline(BUSY, request) == {"thread_id": request}
    assert await client.direct.thread_state(BUSY, request) == "gone"
    assert request not in [t.thread_id async for t in client.direct.pending(BUSY)]
    accepted = (await _threads(control, BUSY, "inbox"))[0]["thread_id"]
    assert await client.direct.delete(BUSY, accepted) == {"thread_id": accepted}
    assert accepted not in [t.thread_id async for t in client.direct.inbox(BUSY)]
    with pytest.raises(NotFound):
        await client.direct.delete(BUSY, accepted)  # a second, separate delete is an error
    bobs = (await _threads(control, BOB_ACCOUNT, "pending"))[0]["thread_id"]
    for call in (client.direct.accept, client.direct.decline, client.direct.delete):
        with pytest.raises(NotFound):
            await call(BOB_ACCOUNT, bobs)


@pytest.mark.parametrize(("action", "box", "after"), [
    ("accept", "pending", "accepted"), ("decline", "pending", "gone"), ("delete", "inbox", "gone"),
])
async def test_action_whose_answer_is_lost_is_read_back(
    client: SharingtoolsClient, control: httpx.AsyncClient, action: str, box: str, after: str
) -> None:
    # The first attempt takes effect; a plain resend would meet 409 or 404.
    thread_id = (await _threads(control, BUSY, box))[0]["thread_id"]
    await lose_responses(control, seed=1, rate=1.0)
    assert await getattr(client.direct, action)(BUSY, thread_id) == {"thread_id": thread_id}
    await clear_faults(control)
    assert await client.direct.thread_state(BUSY, thread_id) == after
    assert client.transport.stats.readbacks == 1
