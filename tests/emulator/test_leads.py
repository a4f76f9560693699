"""Leads Finder (module ``parser``) against the in-process emulator.

Demo world facts used here: alice has 9 schedules and bob 2, found by task name below;
account 18 (alice's "brunch-spots-location") needs a new login.
"""

from __future__ import annotations

from tests.conftest import data, error

NO_FILE = "No exported leads file found for this schedule. The parser may not have run yet."
SCHEDULE_FIELDS = {"id", "account_id", "task_name", "status", "is_active", "is_running", "targets", "target_count",
                   "speed", "estimated_speed", "estimated_speed_parsed", "analyzed_percentage", "parser_data_type",
                   "data_fields", "filters", "language_filter", "telegram", "accelerators", "custom_delays",
                   "schedule_date", "end_date", "last_action_date"}
DATA_FIELDS = {"nickname", "user_id", "user_link", "full_name", "is_business", "business_category", "city", "link",
               "profile_bio", "followers_count", "is_verified", "home_country", "whatsapp_number",
               "is_new_to_instagram", "is_new_to_instagram_30d"}


async def schedules(client) -> dict[str, dict]:
    items = data(await client.get("/leads/schedules", params={"per_page": 100}))["items"]
    return {s["task_name"] or f"account-{s['account_id']}": s for s in items}


async def schedule(client, name: str) -> dict:
    return (await schedules(client))[name]


async def now(control) -> str:
    return (await control.get("/clock")).json()["now"]


async def advance(control, seconds: float) -> dict:
    return (await control.post("/clock/advance", json={"seconds": seconds, "ticks": 1})).json()["ticks"][0]


# -- schedules ----------------------------------------------------------------------
async def test_list_schedules_is_paginated_and_scoped(alice, bob, admin):
    page = data(await alice.get("/leads/schedules", params={"per_page": 4, "page": 2}))
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (9, 2, 4, 4)
    assert data(await bob.get("/leads/schedules"))["total"] == 2
    assert data(await admin.get("/leads/schedules"))["total"] == 11
    assert data(await alice.get("/leads/schedules", params={"per_page": 500}))["per_page"] == 100


async def test_schedule_object_has_every_documented_field(alice):
    s = await schedule(alice, "fashion-followers-march")
    assert set(s) == SCHEDULE_FIELDS and "user_id" not in s
    assert s["account_id"] == 1 and s["status"] == "running" and s["is_active"] and s["is_running"]
    assert s["targets"] == [{"type": "people_followers", "value": "fashionnova", "id": "19769622"}]
    assert s["target_count"] == 1 and s["speed"] == 3 and s["parser_data_type"] == "username"
    assert set(s["data_fields"]) == DATA_FIELDS and all(isinstance(v, bool) for v in s["data_fields"].values())
    assert s["filters"] == {"followers_min": 500, "followers_max": 50000, "followings_min": 0, "followings_max": 0,
                            "posts_min": 3, "posts_max": 0, "last_posted_min": 0, "last_posted_max": 90}
    assert s["language_filter"] == {"languages": [], "language_detection_notices": False}
    assert s["telegram"] == {"analytics_enabled": False, "errors_enabled": False, "chat_id": 0, "delay": 0}
    assert set(s["accelerators"]) == {"enabled", "accounts", "stop_if_all_disconnected", "get_followers_limit",
                                      "get_following_limit", "get_hashtag_limit", "get_location_limit",
                                      "get_liker_limit", "get_info_limit"}
    assert set(s["custom_delays"]) == {"enabled", "get_followers", "get_following", "get_hashtag", "get_location",
                                       "get_info", "get_likers"}
    assert 0 < s["analyzed_percentage"] < 100 and s["estimated_speed"] > 0 and s["estimated_speed_parsed"] > 0
    assert s["end_date"] == "2200-12-12 23:59:59" and s["last_action_date"]


