"""AiDmResource against the in-process emulator."""

from __future__ import annotations

import httpx
import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import ModuleNotEnabled, NotFound
from orchestrator.api.resources.ai_dm import (
    AiDmLog,
    AiDmMessage,
    AiDmSchedule,
    AiDmSettings,
    AiDmThread,
    CallToAction,
    DailyPause,
)
from orchestrator.emulator.testing import LocalEmulator
from tests.api.conftest import request_count, stored


async def _bobs(control: httpx.AsyncClient, table: str) -> int:
    """The id of a document of bob's (user 2) in ``table``."""
    return (await stored(control, table, user_id=2))[0]["id"]


async def test_list_schedules_parses_every_documented_field(client: SharingtoolsClient,
                                                            control: httpx.AsyncClient) -> None:
    schedules = [s async for s in client.ai_dm.list_schedules()]
    assert len(schedules) == len(await stored(control, "ai_dm_schedules", user_id=1))
    first = schedules[0]
    assert isinstance(first, AiDmSchedule) and first.account_name == "fashion_nova"
    assert first.status in ("running", "active", "inactive")
    assert isinstance(first.daily_pause, DailyPause) and isinstance(first.cta, CallToAction)
    assert isinstance(first.settings, AiDmSettings) and first.settings.system_prompt and first.settings.model
    assert isinstance(first.settings.api_key_configured, bool)
    # The OpenAI key is reported as a flag only.
    assert not any("api_key" in s.settings.model_dump() for s in schedules if s.settings)


async def test_list_schedules_page_and_get(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    page = await client.ai_dm.list_schedules_page(1, 2)
    assert (page.page, page.per_page, len(page.items)) == (1, 2, 2) and page.total > 2
    one = await client.ai_dm.get_schedule(page.items[1].id)
    assert one.id == page.items[1].id and one.account_id == page.items[1].account_id
    with pytest.raises(NotFound):
        await client.ai_dm.get_schedule(await _bobs(control, "ai_dm_schedules"))


async def test_pause_and_activate(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    paused = await client.ai_dm.pause(1)
    assert isinstance(paused, AiDmSchedule) and not paused.is_active and paused.status == "inactive"
    active = await client.ai_dm.activate(1)
    assert active.is_active and active.status in ("active", "running")
    raw = next(d for d in await stored(control, "ai_dm_schedules") if d["id"] == 1)
    assert raw["is_active"] is True
    bobs = await _bobs(control, "ai_dm_schedules")
    with pytest.raises(NotFound):
        await client.ai_dm.pause(bobs)
    with pytest.raises(NotFound):
        await client.ai_dm.activate(bobs)


async def test_logs_filters_page_and_get(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    logs = [log async for log in client.ai_dm.logs()]
    assert len(logs) == len(await stored(control, "ai_dm_logs", user_id=1))
    assert all(isinstance(log, AiDmLog) and log.type and log.status and log.date for log in logs)
    one = logs[0]
    same = [log async for log in client.ai_dm.logs(account_id=one.account_id, type=one.type, status=one.status)]
    assert one.id in {log.id for log in same}
    assert all((log.account_id, log.type, log.status) == (one.account_id, one.type, one.status) for log in same)
    page = await client.ai_dm.logs_page(2, 5)
    assert (page.page, len(page.items), page.total) == (2, 5, len(logs))
    assert (await client.ai_dm.get_log(one.id)).id == one.id
    with pytest.raises(NotFound):
        await client.ai_dm.get_log(await _bobs(control, "ai_dm_logs"))


async def test_threads_list_filter_page_and_get(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    threads = [t async for t in client.ai_dm.list_threads()]
    assert len(threads) == len(await stored(control, "ai_dm_threads", user_id=1))
    first = threads[0]
    assert isinstance(first, AiDmThread) and first.thread_v2_id and first.them_username and first.item_count
    of_account = [t async for t in client.ai_dm.list_threads(account_id=first.account_id)]
    assert of_account and all(t.account_id == first.account_id for t in of_account)
    page = await client.ai_dm.list_threads_page(1, 3, account_id=first.account_id)
    assert page.total == len(of_account) and len(page.items) == min(3, len(of_account))
    assert (await client.ai_dm.get_thread(first.id)).them_user_pk == first.them_user_pk
    with pytest.raises(NotFound):
        await client.ai_dm.get_thread(await _bobs(control, "ai_dm_threads"))


async def test_messages_are_chronological_and_paged(client: SharingtoolsClient) -> None:
    thread = await client.ai_dm.get_thread(1)
    messages = [m async for m in client.ai_dm.messages(1)]
    assert len(messages) == thread.item_count
    assert all(isinstance(m, AiDmMessage) and m.thread_id == 1 and m.item_id for m in messages)
    assert [int(m.timestamp or 0) for m in messages] == sorted(int(m.timestamp or 0) for m in messages)
    assert isinstance(messages[0].content, dict) and messages[0].content.get("text")
    page = await client.ai_dm.messages_page(1, 1, 2)
    assert [m.id for m in page.items] == [m.id for m in messages[:2]] and page.total == len(messages)


async def test_messages_read_every_page_at_100(
    client: SharingtoolsClient, emu: LocalEmulator, control: httpx.AsyncClient
) -> None:
    seeded = len([m async for m in client.ai_dm.messages(1)])
    extra = [{"user_id": 1, "account_id": 1, "thread_id": 1, "item_id": f"x{i}",
              "timestamp": str(1_900_000_000_000_000 + i), "item_type": "text", "is_sent_by_us": i % 2 == 0,
              "content": {"text": f"message {i}"}} for i in range(150)]
    emu.state.store.table("ai_dm_messages").insert_many(extra)
    await control.post("/requests/reset")
    messages = [m async for m in client.ai_dm.messages(1)]
    assert len(messages) == seeded + 150 and messages[-1].content == {"text": "message 149"}
    assert await request_count(control, "GET", "/ai-dm/threads/{id}/messages") == 2


async def test_bob_without_the_module_gets_module_not_enabled(bob_client: SharingtoolsClient) -> None:
    with pytest.raises(ModuleNotEnabled):
        [s async for s in bob_client.ai_dm.list_schedules()]
    with pytest.raises(ModuleNotEnabled):
        await bob_client.ai_dm.get_thread(1)
    with pytest.raises(ModuleNotEnabled):
        await bob_client.ai_dm.activate(1)
