"""LeadsResource against the in-process emulator."""

from __future__ import annotations

import httpx
import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import NotFound
from orchestrator.api.resources.leads import ExportPage, LeadsLog, LeadsSchedule, LeadsStat, LeadsTarget
from orchestrator.emulator.testing import LocalEmulator
from tests.api.conftest import request_count, stored

ALICE_SCHEDULES = 9  # the demo world: nine of alice's, then bob's two (ids 10, 11)
BOB_SCHEDULE_ID = 10
WITH_FILE, WITHOUT_FILE = 1, 3  # schedule 1 has an export of a few hundred lines; 3 has none


async def test_list_schedules_parses_every_documented_field(client: SharingtoolsClient) -> None:
    schedules = [s async for s in client.leads.list_schedules()]
    assert len(schedules) == ALICE_SCHEDULES
    first = schedules[0]
    assert isinstance(first, LeadsSchedule) and first.id == 1 and first.task_name == "fashion-followers-march"
    assert first.targets and isinstance(first.targets[0], LeadsTarget) and first.target_count == len(first.targets)
    assert first.status in ("running", "active", "scheduled", "inactive")
    assert isinstance(first.analyzed_percentage, float) and first.parser_data_type
    assert first.data_fields is not None and len(first.data_fields) == 15
    assert first.filters is not None and "followers_min" in first.filters
    for group in (first.language_filter, first.telegram, first.accelerators, first.custom_delays):
        assert isinstance(group, dict)


async def test_list_schedules_page_and_account_filter(client: SharingtoolsClient) -> None:
    page = await client.leads.list_schedules_page(2, 4)
    assert (page.total, page.page, page.per_page, len(page.items)) == (ALICE_SCHEDULES, 2, 4, 4)
    of_ten = [s async for s in client.leads.list_schedules(account_id=10)]
    assert of_ten and all(s.account_id == 10 for s in of_ten)


async def test_get_schedule_own_and_not_another_users(client: SharingtoolsClient) -> None:
    assert (await client.leads.get_schedule(2)).id == 2
    with pytest.raises(NotFound):
        await client.leads.get_schedule(BOB_SCHEDULE_ID)


async def test_stop_and_start(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    stopped = await client.leads.stop(1)
    assert isinstance(stopped, LeadsSchedule) and not stopped.is_active and not stopped.is_running
    assert stopped.status == "inactive"
    started = await client.leads.start(1)
    assert started.is_active and started.status in ("active", "running", "scheduled")
    raw = next(d for d in await stored(control, "leads_schedules") if d["id"] == 1)
    assert raw["is_active"] is True
    with pytest.raises(NotFound):
        await client.leads.start(BOB_SCHEDULE_ID)
    with pytest.raises(NotFound):
        await client.leads.stop(BOB_SCHEDULE_ID)


async def test_export_reads_every_line(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    expected = [d["line"] for d in await stored(control, "leads_export_lines") if d["schedule_id"] == WITH_FILE]
    lines = [line async for line in client.leads.export(WITH_FILE)]
    assert lines == expected and all(isinstance(line, str) for line in lines)


async def test_export_pages_by_5000_lines(
    client: SharingtoolsClient, emu: LocalEmulator, control: httpx.AsyncClient
) -> None:
    # Grow schedule 1's file past one 5,000-line page, as hours of parsing would.
    existing = len([d for d in await stored(control, "leads_export_lines") if d["schedule_id"] == WITH_FILE])
    extra = [{"user_id": 1, "account_id": 1, "schedule_id": WITH_FILE, "line": f"lead_{i}"} for i in range(6_000)]
    emu.state.store.table("leads_export_lines", key="schedule_id").insert_many(extra)
    await control.post("/requests/reset")
    lines = [line async for line in client.leads.export(WITH_FILE)]
    assert len(lines) == existing + 6_000 and lines[-1] == "lead_5999"
    assert await request_count(control, "GET", "/leads/schedules/{id}/export") == 2


async def test_export_page_and_missing_file(client: SharingtoolsClient) -> None:
    page = await client.leads.export_page(WITH_FILE, 2, 50)
    assert isinstance(page, ExportPage) and (page.page, page.per_page, len(page.items)) == (2, 50, 50)
    assert page.total > 100 and page.file_path == "fashion-followers-march.txt"
    with pytest.raises(NotFound) as info:
        [line async for line in client.leads.export(WITHOUT_FILE)]
    assert "parser may not have run" in info.value.message
    with pytest.raises(NotFound):
        await client.leads.export_page(BOB_SCHEDULE_ID)


async def test_logs_filters_page_and_get(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    logs = [log async for log in client.leads.logs()]
    assert len(logs) == len(await stored(control, "leads_logs", user_id=1))
    assert all(isinstance(log, LeadsLog) and log.status for log in logs)
    one = logs[0]
    assert one.schedule_id and one.date and one.parsed is not None and one.collected is not None
    filtered = [log async for log in client.leads.logs(account_id=one.account_id, status=one.status)]
    assert filtered and all((log.account_id, log.status) == (one.account_id, one.status) for log in filtered)
    page = await client.leads.logs_page(1, 5)
    assert len(page.items) == 5 and page.total == len(logs)
    assert (await client.leads.get_log(one.id)).id == one.id
    bobs = (await stored(control, "leads_logs", user_id=2))[0]
    with pytest.raises(NotFound):
        await client.leads.get_log(bobs["id"])


async def test_stats_filters_and_page(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    stats = [s async for s in client.leads.stats()]
    assert len(stats) == len(await stored(control, "leads_stats", user_id=1))
    assert all(isinstance(s, LeadsStat) and s.type and s.requests is not None for s in stats)
    wanted = stats[0]
    filtered = [s async for s in client.leads.stats(account_id=wanted.account_id, type=wanted.type)]
    assert filtered and all((s.account_id, s.type) == (wanted.account_id, wanted.type) for s in filtered)
    page = await client.leads.stats_page(1, 2)
    assert len(page.items) == 2 and page.total == len(stats)


async def test_logs_read_every_page_at_100(
    client: SharingtoolsClient, emu: LocalEmulator, control: httpx.AsyncClient
) -> None:
    seeded = len(await stored(control, "leads_logs", user_id=1))
    runs = [{"user_id": 1, "account_id": 1, "schedule_id": 1, "status": "success", "parsed": 10, "collected": 5,
             "message": "batch", "date": "2026-01-01 00:00:00"} for _ in range(200 - seeded)]
    emu.state.store.table("leads_logs").insert_many(runs)
    await control.post("/requests/reset")
    logs = [log async for log in client.leads.logs()]
    assert len(logs) == 200 and len({log.id for log in logs}) == 200
    assert await request_count(control, "GET", "/leads/logs") == 2