async def test_demo_schedules_cover_every_status(alice, control):
    by_name = await schedules(alice)
    assert {s["status"] for s in by_name.values()} == {"running", "active", "scheduled", "inactive"}
    clock = await now(control)
    for s in by_name.values():
        expected = ("inactive" if not s["is_active"] else "running" if s["is_running"]
                    else "scheduled" if s["schedule_date"] > clock else "active")
        assert s["status"] == expected, s
    per_account = [s["account_id"] for s in by_name.values()]
    assert per_account.count(1) == 2 and per_account.count(10) == 2  # two tasks on one account


async def test_list_filters_by_account(alice):
    page = data(await alice.get("/leads/schedules", params={"account_id": 10}))
    assert page["total"] == 2 and {s["account_id"] for s in page["items"]} == {10}
    error(await alice.get("/leads/schedules", params={"account_id": 26}), 404, "Account not found")


async def test_get_schedule_and_404s(alice, bob):
    s = await schedule(alice, "gym-followers-nyc")
    got = data(await alice.get(f"/leads/schedules/{s['id']}"))
    assert got == s and got["target_count"] == 2
    assert got["accelerators"]["enabled"] is True and got["language_filter"]["languages"][0]["code"] == "en"
    bobs = (await schedule(bob, "pets-followers"))["id"]
    error(await alice.get(f"/leads/schedules/{bobs}"), 404, "Schedule not found")
    error(await alice.get("/leads/schedules/999"), 404, "Schedule not found")


# -- start and stop ------------------------------------------------------------------
async def test_start_sets_active_and_schedule_date_now(alice, control):
    s = await schedule(alice, "travel-explore-summer")
    assert s["status"] == "inactive"
    body = (await alice.post(f"/leads/schedules/{s['id']}/start")).json()
    assert body["status"] == "success" and body["message"] == "Schedule started."
    started = body["data"]
    assert started["is_active"] is True and started["status"] == "active"
    assert started["schedule_date"] == await now(control)
    error(await alice.get(f"/leads/schedules/{s['id']}/export"), 404, NO_FILE)
    await advance(control, 120)
    ran = data(await alice.get(f"/leads/schedules/{s['id']}"))
    assert ran["status"] == "running" and ran["is_running"] and ran["last_action_date"] == await now(control)
    assert ran["schedule_date"] > ran["last_action_date"]  # the next run is set ahead
    assert data(await alice.get(f"/leads/schedules/{s['id']}/export"))["total"] > 0


async def test_stop_clears_active_and_running(alice, control):
    s = await schedule(alice, "fashion-followers-march")
    body = (await alice.post(f"/leads/schedules/{s['id']}/stop")).json()
    assert body["message"] == "Schedule stopped."
    stopped = body["data"]
    assert (stopped["is_active"], stopped["is_running"], stopped["status"]) == (False, False, "inactive")
    await advance(control, 600)
    after = data(await alice.get(f"/leads/schedules/{s['id']}"))
    assert after["last_action_date"] == s["last_action_date"]  # the engine leaves it alone
    assert after["analyzed_percentage"] == s["analyzed_percentage"]


async def test_start_and_stop_of_another_users_schedule_are_404(alice, bob):
    bobs = (await schedule(bob, "pets-followers"))["id"]
    for action in ("start", "stop"):
        error(await alice.post(f"/leads/schedules/{bobs}/{action}"), 404, "Schedule not found")
        error(await alice.post(f"/leads/schedules/999/{action}"), 404, "Schedule not found")
    assert (await schedule(bob, "pets-followers"))["is_active"] is True


