"""AI-DM against the in-process emulator.

Demo facts used here (seeded in this order): AI-DM schedules 1-6 belong to alice's accounts
1, 3, 10, 16, 18 and 22; schedule 2 is mid-run (``running``), schedule 3 pauses daily
23:00-07:00, schedule 4 is inactive with no OpenAI key, account 18 needs a new login;
schedule 7 is bob's (account 26), whose plan lacks ``ai-dm``. Threads 1-4 belong to account
1, thread 4 holds one unanswered question; threads 24-25 are bob's. The clock is fixed at
noon UTC, outside every daily pause.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from orchestrator.emulator.testing import LocalEmulator
from tests.conftest import all_items, data, error, world

SCHEDULE_FIELDS = {"id", "account_id", "account_name", "status", "is_active", "daily_pause", "cta",
                   "settings", "schedule_date", "last_action_date"}
SETTINGS_FIELDS = {"system_prompt", "api_key_configured", "model", "folder", "max_per_conversation",
                   "max_per_day_requests", "max_per_run_requests", "max_per_day_messages",
                   "max_per_run_messages", "max_time"}
THREAD_FIELDS = {"id", "account_id", "thread_v2_id", "them_user_pk", "them_username",
                 "them_fullname", "item_count", "last_activity_at", "last_seen_by_us",
                 "last_seen_by_them", "last_permanent_item_at", "last_non_sender_item_at",
                 "last_checked"}
MESSAGE_FIELDS = {"id", "thread_id", "item_id", "timestamp", "item_type", "is_sent_by_us",
                  "content"}
LOG_FIELDS = {"id", "account_id", "schedule_id", "thread_id", "type", "status", "message",
              "details", "date"}
BOB_SCHEDULE = 7
BOB_THREAD = 24
UNANSWERED_THREAD = 4
BOB_CALLS = [
    ("GET", "/ai-dm/schedules"), ("GET", "/ai-dm/schedules/7"),
    ("POST", "/ai-dm/schedules/7/activate"), ("POST", "/ai-dm/schedules/7/pause"),
    ("GET", "/ai-dm/logs"), ("GET", "/ai-dm/logs/1"), ("GET", "/ai-dm/threads"),
    ("GET", "/ai-dm/threads/24"), ("GET", "/ai-dm/threads/24/messages"),
]


@pytest.fixture
def emu() -> LocalEmulator:
    return world()


async def logs(client, **filters) -> list[dict]:
    return await all_items(client, "/ai-dm/logs", **filters)


# -- module gate ------------------------------------------------------------------------
async def test_bobs_plan_lacks_ai_dm(bob):
    for method, path in BOB_CALLS:
        error(await bob.request(method, path), 403, "Module not enabled")


async def test_module_not_installed_is_503(alice, control):
    await control.put("/modules", json={"installed": ["welcomedm"]})
    error(await alice.get("/ai-dm/schedules"), 503)


# -- schedules ----------------------------------------------------------------------------
async def test_list_schedules_fields_and_scope(alice, admin):
    page = data(await alice.get("/ai-dm/schedules", params={"per_page": 4, "page": 2}))
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (6, 2, 4, 2)
    items = await all_items(alice, "/ai-dm/schedules")
    assert [s["account_id"] for s in items] == [1, 3, 10, 16, 18, 22]
    for schedule in items:
        assert set(schedule) == SCHEDULE_FIELDS
        assert set(schedule["settings"]) == SETTINGS_FIELDS
        assert set(schedule["daily_pause"]) == {"enabled", "from", "to"}
        assert set(schedule["cta"]) == {"platform", "username", "spintax"}
        assert isinstance(schedule["settings"]["api_key_configured"], bool)
        assert schedule["status"] in ("running", "active", "inactive")
    first = items[0]
    assert first["account_name"] == "fashion_nova" and first["settings"]["folder"] in ("0", "1")
    assert first["cta"] == {"platform": "whatsapp", "username": "+14155550123", "spintax": None}
    assert data(await admin.get("/ai-dm/schedules"))["total"] == 7


async def test_schedule_statuses(alice):
    by_id = {s["id"]: s for s in await all_items(alice, "/ai-dm/schedules")}
    assert by_id[1]["status"] == "active"
    assert by_id[2]["status"] == "running" and by_id[2]["is_active"] is True
    assert by_id[3]["daily_pause"] == {"enabled": True, "from": "23:00", "to": "07:00"}
    assert by_id[4]["status"] == "inactive" and by_id[4]["is_active"] is False
    assert by_id[4]["settings"]["api_key_configured"] is False
    assert by_id[1]["settings"]["api_key_configured"] is True


async def test_get_schedule(alice, admin):
    schedule = data(await alice.get("/ai-dm/schedules/3"))
    assert (schedule["id"], schedule["account_id"]) == (3, 10)
    assert schedule["settings"]["model"] == "gpt-4o"
    error(await alice.get("/ai-dm/schedules/999"), 404, "Schedule not found")
    error(await alice.get(f"/ai-dm/schedules/{BOB_SCHEDULE}"), 404, "Schedule not found")
    assert data(await admin.get(f"/ai-dm/schedules/{BOB_SCHEDULE}"))["account_id"] == 26


async def test_schedule_id_is_not_an_account_id(alice):
    # Account 16's schedule is schedule 4; there is no schedule 16.
    error(await alice.get("/ai-dm/schedules/16"), 404)
    assert data(await alice.get("/ai-dm/schedules/4"))["account_id"] == 16


async def test_pause_and_activate(alice, control):
    body = (await alice.post("/ai-dm/schedules/1/pause")).json()
    assert body["message"] == "Schedule paused."
    assert body["data"]["is_active"] is False and body["data"]["status"] == "inactive"
    assert data(await alice.get("/ai-dm/schedules/1"))["is_active"] is False

    await control.post("/clock/advance", json={"seconds": 3600, "ticks": 0})
    body = (await alice.post("/ai-dm/schedules/4/activate")).json()
    assert body["message"] == "Schedule activated."
    assert body["data"]["is_active"] is True and body["data"]["status"] == "active"
    assert body["data"]["schedule_date"] == "2026-03-15 13:00:00"
    for action in ("activate", "pause"):
        error(await alice.post(f"/ai-dm/schedules/999/{action}"), 404)
        error(await alice.post(f"/ai-dm/schedules/{BOB_SCHEDULE}/{action}"), 404)


async def every_answer(client) -> list:
    """One answer from each AI-DM endpoint, and every schedule, some logs and threads."""
    answers = [await client.get("/ai-dm/schedules", params={"per_page": 100}),
               await client.get("/ai-dm/logs", params={"per_page": 100}),
               await client.get("/ai-dm/threads", params={"per_page": 100}),
               await client.post("/ai-dm/schedules/1/activate"),
               await client.post("/ai-dm/schedules/1/pause")]
    schedules, log_page, threads = (a.json()["data"]["items"] for a in answers[:3])
    for schedule in schedules:
        answers.append(await client.get(f"/ai-dm/schedules/{schedule['id']}"))
    for log in log_page[:10]:
        answers.append(await client.get(f"/ai-dm/logs/{log['id']}"))
    for thread in threads[:5]:
        answers.append(await client.get(f"/ai-dm/threads/{thread['id']}"))
        answers.append(await client.get(f"/ai-dm/threads/{thread['id']}/messages"))
    return answers


async def test_openai_key_is_stored_but_never_returned(alice, admin, control):
    raw = (await control.get("/state/ai_dm_schedules")).json()["items"]
    keys = [s["settings"]["openai_api_key"] for s in raw if s["settings"]["openai_api_key"]]
    assert len(keys) == 6 and all(k.startswith("sk-proj-") for k in keys)
    await control.post("/clock/advance", json={"seconds": 300, "ticks": 2})
    for client in (alice, admin):
        for answer in await every_answer(client):
            assert answer.status_code == 200, answer.text
            assert "openai_api_key" not in answer.text and "sk-proj-" not in answer.text
            assert not any(key in answer.text for key in keys)


# -- logs -------------------------------------------------------------------------------
async def test_list_logs_and_filters(alice, admin):
    everything = await logs(alice)
    assert everything and all(set(log) == LOG_FIELDS for log in everything)
    dates = [log["date"] for log in everything]
    assert dates == sorted(dates, reverse=True)  # newest first
    assert {log["account_id"] for log in everything} <= {1, 3, 10, 16, 18, 22}
    only_10 = await logs(alice, account_id=10)
    assert only_10 and {log["account_id"] for log in only_10} == {10}
    assert {log["account_id"] for log in await logs(alice, status="error")} == {16, 18}
    system = await logs(alice, type="system")
    assert [log["message"] for log in system] == ["OpenAI API key is not configured."]
    replies = await logs(alice, type="reply", status="success", account_id=1)
    assert replies and all(log["thread_id"] is not None for log in replies)
    assert await logs(alice, account_id=26) == []  # bob's account: nothing leaks
    assert await logs(admin, account_id=26)
    error(await alice.get("/ai-dm/logs", params={"type": "nonsense"}), 422)
    error(await alice.get("/ai-dm/logs", params={"status": "nonsense"}), 422)
    error(await alice.get("/ai-dm/logs", params={"account_id": "abc"}), 422)


async def test_get_log(alice, admin):
    oldest = (await logs(alice))[-1]
    assert data(await alice.get(f"/ai-dm/logs/{oldest['id']}")) == oldest
    bobs = (await logs(admin, account_id=26))[0]
    error(await alice.get(f"/ai-dm/logs/{bobs['id']}"), 404, "Log entry not found")
    error(await alice.get("/ai-dm/logs/99999"), 404, "Log entry not found")


# -- threads and messages -----------------------------------------------------------------
async def test_list_threads(alice, admin):
    threads = await all_items(alice, "/ai-dm/threads")
    assert len(threads) == 23 and all(set(t) == THREAD_FIELDS for t in threads)
    activity = [t["last_activity_at"] for t in threads]
    assert activity == sorted(activity, reverse=True)  # most recently active first
    assert all(t["thread_v2_id"].isdigit() and t["them_user_pk"].isdigit() for t in threads)
    for_10 = await all_items(alice, "/ai-dm/threads", account_id=10)
    assert len(for_10) == 4 and {t["account_id"] for t in for_10} == {10}
    assert await all_items(alice, "/ai-dm/threads", account_id=26) == []
    assert data(await admin.get("/ai-dm/threads"))["total"] == 25
    page = data(await alice.get("/ai-dm/threads", params={"per_page": 5, "page": 5}))
    assert (page["total"], len(page["items"])) == (23, 3)


async def test_get_thread(alice, admin):
    thread = data(await alice.get(f"/ai-dm/threads/{UNANSWERED_THREAD}"))
    assert thread["account_id"] == 1 and thread["item_count"] == 1
    assert thread["last_seen_by_them"] is None  # we never wrote in it
    error(await alice.get("/ai-dm/threads/999"), 404, "Thread not found")
    error(await alice.get(f"/ai-dm/threads/{BOB_THREAD}"), 404, "Thread not found")
    assert data(await admin.get(f"/ai-dm/threads/{BOB_THREAD}"))["account_id"] == 26


async def test_messages_are_chronological_and_paginated(alice):
    thread = data(await alice.get("/ai-dm/threads/1"))
    page = data(await alice.get("/ai-dm/threads/1/messages"))
    assert page["total"] == thread["item_count"] == 4
    messages = page["items"]
    assert all(set(m) == MESSAGE_FIELDS for m in messages)
    stamps = [int(m["timestamp"]) for m in messages]
    assert stamps == sorted(stamps) and all(len(m["timestamp"]) == 16 for m in messages)  # µs
    assert [m["is_sent_by_us"] for m in messages] == [False, True, False, True]
    first = messages[0]
    assert (first["thread_id"], first["item_type"]) == (1, "text")
    assert first["content"] == {"text": "Hi! Is the linen blazer still available in size M?"}
    second = data(await alice.get("/ai-dm/threads/1/messages", params={"per_page": 3, "page": 2}))
    assert second["items"] == messages[3:] and second["per_page"] == 3


async def test_messages_carry_other_item_types(alice):
    messages = await all_items(alice, "/ai-dm/threads/2/messages")
    assert messages[-1]["item_type"] == "like" and messages[-1]["content"] == {"like": "❤️"}
    shared = await all_items(alice, "/ai-dm/threads/3/messages")
    assert shared[0]["item_type"] == "media_share" and "media_share" in shared[0]["content"]


async def test_messages_of_unknown_or_foreign_thread(alice):
    error(await alice.get("/ai-dm/threads/999/messages"), 404, "Thread not found")
    error(await alice.get(f"/ai-dm/threads/{BOB_THREAD}/messages"), 404, "Thread not found")


# -- the engine ---------------------------------------------------------------------------
async def test_tick_answers_unanswered_threads(alice, control):
    last_id = max(log["id"] for log in await logs(alice))
    await control.post("/tick")
    thread = data(await alice.get(f"/ai-dm/threads/{UNANSWERED_THREAD}"))
    assert thread["last_checked"] == "2026-03-15 12:00:00" and thread["item_count"] >= 2
    messages = await all_items(alice, f"/ai-dm/threads/{UNANSWERED_THREAD}/messages")
    assert len(messages) == thread["item_count"] and messages[-1]["is_sent_by_us"] is True
    answer = [log for log in await logs(alice, account_id=1)
              if log["id"] > last_id and log["thread_id"] == UNANSWERED_THREAD]
    assert len(answer) == 1
    assert answer[0]["status"] == "success" and answer[0]["type"] in ("reply", "cta")
    assert answer[0]["date"] == "2026-03-15 12:00:00"
    assert answer[0]["details"]["model"] == "gpt-4o-mini"
    schedule = data(await alice.get("/ai-dm/schedules/1"))
    assert schedule["last_action_date"] == "2026-03-15 12:00:00"
    assert schedule["schedule_date"] == "2026-03-15 12:05:00"  # the next run, five minutes on
    assert data(await alice.get("/ai-dm/schedules/2"))["status"] == "active"  # its run finished


async def test_tick_switches_off_schedules_that_cannot_run(alice, admin, control):
    await control.post("/tick")
    login = data(await alice.get("/ai-dm/schedules/5"))
    assert login["is_active"] is False and login["status"] == "inactive"
    why = (await logs(alice, account_id=18, type="system"))[0]
    assert why["status"] == "error" and "login" in why["message"]
    assert data(await admin.get(f"/ai-dm/schedules/{BOB_SCHEDULE}"))["is_active"] is False
    assert "plan" in (await logs(admin, account_id=26, type="system"))[0]["message"]
    # A schedule re-activated without an OpenAI key is switched off too, saying why.
    await alice.post("/ai-dm/schedules/4/activate")
    await control.post("/tick")
    assert data(await alice.get("/ai-dm/schedules/4"))["is_active"] is False
    assert "OpenAI API key" in (await logs(alice, account_id=16, type="system"))[0]["message"]


async def test_paused_schedule_does_not_run(alice, control):
    await alice.post("/ai-dm/schedules/1/pause")
    await control.post("/tick")
    thread = data(await alice.get(f"/ai-dm/threads/{UNANSWERED_THREAD}"))
    assert thread["item_count"] == 1 and thread["last_checked"] != "2026-03-15 12:00:00"


async def test_daily_pause_defers_the_run():
    late = world(datetime(2026, 3, 15, 23, 30, tzinfo=UTC))
    async with late.http("alice") as alice, late.control() as control:
        before = len(await logs(alice, account_id=10))
        await control.post("/tick")
        schedule = data(await alice.get("/ai-dm/schedules/3"))
        assert schedule["schedule_date"] == "2026-03-16 07:00:00"  # resumes when the window ends
        assert len(await logs(alice, account_id=10)) == before
        ran = data(await alice.get("/ai-dm/schedules/1"))  # no pause window: it ran
        assert ran["last_action_date"] == "2026-03-15 23:30:00"


async def test_conversations_stay_consistent_over_many_runs(alice, control):
    for _ in range(30):
        await control.post("/clock/advance", json={"seconds": 300, "ticks": 1})
    schedules = {s["account_id"]: s for s in await all_items(alice, "/ai-dm/schedules")}
    for thread in await all_items(alice, "/ai-dm/threads"):
        messages = await all_items(alice, f"/ai-dm/threads/{thread['id']}/messages")
        assert len(messages) == thread["item_count"]
        ours = sum(m["is_sent_by_us"] for m in messages)
        assert ours <= schedules[thread["account_id"]]["settings"]["max_per_conversation"]
        assert [m["timestamp"] for m in messages] == sorted(m["timestamp"] for m in messages)
    cta_logs = await logs(alice, type="cta")
    assert cta_logs, "a conversation reached its last allowed message, with the call-to-action"
    for log in cta_logs:
        handle = schedules[log["account_id"]]["cta"]["username"]
        messages = await all_items(alice, f"/ai-dm/threads/{log['thread_id']}/messages")
        assert any(handle in m["content"]["text"] for m in messages if m["is_sent_by_us"])
