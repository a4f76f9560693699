"""WelcomeDmResource against the in-process emulator."""

from __future__ import annotations

import httpx
import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import NotFound
from orchestrator.api.resources.welcomedm import DailyPause, WelcomeDmLog, WelcomeDmSchedule, WelcomeDmSettings
from tests.api.conftest import request_count, stored

ALICE_SCHEDULES = 21  # the demo world: 25 accounts, four without a welcome DM
BOB_SCHEDULE_ID = 22  # bob's two schedules come after alice's


async def test_list_schedules_parses_every_documented_field(client: SharingtoolsClient) -> None:
    schedules = [s async for s in client.welcomedm.list_schedules()]
    assert len(schedules) == ALICE_SCHEDULES
    first = schedules[0]
    assert isinstance(first, WelcomeDmSchedule) and (first.id, first.account_id) == (1, 1)
    assert isinstance(first.daily_pause, DailyPause) and isinstance(first.settings, WelcomeDmSettings)
    assert first.message_count == len(first.messages) and first.messages[0]["text"]
    assert first.status in ("active", "inactive") and first.schedule_date
    assert all(s.speed == "auto" or isinstance(s.speed, int) for s in schedules)
    paused = [s for s in schedules if s.daily_pause and s.daily_pause.enabled]
    assert paused and all(s.daily_pause.from_ and s.daily_pause.to for s in paused)
    # The attachment is reported as a flag; its path never leaves the server.
    assert any(s.settings and s.settings.has_attachment for s in schedules)
    assert not any("attachment_path" in s.model_dump() for s in schedules)


async def test_list_schedules_page(client: SharingtoolsClient) -> None:
    page = await client.welcomedm.list_schedules_page(2, 5)
    assert (page.total, page.page, page.per_page, len(page.items)) == (ALICE_SCHEDULES, 2, 5, 5)
    assert all(isinstance(s, WelcomeDmSchedule) for s in page.items)


async def test_get_schedule_own_and_not_another_users(client: SharingtoolsClient) -> None:
    schedule = await client.welcomedm.get_schedule(2)
    assert (schedule.id, schedule.account_id) == (2, 2)
    with pytest.raises(NotFound):
        await client.welcomedm.get_schedule(BOB_SCHEDULE_ID)


async def test_pause_and_activate(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    paused = await client.welcomedm.pause(1)
    assert isinstance(paused, WelcomeDmSchedule) and not paused.is_active and paused.status == "inactive"
    assert (await client.welcomedm.pause(1)).is_active is False  # a repeat is harmless
    active = await client.welcomedm.activate(1)
    assert active.is_active and active.status == "active"
    raw = next(d for d in await stored(control, "welcomedm_schedules") if d["id"] == 1)
    assert raw["is_active"] is True


async def test_switches_on_another_users_schedule_are_not_found(client: SharingtoolsClient) -> None:
    with pytest.raises(NotFound):
        await client.welcomedm.activate(BOB_SCHEDULE_ID)
    with pytest.raises(NotFound):
        await client.welcomedm.pause(BOB_SCHEDULE_ID)


async def test_logs_read_every_page_at_100(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    expected = len(await stored(control, "welcomedm_logs", user_id=1))
    assert expected > 100  # the demo world has more than one page of alice's logs
    await control.post("/requests/reset")
    logs = [log async for log in client.welcomedm.logs()]
    assert len(logs) == expected and len({log.id for log in logs}) == expected
    assert all(isinstance(log, WelcomeDmLog) and log.status in ("sent", "skipped", "error") for log in logs)
    assert await request_count(control, "GET", "/welcomedm/logs") == 2


async def test_logs_filter_by_account_and_status(client: SharingtoolsClient) -> None:
    sent = [log async for log in client.welcomedm.logs(account_id=1, status="sent")]
    assert sent and all(log.account_id == 1 and log.status == "sent" for log in sent)
    page = await client.welcomedm.logs_page(1, 3, status="sent")
    assert len(page.items) == 3 and page.total >= len(sent)
    assert all(log.status == "sent" for log in page.items)


async def test_get_log_own_and_not_another_users(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    mine = next(d for d in await stored(control, "welcomedm_logs", user_id=1))
    log = await client.welcomedm.get_log(mine["id"])
    assert (log.id, log.account_id, log.follower_id) == (mine["id"], mine["account_id"], mine["follower_id"])
    bobs = next(d for d in await stored(control, "welcomedm_logs", user_id=2))
    with pytest.raises(NotFound):
        await client.welcomedm.get_log(bobs["id"])