# -- export ----------------------------------------------------------------------------
async def test_export_pages_through_the_file(alice):
    s = await schedule(alice, "fashion-followers-march")
    first = data(await alice.get(f"/leads/schedules/{s['id']}/export", params={"per_page": 100}))
    assert first["file_path"] == "fashion-followers-march.txt"
    assert first["page"] == 1 and first["per_page"] == 100 and len(first["items"]) == 100
    assert 200 <= first["total"] <= 1000 and all(isinstance(line, str) and line for line in first["items"])
    everything = data(await alice.get(f"/leads/schedules/{s['id']}/export", params={"per_page": 5000}))
    assert everything["per_page"] == 5000 and len(everything["items"]) == first["total"]
    second = data(await alice.get(f"/leads/schedules/{s['id']}/export", params={"per_page": 100, "page": 2}))
    assert second["items"] == everything["items"][100:200]
    assert data(await alice.get(f"/leads/schedules/{s['id']}/export", params={"per_page": 9999}))["per_page"] == 5000


async def test_export_line_forms_and_file_names(alice):
    by_name = await schedules(alice)
    ids = data(await alice.get(f"/leads/schedules/{by_name['account-23']['id']}/export"))
    assert ids["file_path"] == "data-parsed-by-travel_wander.txt" and all(x.isdigit() for x in ids["items"])
    profile = data(await alice.get(f"/leads/schedules/{by_name['vegan-hashtag-leads']['id']}/export"))
    # nickname, full_name, is_business, business_category, city, followers_count
    assert all(len(line.split(",")) == 6 for line in profile["items"])


async def test_export_404s(alice, bob):
    s = await schedule(alice, "luxury-likers-q2")
    body = error(await alice.get(f"/leads/schedules/{s['id']}/export"), 404, NO_FILE)
    assert body["status"] == "error"
    bobs = (await schedule(bob, "pets-followers"))["id"]
    error(await alice.get(f"/leads/schedules/{bobs}/export"), 404, "Schedule not found")
    error(await alice.get("/leads/schedules/999/export"), 404, "Schedule not found")


# -- the engine ---------------------------------------------------------------------------
async def test_tick_appends_a_batch_and_updates_progress(alice, control):
    before = await schedule(alice, "gym-followers-nyc")
    lines_before = data(await alice.get(f"/leads/schedules/{before['id']}/export"))["total"]
    logs_before = data(await alice.get("/leads/logs", params={"account_id": 10}))["total"]
    report = await advance(control, 300)
    assert report["leads"]["batches"] >= 1
    after = data(await alice.get(f"/leads/schedules/{before['id']}"))
    assert after["analyzed_percentage"] > before["analyzed_percentage"]
    assert after["estimated_speed_parsed"] > before["estimated_speed_parsed"] and after["estimated_speed"] > 0
    assert after["last_action_date"] == await now(control)
    assert data(await alice.get(f"/leads/schedules/{before['id']}/export"))["total"] > lines_before
    logs = data(await alice.get("/leads/logs", params={"account_id": 10}))
    assert logs["total"] == logs_before + 2  # both of the account's tasks ran
    newest = next(e for e in logs["items"] if e["schedule_id"] == before["id"])
    assert newest["status"] == "success" and newest["type"] in ("get_followers", "get_likers")
    assert newest["date"] == after["last_action_date"] and newest["parsed"] >= newest["collected"] > 0


async def test_future_schedule_waits_for_its_date(alice, control):
    s = await schedule(alice, "luxury-likers-q2")
    assert s["status"] == "scheduled"
    await advance(control, 3600)
    assert data(await alice.get(f"/leads/schedules/{s['id']}"))["last_action_date"] is None
    await advance(control, 3 * 86400)
    ran = data(await alice.get(f"/leads/schedules/{s['id']}"))
    assert ran["status"] == "running" and ran["last_action_date"] is not None


async def test_engine_switches_off_a_schedule_whose_account_needs_login(alice, control):
    s = await schedule(alice, "brunch-spots-location")
    assert s["status"] == "active"
    report = await advance(control, 60)
    assert report["leads"]["switched_off"] == 1
    assert data(await alice.get(f"/leads/schedules/{s['id']}"))["status"] == "inactive"
    [entry] = data(await alice.get("/leads/logs", params={"account_id": 18}))["items"]
    assert entry["status"] == "error" and "login" in entry["message"]


