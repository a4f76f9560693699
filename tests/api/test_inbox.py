"""InboxResource against the in-process emulator (cursor paging, compound thread ids)."""

from __future__ import annotations

import httpx
import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import Conflict, NotFound, ValidationFailed
from orchestrator.api.resources.inbox import (
    ArchiveState,
    InboxMessage,
    InboxThread,
    InboxThreadDetail,
    LastMessage,
    Participant,
    ReplyResult,
    Tag,
    ThreadPage,
)
from tests.api.conftest import clear_faults, lose_responses, request_count, stored

VIP, LEAD, SUPPORT, COMPLAINT = 1, 2, 3, 4  # alice's demo tags
BOB_TAG = 5


async def _alice_threads(control: httpx.AsyncClient) -> list[dict]:
    return await stored(control, "inbox_threads", user_id=1)


async def _bobs_thread(control: httpx.AsyncClient) -> str:
    return (await stored(control, "inbox_threads", user_id=2))[0]["thread_id"]


async def test_list_threads_follows_the_cursor_100_at_a_time(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    visible = [d for d in await _alice_threads(control) if not d["is_archived"]]
    await control.post("/requests/reset")
    threads = [t async for t in client.inbox.list_threads()]
    assert len(threads) == len(visible) > 20  # more than the server's default page
    assert await request_count(control, "GET", "/inbox/threads") == 1
    first = threads[0]
    assert isinstance(first, InboxThread) and first.channel_type in ("dm", "comment", "review")
    assert isinstance(first.participants[0], Participant) and isinstance(first.last_message, LastMessage)
    assert first.unread_count is not None and first.status in ("open", "closed", "pending")
    assert any(t.tags and isinstance(t.tags[0], Tag) for t in threads)
    assert [t.last_activity_at for t in threads] == sorted((t.last_activity_at for t in threads), reverse=True)


async def test_list_threads_page_by_page(client: SharingtoolsClient) -> None:
    everything = [t.thread_id async for t in client.inbox.list_threads()]
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = await client.inbox.list_threads_page(cursor, limit=10)
        assert isinstance(page, ThreadPage) and page.total == len(everything) and len(page.threads) <= 10
        seen += [t.thread_id for t in page.threads]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == everything


async def test_list_threads_filters(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    raw = await _alice_threads(control)
    reviews = [t async for t in client.inbox.list_threads(channel_type="review")]
    assert reviews and all(t.channel_type == "review" for t in reviews)
    pending = [t async for t in client.inbox.list_threads(status="pending", account_id=1)]
    assert all(t.status == "pending" and t.account_id == 1 for t in pending)
    vip_by_name = [t.thread_id async for t in client.inbox.list_threads(tag="vip")]
    vip_by_id = [t.thread_id async for t in client.inbox.list_threads(tag=VIP)]
    assert vip_by_name and vip_by_name == vip_by_id
    archived = [t async for t in client.inbox.list_threads(archived=True)]
    assert len(archived) == sum(d["is_archived"] for d in raw) and all(t.is_archived for t in archived)


async def test_get_thread_with_messages(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    thread_id = (await _alice_threads(control))[0]["thread_id"]
    thread = await client.inbox.get_thread(thread_id)
    assert isinstance(thread, InboxThreadDetail) and thread.thread_id == thread_id
    assert thread.messages and all(isinstance(m, InboxMessage) for m in thread.messages)
    assert [m.timestamp for m in thread.messages] == sorted(m.timestamp or "" for m in thread.messages)
    with pytest.raises(NotFound):
        await client.inbox.get_thread(await _bobs_thread(control))
    with pytest.raises(NotFound):
        await client.inbox.get_thread("not-a-thread-id")


async def test_reply_and_its_limits(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    thread_id = (await _alice_threads(control))[0]["thread_id"]
    sent = await client.inbox.reply(thread_id, "Yes, still available! 🙌")
    assert isinstance(sent, ReplyResult) and (sent.thread_id, sent.sent) == (thread_id, True)
    newest = (await client.inbox.get_thread(thread_id)).messages[-1]
    assert (newest.content, newest.is_sent_by_us) == ("Yes, still available! 🙌", True)
    with pytest.raises(ValidationFailed) as info:
        await client.inbox.reply(thread_id, "   ")
    assert "content" in info.value.errors
    with pytest.raises(ValidationFailed) as info:
        await client.inbox.reply(thread_id, "x" * 2001)
    assert info.value.errors
    with pytest.raises(NotFound):
        await client.inbox.reply(await _bobs_thread(control), "hello")


async def test_reply_readback(client: SharingtoolsClient, alice: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    thread_id = (await _alice_threads(control))[1]["thread_id"]
    assert await client.inbox.find_reply(thread_id, "Sent elsewhere") is None
    (await alice.post(f"inbox/threads/{thread_id}/reply", json={"content": "Sent elsewhere"})).raise_for_status()
    assert await client.inbox.find_reply(thread_id, "Sent elsewhere") == {"thread_id": thread_id, "sent": True}
    assert await client.inbox.find_reply(thread_id, "Something else") is None


async def _our_copies(control: httpx.AsyncClient, thread_id: str, text: str) -> int:
    messages = await stored(control, "inbox_messages", user_id=1)
    return sum(1 for m in messages if m["thread_id"] == thread_id and m["content"] == text and m["is_sent_by_us"])


async def test_reply_whose_answer_is_always_lost_is_sent_once(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    thread_id = (await _alice_threads(control))[2]["thread_id"]
    await lose_responses(control, seed=1, rate=1.0)
    sent = await client.inbox.reply(thread_id, "Exactly once")
    await clear_faults(control)
    assert sent.sent and await _our_copies(control, thread_id, "Exactly once") == 1
    assert client.transport.stats.readbacks == 1


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
async def test_reply_under_lost_answers_is_sent_once(
    client: SharingtoolsClient, control: httpx.AsyncClient, seed: int
) -> None:
    thread_id = (await _alice_threads(control))[seed]["thread_id"]
    await lose_responses(control, seed=seed, rate=0.5, drop=0.2)
    await client.inbox.reply(thread_id, f"Seed {seed}")
    await clear_faults(control)
    assert await _our_copies(control, thread_id, f"Seed {seed}") == 1


async def test_archive_and_unarchive(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    thread_id = next(d["thread_id"] for d in await _alice_threads(control) if not d["is_archived"])
    state = await client.inbox.archive(thread_id)
    assert isinstance(state, ArchiveState) and state.is_archived is True
    assert (await client.inbox.archive(thread_id)).is_archived is True  # a repeat is harmless
    assert thread_id in [t.thread_id async for t in client.inbox.list_threads(archived=True)]
    assert (await client.inbox.unarchive(thread_id)).is_archived is False
    assert thread_id in [t.thread_id async for t in client.inbox.list_threads()]
    with pytest.raises(NotFound):
        await client.inbox.archive(await _bobs_thread(control))


async def test_thread_tags_add_and_remove(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    thread_id = next(d["thread_id"] for d in await _alice_threads(control) if not d["tag_ids"])
    tags = await client.inbox.add_tags(thread_id, [VIP, LEAD])
    assert {t.id for t in tags} == {VIP, LEAD} and all(isinstance(t, Tag) for t in tags)
    updated = await client.inbox.update_thread_tags(thread_id, add=[SUPPORT], remove=[VIP])
    assert {t.id for t in updated} == {LEAD, SUPPORT}
    assert {t.id for t in await client.inbox.remove_tags(thread_id, [LEAD, SUPPORT])} == set()
    with pytest.raises(ValidationFailed) as info:
        await client.inbox.add_tags(thread_id, [BOB_TAG])  # another user's tag is unknown here
    assert "add" in info.value.errors


async def test_tags_list_create_and_delete(client: SharingtoolsClient) -> None:
    tags = await client.inbox.list_tags()
    assert [t.name for t in tags] == ["VIP", "Lead", "Support", "Complaint"] and tags[0].color == "#f59e0b"
    made = await client.inbox.create_tag("Wholesale", "#123abc")
    assert isinstance(made, Tag) and (made.name, made.color) == ("Wholesale", "#123abc")
    assert (await client.inbox.create_tag("Returns")).color  # the server's default color
    with pytest.raises(Conflict):
        await client.inbox.create_tag("wholesale")  # names are unique in any case
    with pytest.raises(ValidationFailed) as info:
        await client.inbox.create_tag("Bad", "orange")
    assert "color" in info.value.errors
    await client.inbox.delete_tag(made.id)
    assert made.id not in {t.id for t in await client.inbox.list_tags()}
    with pytest.raises(NotFound):
        await client.inbox.delete_tag(BOB_TAG)


# Seeds whose first answers are lost (1, 7: once, twice) and answered (2).
@pytest.mark.parametrize("seed", [1, 2, 7])
async def test_tag_create_under_lost_answers_makes_one_and_returns_it(
    client: SharingtoolsClient, control: httpx.AsyncClient, seed: int
) -> None:
    # After a lost answer the retry meets 409: the lost attempt made the tag, which is then
    # read back by name.
    await lose_responses(control, seed=seed, rate=0.5)
    made = await client.inbox.create_tag(f"Partner {seed}", "#abcdef")
    await clear_faults(control)
    copies = [t for t in await stored(control, "inbox_tags", user_id=1) if t["name"] == f"Partner {seed}"]
    assert [t["id"] for t in copies] == [made.id] and made.color == "#abcdef"
    assert client.transport.stats.conflicts_as_success == (1 if client.transport.stats.retries else 0)


async def test_tag_delete_whose_answer_is_lost_is_done(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    await lose_responses(control, seed=1, rate=1.0, methods=("DELETE",))
    await client.inbox.delete_tag(COMPLAINT)
    await clear_faults(control)
    assert COMPLAINT not in {t["id"] for t in await stored(control, "inbox_tags")}
    assert client.transport.stats.readbacks == 1
