"""Welcome DM against the in-process emulator.

Demo facts used here: Welcome DM schedules 1-21 belong to alice (every account but 5, 13, 20
and 25, in account order), 22-23 to bob (accounts 26 and 28). Accounts 9 and 18 need a new
login. The clock is fixed at noon UTC, outside every daily pause.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestrator.emulator.testing import LocalEmulator
from tests.conftest import all_items, data, error, world

SCHEDULE_FIELDS = {"id", "account_id", "is_active", "status", "messages", "message_count", "speed",
                   "daily_pause", "settings", "schedule_date", "end_date", "last_action_date"}
SETTINGS_FIELDS = {"skip_opened", "mute_thread", "has_attachment", "debug_mode"}
LOG_FIELDS = {"id", "account_id", "status", "follower_id", "message", "details", "date"}
BOB_SCHEDULE = 22


@pytest.fixture
def emu() -> LocalEmulator:
    return world()


async def schedules(client) -> list[dict]:
    return await all_items(client, "/welcomedm/schedules")


async def logs_of(client, account_id: int) -> list[dict]:
    return await all_items(client, "/welcomedm/logs", account_id=account_id)


async def log_count(client, account_id: int) -> int:
    return data(await client.get("/welcomedm/logs", params={"account_id": account_id}))["total"]


# -- schedules ----------------------------------------------------------------------------
async def test_list_schedules_fields_and_scope(alice, bob, admin):
    page = data(await alice.get("/welcomedm/schedules", params={"per_page": 10, "page": 3}))
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (21, 3, 10, 1)
    items = await schedules(alice)
    assert {s["account_id"] for s in items} == set(range(1, 26)) - {5, 13, 20, 25}
    for schedule in items:
        assert set(schedule) == SCHEDULE_FIELDS
        assert set(schedule["settings"]) == SETTINGS_FIELDS
        assert set(schedule["daily_pause"]) == {"enabled", "from", "to"}
        assert schedule["speed"] == "auto" or schedule["speed"] in range(1, 6)
        assert schedule["message_count"] == len(schedule["messages"]) >= 1
        assert all(isinstance(m["text"], str) for m in schedule["messages"])
        assert schedule["status"] == ("active" if schedule["is_active"] else "inactive")
    # The demo is varied: both kinds of speed, pauses, paused schedules, attachments, media.
    assert {type(s["speed"]) for s in items} == {str, int}
    assert any(s["daily_pause"]["enabled"] for s in items)
    assert any(not s["is_active"] for s in items)
    assert any(s["settings"]["has_attachment"] for s in items)
    assert any("media" in m for s in items for m in s["messages"])
    assert [s["account_id"] for s in await schedules(bob)] == [26, 28]
    assert data(await admin.get("/welcomedm/schedules"))["total"] == 23


async def test_attachment_path_is_never_exposed(alice, admin, control):
    raw = (await control.get("/state/welcomedm_schedules")).json()["items"]
    paths = [s["settings"]["attachment_path"] for s in raw if s["settings"]["attachment_path"]]
    assert paths
    for client in (alice, admin):
        answers = [await client.get("/welcomedm/schedules", params={"per_page": 100})]
        for schedule in answers[0].json()["data"]["items"]:
            answers.append(await client.get(f"/welcomedm/schedules/{schedule['id']}"))
        answers.append(await client.post("/welcomedm/schedules/1/pause"))
        answers.append(await client.post("/welcomedm/schedules/1/activate"))
        for answer in answers:
            assert answer.status_code == 200
            assert "attachment_path" not in answer.text and "/var/www" not in answer.text
            assert not any(path in answer.text for path in paths)


async def test_get_schedule(alice, admin):
    schedule = data(await alice.get("/welcomedm/schedules/1"))
    assert schedule["account_id"] == 1 and schedule["speed"] == "auto"
    assert schedule["messages"][0] == {
        "text": "Hey {username}, welcome! 👋 Check our latest drops at {link}"}
    error(await alice.get("/welcomedm/schedules/999"), 404, "Schedule not found")
    error(await alice.get(f"/welcomedm/schedules/{BOB_SCHEDULE}"), 404, "Schedule not found")
    assert data(await admin.get(f"/welcomedm/schedules/{BOB_SCHEDULE}"))["account_id"] == 26


async def test_pause_and_activate(alice, bob, control):
    body = (await alice.post("/welcomedm/schedules/1/pause")).json()
    assert body["message"] == "Schedule paused."
    assert (body["data"]["is_active"], body["data"]["status"]) == (False, "inactive")
    await control.post("/clock/advance", json={"seconds": 90, "ticks": 0})
    body = (await alice.post("/welcomedm/schedules/1/activate")).json()
    assert body["message"] == "Schedule activated."
    assert (body["data"]["is_active"], body["data"]["status"]) == (True, "active")
    assert body["data"]["schedule_date"] == "2026-03-15 12:01:30"
    assert data(await alice.get("/welcomedm/schedules/1"))["is_active"] is True
    assert data(await bob.post(f"/welcomedm/schedules/{BOB_SCHEDULE}/pause"))["is_active"] is False
    for action in ("activate", "pause"):
        error(await alice.post(f"/welcomedm/schedules/999/{action}"), 404)
        error(await alice.post(f"/welcomedm/schedules/{BOB_SCHEDULE}/{action}"), 404)
        error(await bob.post(f"/welcomedm/schedules/1/{action}"), 404)


# -- logs -------------------------------------------------------------------------------
async def test_list_logs_and_filters(alice, admin):
    logs = await all_items(alice, "/welcomedm/logs")
    assert logs and all(set(log) == LOG_FIELDS for log in logs)
    assert [log["date"] for log in logs] == sorted((log["date"] for log in logs), reverse=True)
    assert {log["status"] for log in logs} <= {"sent", "skipped", "error"}
    sent = [log for log in logs if log["status"] == "sent"]
    assert sent and all(log["follower_id"].isdigit() and log["message"] is None for log in sent)
    for_3 = await logs_of(alice, 3)
    assert for_3 and {log["account_id"] for log in for_3} == {3}
    only_sent = await all_items(alice, "/welcomedm/logs", status="sent")
    assert only_sent and {log["status"] for log in only_sent} == {"sent"}
    both = await all_items(alice, "/welcomedm/logs", status="sent", account_id=3)
    assert {log["id"] for log in both} == {log["id"] for log in for_3 if log["status"] == "sent"}
    assert await logs_of(alice, 26) == []  # bob's account: nothing leaks
    assert await log_count(admin, 26) > 0
    page = data(await alice.get("/welcomedm/logs", params={"per_page": 5, "page": 2}))
    assert page["items"] == logs[5:10]
    assert len(logs) == 100 and page["total"] > 100  # one page holds at most 100
    error(await alice.get("/welcomedm/logs", params={"status": "delivered"}), 422)
    error(await alice.get("/welcomedm/logs", params={"account_id": "x"}), 422)


async def test_get_log(alice, admin):
    log = (await all_items(alice, "/welcomedm/logs"))[0]
    assert data(await alice.get(f"/welcomedm/logs/{log['id']}")) == log
    bobs = (await logs_of(admin, 26))[0]
    error(await alice.get(f"/welcomedm/logs/{bobs['id']}"), 404, "Log entry not found")
    error(await alice.get("/welcomedm/logs/99999"), 404, "Log entry not found")


# -- the engine ---------------------------------------------------------------------------
async def test_tick_greets_new_followers(alice, control):
    before = {log["id"] for log in await logs_of(alice, 1)}
    await control.post("/tick")
    new = [log for log in await logs_of(alice, 1) if log["id"] not in before]
    assert new and all(log["date"] == "2026-03-15 12:00:00" for log in new)
    assert {log["status"] for log in new} <= {"sent", "skipped"}
    assert any(log["status"] == "sent" for log in new)
    assert all(log["follower_id"].isdigit() for log in new)
    schedule = data(await alice.get("/welcomedm/schedules/1"))
    assert schedule["last_action_date"] == "2026-03-15 12:00:00"
    assert schedule["schedule_date"] > "2026-03-15 12:00:00"  # the next greeting waits its turn
    await control.post("/tick")  # not due yet: nothing more
    assert len(await logs_of(alice, 1)) == len(before) + len(new)


async def test_faster_speed_greets_more(alice, control):
    runnable = [s for s in await schedules(alice) if s["is_active"]
                and s["account_id"] not in (9, 18) and not s["settings"]["debug_mode"]]
    slow = next(s for s in runnable if s["speed"] == 1)
    fast = next(s for s in runnable if s["speed"] == 5)
    await control.post("/tick")  # the first run catches up; measure from here
    before = {s["id"]: await log_count(alice, s["account_id"]) for s in (slow, fast)}
    for _ in range(30):  # an hour in two-minute steps
        await control.post("/clock/advance", json={"seconds": 120, "ticks": 1})
    gained = {s["id"]: await log_count(alice, s["account_id"]) - before[s["id"]]
              for s in (slow, fast)}
    assert 0 < gained[slow["id"]] < gained[fast["id"]]


async def test_paused_schedule_sends_nothing(alice, control):
    await alice.post("/welcomedm/schedules/1/pause")
    before = await log_count(alice, 1)
    await control.post("/clock/advance", json={"seconds": 600, "ticks": 2})
    assert await log_count(alice, 1) == before


async def test_tick_switches_off_login_required(alice, control):
    await control.post("/tick")
    by_account = {s["account_id"]: s for s in await schedules(alice)}
    for account_id in (9, 18):
        assert by_account[account_id]["is_active"] is False
        latest = (await logs_of(alice, account_id))[0]
        assert latest["status"] == "error" and "login" in latest["message"]
        assert latest["follower_id"] is None


async def test_debug_mode_logs_without_sending(alice, control):
    debug = next(s for s in await schedules(alice) if s["settings"]["debug_mode"])
    before = {log["id"] for log in await logs_of(alice, debug["account_id"])}
    await alice.post(f"/welcomedm/schedules/{debug['id']}/activate")
    await control.post("/tick")
    new = [log for log in await logs_of(alice, debug["account_id"]) if log["id"] not in before]
    assert new and all(log["status"] == "skipped" and "Debug" in log["message"] for log in new)


async def test_daily_pause_defers_greetings():
    late = world(datetime(2026, 3, 15, 23, 45, tzinfo=UTC))
    window = {"enabled": True, "from": "22:00", "to": "08:00"}
    async with late.http("alice") as alice, late.control() as control:
        paused = next(s for s in await schedules(alice)
                      if s["is_active"] and s["daily_pause"] == window)
        before = await log_count(alice, paused["account_id"])
        await control.post("/tick")
        schedule = data(await alice.get(f"/welcomedm/schedules/{paused['id']}"))
        assert schedule["schedule_date"] == "2026-03-16 08:00:00"  # the end of the window
        assert await log_count(alice, paused["account_id"]) == before


async def test_end_date_stops_the_campaign(alice, control):
    ending = next(s for s in await schedules(alice) if s["end_date"] and s["is_active"])
    await control.post("/clock/advance", json={"seconds": 31 * 86400, "ticks": 0})
    before = await log_count(alice, ending["account_id"])
    await control.post("/tick")
    assert await log_count(alice, ending["account_id"]) == before
    assert (await logs_of(alice, 1))[0]["date"] > ending["end_date"]  # the others still run


async def test_scale_seed_adds_one_schedule_per_account():
    scale = LocalEmulator("accounts=50")
    async with scale.http("alice") as alice:
        items = await schedules(alice)
        assert len(items) == 50 and len({s["account_id"] for s in items}) == 50
        assert all(set(s) == SCHEDULE_FIELDS and s["is_active"] for s in items)