async def test_a_finished_parse_stops_and_restarts_from_zero(alice, control):
    s = await schedule(alice, "account-23")
    assert 0 < s["analyzed_percentage"] < 100
    await alice.post(f"/leads/schedules/{s['id']}/start")
    await advance(control, 3600)
    done = data(await alice.get(f"/leads/schedules/{s['id']}"))
    assert done["analyzed_percentage"] == 100.0 and done["status"] == "inactive"
    assert "completed" in data(await alice.get("/leads/logs", params={"account_id": 23}))["items"][0]["message"]
    again = data(await alice.post(f"/leads/schedules/{s['id']}/start"))
    assert again["analyzed_percentage"] == 0.0 and again["status"] == "active"


async def test_schedule_past_its_end_date_is_not_run(emu, alice, control):
    s = await schedule(alice, "vegan-hashtag-leads")
    emu.state.store.table("leads_schedules").patch(s["id"], {"end_date": "2000-01-01 00:00:00"})
    await advance(control, 3600)
    assert data(await alice.get(f"/leads/schedules/{s['id']}"))["last_action_date"] == s["last_action_date"]


# -- logs and stats -----------------------------------------------------------------------
async def test_logs_list_filters_and_get(alice, bob):
    page = data(await alice.get("/leads/logs", params={"per_page": 5}))
    assert page["per_page"] == 5 and page["total"] > 5
    entry = page["items"][0]
    assert set(entry) == {"id", "account_id", "schedule_id", "task_name", "status", "type", "target", "parsed",
                          "collected", "message", "date"}
    ids = [e["id"] for e in page["items"]]
    assert ids == sorted(ids, reverse=True)
    only = data(await alice.get("/leads/logs", params={"account_id": 1, "status": "success"}))
    assert only["total"] > 0 and {(e["account_id"], e["status"]) for e in only["items"]} == {(1, "success")}
    assert data(await alice.get("/leads/logs", params={"status": "error"}))["total"] == 0
    assert data(await alice.get(f"/leads/logs/{entry['id']}")) == entry
    error(await alice.get("/leads/logs", params={"account_id": 26}), 404, "Account not found")
    bobs = data(await bob.get("/leads/logs"))["items"][0]["id"]
    error(await alice.get(f"/leads/logs/{bobs}"), 404, "Log entry not found")
    error(await alice.get("/leads/logs/99999"), 404, "Log entry not found")


async def test_stats_list_and_filters(alice, bob, control):
    page = data(await alice.get("/leads/stats", params={"per_page": 100}))
    assert page["total"] > 0
    assert set(page["items"][0]) == {"id", "account_id", "schedule_id", "type", "date", "requests", "results"}
    types = {s["type"] for s in page["items"]}
    assert {"get_followers", "get_info", "get_likers", "get_hashtag"} <= types
    followers = data(await alice.get("/leads/stats", params={"type": "get_followers", "account_id": 1}))["items"]
    assert followers and all((s["type"], s["account_id"]) == ("get_followers", 1) for s in followers)
    before = sum(s["requests"] for s in followers)
    await advance(control, 600)
    followers = data(await alice.get("/leads/stats", params={"type": "get_followers", "account_id": 1}))["items"]
    assert sum(s["requests"] for s in followers) > before
    assert data(await alice.get("/leads/stats", params={"type": "get_nothing"}))["total"] == 0
    assert {s["account_id"] for s in data(await bob.get("/leads/stats"))["items"]} == {26}
    error(await alice.get("/leads/stats", params={"account_id": 26}), 404, "Account not found")


# -- module gate -------------------------------------------------------------------------
async def test_module_gate(emu, control):
    user = (await control.post("/users", json={"username": "dave", "modules": ["reactions"]})).json()
    async with emu.http(None, headers={"Authorization": f"Bearer {user['key']}"}) as dave:
        error(await dave.get("/leads/schedules"), 403, "Module not enabled")
    await control.put("/modules", json={"installed": ["reactions"]})
    async with emu.http("alice") as alice:
        error(await alice.get("/leads/stats"), 503)
