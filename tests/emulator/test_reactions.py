"""Reactions Pro against the in-process emulator.

Demo facts used here (see orchestrator/emulator/modules/reactions/seeding.py): every alice
(1-25) and bob (26-29) account has a schedule, admin's account 30 has none; alice's active
ones are 1, 2, 3, 5, 6, 8, 9, 10, 11, 12, 16, 17, 18 and 22; account 8 is stuck running;
accounts 9, 18 (alice) and 27 (bob) need a new login.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from orchestrator.emulator.clock import FORMAT, parse_stamp
from orchestrator.emulator.engine import interval_seconds
from orchestrator.emulator.scheduler import window_end
from orchestrator.emulator.modules.reactions.models import FIELDS
from tests.conftest import data, error

ALICE_ACTIVE = {1, 2, 3, 5, 6, 8, 9, 10, 11, 12, 16, 17, 18, 22}
SCHEDULE_FIELDS = {"id", "account_id", "username", "status", "is_active", "is_running", "speed", "daily_pause",
                   "target_count", "targets", "schedule_date", "end_date", "last_action_date", "date"}
LOG_FIELDS = {"id", "account_id", "username", "action", "status", "target_type", "target_value",
              "target_username", "media_code", "message", "date"}


async def now_of(control) -> datetime:
    return parse_stamp((await control.get("/clock")).json()["now"])


async def settings_of(client, account_id: int) -> dict:
    return data(await client.get(f"/reactions/schedules/{account_id}/settings"))["settings"]


# -- schedules -----------------------------------------------------------------------------------
async def test_list_schedules_is_paginated_and_scoped(alice, bob, admin):
    page = data(await alice.get("/reactions/schedules", params={"per_page": 10, "page": 3}))
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (25, 3, 10, 5)
    assert [s["account_id"] for s in page["items"]] == [21, 22, 23, 24, 25]
    item = page["items"][0]
    assert set(item) == SCHEDULE_FIELDS
    assert data(await bob.get("/reactions/schedules"))["total"] == 4
    assert data(await admin.get("/reactions/schedules"))["total"] == 29


async def test_list_schedules_filters_by_is_active(alice):
    active = data(await alice.get("/reactions/schedules", params={"is_active": "true", "per_page": 100}))
    assert {s["account_id"] for s in active["items"]} == ALICE_ACTIVE
    paused = data(await alice.get("/reactions/schedules", params={"is_active": "false", "per_page": 100}))
    assert paused["total"] == 25 - len(ALICE_ACTIVE)
    assert all(s["status"] == "inactive" for s in paused["items"])


async def test_get_schedule(alice):
    s = data(await alice.get("/reactions/schedules/1"))
    assert set(s) == SCHEDULE_FIELDS
    assert (s["account_id"], s["username"], s["is_active"], s["status"]) == (1, "fashion_nova", True, "active")
    assert isinstance(s["speed"], int) and 1 <= s["speed"] <= 5
    assert set(s["daily_pause"]) == {"enabled", "from", "to"}
    assert s["target_count"] == len(s["targets"]) >= 1
    assert all(set(t) == {"target_id", "type", "id", "value"} for t in s["targets"])
    assert s["end_date"] == "2200-12-12 23:59:59"
    assert data(await alice.get("/reactions/schedules/8"))["status"] == "running"


async def test_schedule_not_found_cases(alice, admin):
    error(await alice.get("/reactions/schedules/26"), 404, "Account not found")
    error(await alice.get("/reactions/schedules/999"), 404, "Account not found")
    error(await admin.get("/reactions/schedules/30"), 404, "Schedule not found")
    # admin keys see across users
    assert data(await admin.get("/reactions/schedules/26"))["account_id"] == 26


async def test_module_gate_and_installation(emu, control):
    carol = (await control.post("/users", json={"username": "carol", "modules": ["repost-pro"]})).json()
    async with emu.http(None, headers={"Authorization": f"Bearer {carol['key']}"}) as client:
        error(await client.get("/reactions/schedules"), 403, "Module not enabled")
    await control.put("/modules", json={"installed": ["repost-pro"]})
    async with emu.http("alice") as alice:
        error(await alice.get("/reactions/schedules/1/settings"), 503)


async def test_activate_and_pause(alice, control):
    paused = (await alice.post("/reactions/schedules/4/activate")).json()
    assert paused["message"] == "Schedule activated."
    s = paused["data"]
    assert (s["is_active"], s["status"]) == (True, "active")
    assert s["schedule_date"] == (await control.get("/clock")).json()["now"]
    again = data(await alice.post("/reactions/schedules/4/activate"))
    assert again["schedule_date"] == s["schedule_date"]

    body = (await alice.post("/reactions/schedules/4/pause")).json()
    assert body["message"] == "Schedule paused."
    assert (body["data"]["is_active"], body["data"]["status"]) == (False, "inactive")
    assert data(await alice.get("/reactions/schedules/4"))["is_active"] is False
    assert data(await alice.post("/reactions/schedules/4/pause"))["is_active"] is False


async def test_activate_and_pause_not_found(alice, admin):
    error(await alice.post("/reactions/schedules/26/activate"), 404, "Account not found")
    error(await alice.post("/reactions/schedules/26/pause"), 404, "Account not found")
    error(await admin.post("/reactions/schedules/30/activate"), 404, "Schedule not found")
    error(await alice.post("/reactions/schedules/abc/pause"), 422)


# -- settings --------------------------------------------------------------------------------------
async def test_get_settings_returns_every_field(alice):
    body = data(await alice.get("/reactions/schedules/1/settings"))
    assert body["account_id"] == 1
    settings = body["settings"]
    assert set(settings) == set(FIELDS) and len(settings) >= 100
    later_revision = {
        "daily_pause", "daily_pause_from", "daily_pause_to", "expiration", "expiration_date", "autopilot",
        "is_likes", "likes_speed", "likes_per_user", "is_likes_timeline", "is_comment", "comment_speed",
        "comment_interval", "is_follow", "follow_speed", "follow_limit", "is_unfollow", "unfollow_speed",
        "unfollow_skip_followers", "unfollow_non_followers", "unfollow_interval", "is_story_likes",
        "is_masslooking", "masslooking_interval", "is_poll", "is_quiz", "is_emoji", "emojis", "emoji_speed",
        "is_dm", "dm_speed", "is_welcome_dm", "welcome_dm_speed", "is_metrics_filter", "followers_min",
        "followers_max", "followings_min", "followings_max", "posts_min", "posts_max", "last_posted_min",
        "last_posted_max", "post_min_likes", "post_max_likes", "verified_filter", "is_telegram_analytics",
        "is_telegram_errors", "tg_chat_id", "delay_telegram", "custom_proxy", "debug_mode", "activity_time",
        "activity_time_min_h", "activity_time_max_h",
    }
    assert later_revision <= set(settings)
    # account 1 is a fashion campaign: likes, follows and masslooking, with a metrics filter
    assert settings["is_likes"] is True and settings["is_follow"] is True and settings["is_masslooking"] is True
    assert (settings["followers_min"], settings["followers_max"]) == (200, 25000)
    assert isinstance(settings["masslooking_interval"], float) and settings["tg_chat_id"] is not None


async def test_get_settings_not_found(alice, admin):
    error(await alice.get("/reactions/schedules/27/settings"), 404, "Account not found")
    error(await admin.get("/reactions/schedules/30/settings"), 404, "Schedule not found")


async def test_patch_settings_partial(alice):
    before = await settings_of(alice, 2)
    out = (await alice.patch("/reactions/schedules/2/settings", json={
        "likes_speed": 5, "daily_pause": True, "daily_pause_from": "22:30", "emojis": "🔥,💯",
        "masslooking_interval": 4, "tg_chat_id": -1001234567890,
    })).json()
    assert out["message"] == "Settings updated."
    assert out["data"] == {"account_id": 2, "updated_fields": [
        "likes_speed", "daily_pause", "daily_pause_from", "emojis", "masslooking_interval", "tg_chat_id"]}
    after = await settings_of(alice, 2)
    assert after["likes_speed"] == 5 and after["daily_pause_from"] == "22:30" and after["emojis"] == "🔥,💯"
    assert after["masslooking_interval"] == 4.0 and after["tg_chat_id"] == -1001234567890
    unchanged = {k for k in before if k not in out["data"]["updated_fields"]}
    assert all(after[k] == before[k] for k in unchanged)
    schedule = data(await alice.get("/reactions/schedules/2"))
    assert schedule["daily_pause"] == {"enabled": True, "from": "22:30", "to": before["daily_pause_to"]}


async def test_patch_settings_speed_shows_on_the_schedule(alice):
    data(await alice.patch("/reactions/schedules/3/settings", json={"speed": 5}))
    assert data(await alice.get("/reactions/schedules/3"))["speed"] == 5


async def test_patch_unknown_and_read_only_fields(alice):
    body = error(await alice.patch("/reactions/schedules/1/settings", json={"likes_sped": 3}), 422)
    assert body["errors"] == {"likes_sped": ["Unknown setting (did you mean 'likes_speed'?)"]}
    body = error(await alice.patch("/reactions/schedules/1/settings", json={"is_active": False}), 422)
    assert body["errors"]["is_active"] == ["is read-only; use /activate or /pause"]
    body = error(await alice.patch("/reactions/schedules/1/settings", json={"targets": []}), 422)
    assert "targets" in body["errors"]
    assert data(await alice.get("/reactions/schedules/1"))["is_active"] is True


@pytest.mark.parametrize(("field", "value"), [
    ("speed", 6), ("speed", 0), ("speed", "fast"), ("likes_speed", 2.5), ("is_likes", 1), ("is_likes", "true"),
    ("daily_pause_from", "25:00"), ("daily_pause_to", "7:00"), ("activity_time_min_h", 900),
    ("verified_filter", 3), ("followers_min", -1), ("masslooking_interval", 0.1), ("masslooking_interval", True),
    ("gender_filter", "other"), ("language_filter", "English"), ("custom_proxy", "not a proxy"),
    ("expiration_date", "next week"), ("emojis", None), ("comments", "x" * 5001),
])
async def test_patch_rejects_bad_values(alice, field, value):
    body = error(await alice.patch("/reactions/schedules/1/settings", json={field: value}), 422, "Validation failed")
    assert list(body["errors"]) == [field]


async def test_patch_is_all_or_nothing(alice):
    before = await settings_of(alice, 1)
    body = error(await alice.patch("/reactions/schedules/1/settings", json={
        "likes_speed": 4, "follow_speed": 9, "nope": True}), 422)
    assert set(body["errors"]) == {"follow_speed", "nope"}
    assert await settings_of(alice, 1) == before


async def test_patch_cross_field_rules(alice):
    body = error(await alice.patch("/reactions/schedules/1/settings", json={"followers_max": 100}), 422)
    assert body["errors"] == {"followers_max": ["followers_min must not exceed followers_max (0 means no limit)"]}
    assert data(await alice.patch("/reactions/schedules/1/settings", json={"followers_max": 0}))  # 0: no limit
    body = error(await alice.patch("/reactions/schedules/4/settings", json={"expiration": True}), 422)
    assert body["errors"] == {"expiration_date": ["is required while expiration is on"]}


async def test_expiration_sets_end_date(alice):
    data(await alice.patch("/reactions/schedules/4/settings", json={
        "expiration": True, "expiration_date": "2031-01-02T03:04:05Z"}))
    assert (await settings_of(alice, 4))["expiration_date"] == "2031-01-02 03:04:05"
    assert data(await alice.get("/reactions/schedules/4"))["end_date"] == "2031-01-02 03:04:05"
    data(await alice.patch("/reactions/schedules/4/settings", json={"expiration": False}))
    assert data(await alice.get("/reactions/schedules/4"))["end_date"] == "2200-12-12 23:59:59"


async def test_patch_bad_bodies(alice, admin):
    assert data(await alice.patch("/reactions/schedules/1/settings", json={})) == {"account_id": 1,
                                                                                  "updated_fields": []}
    error(await alice.patch("/reactions/schedules/1/settings"), 400)
    error(await alice.patch("/reactions/schedules/1/settings", json=[1, 2]), 400)
    error(await alice.patch("/reactions/schedules/1/settings", content=b"{oops",
                            headers={"content-type": "application/json"}), 400)
    error(await alice.patch("/reactions/schedules/26/settings", json={"speed": 1}), 404, "Account not found")
    error(await admin.patch("/reactions/schedules/30/settings", json={"speed": 1}), 404, "Schedule not found")


# -- targets ---------------------------------------------------------------------------------------
async def test_target_types_list_the_union(alice):
    out = data(await alice.get("/reactions/targets/types"))
    types = {t["type"]: t for t in out["types"]}
    assert out["total"] == len(types) == 19
    reference = {"hashtag", "location", "people", "explore", "feed", "likers", "user_followers", "user_following"}
    later = {"timeline", "hashtag", "hashtag_likers", "keyword", "keyword_likers", "keyword_reels",
             "keyword_reels_likers", "people", "people_followers", "people_followings", "people_likers",
             "location", "location_likers", "user_id_list"}
    assert set(types) == reference | later
    assert {k for k, t in types.items() if t["requires_id"]} == {
        "location", "location_likers", "people", "people_followers", "people_followings", "people_likers"}
    assert types["explore"]["requires_value"] is False and types["hashtag"]["description"]


async def test_list_targets(alice, admin):
    out = data(await alice.get("/reactions/schedules/1/targets"))
    assert out["total"] == len(out["targets"]) >= 1
    assert out["targets"] == data(await alice.get("/reactions/schedules/1"))["targets"]
    error(await alice.get("/reactions/schedules/26/targets"), 404, "Account not found")
    error(await admin.get("/reactions/schedules/30/targets"), 404, "Schedule not found")


async def test_add_targets(alice):
    body = (await alice.post("/reactions/schedules/4/targets",
                             json={"type": "hashtag", "value": " #SummerVibes"})).json()
    assert body["message"] == "Target added."
    target = body["data"]
    assert (target["type"], target["value"], target["id"]) == ("hashtag", "SummerVibes", "SummerVibes")
    loc = data(await alice.post("/reactions/schedules/4/targets",
                                json={"type": "location", "id": 213385402, "value": "Le Marais"}), 201)
    assert (loc["id"], loc["value"]) == ("213385402", "Le Marais")
    people = data(await alice.post("/reactions/schedules/4/targets",
                                   json={"type": "people_followers", "id": "11630937"}), 201)
    assert people["value"] == "11630937"  # an id type's value defaults to its id
    explore = data(await alice.post("/reactions/schedules/4/targets", json={"type": "feed"}), 201)
    assert (explore["value"], explore["id"]) == ("", "")
    ids = [t["target_id"] for t in (target, loc, people, explore)]
    assert len(set(ids)) == 4 and ids == sorted(ids)
    listed = data(await alice.get("/reactions/schedules/4/targets"))
    assert listed["targets"][-4:] == [target, loc, people, explore]
    assert data(await alice.get("/reactions/schedules/4"))["target_count"] == listed["total"]


async def test_add_duplicate_target_is_409(alice):
    data(await alice.post("/reactions/schedules/4/targets", json={"type": "keyword", "value": "linen"}), 201)
    error(await alice.post("/reactions/schedules/4/targets", json={"type": "keyword", "value": " linen "}), 409,
          "Target already exists")
    # the same value under another type is another target
    data(await alice.post("/reactions/schedules/4/targets", json={"type": "keyword_reels", "value": "linen"}), 201)
    data(await alice.post("/reactions/schedules/4/targets", json={"type": "location", "id": "1", "value": "A"}), 201)
    error(await alice.post("/reactions/schedules/4/targets", json={"type": "location", "id": "1", "value": "B"}), 409)
    data(await alice.post("/reactions/schedules/4/targets", json={"type": "timeline"}), 201)
    error(await alice.post("/reactions/schedules/4/targets", json={"type": "timeline"}), 409)


async def test_add_target_errors(alice, admin):
    url = "/reactions/schedules/4/targets"
    body = error(await alice.post(url, json={"type": "location", "value": "Paris"}), 422)
    assert body["errors"] == {"id": ["is required for type location (a numeric id)"]}
    body = error(await alice.post(url, json={"type": "people", "value": "zara", "id": "zara"}), 422)
    assert body["errors"] == {"id": ["must be a numeric id"]}
    body = error(await alice.post(url, json={"type": "tiktok_user", "value": "x"}), 422)
    assert "type" in body["errors"]
    error(await alice.post(url, json={"type": "hashtag", "value": "two words"}), 422)
    error(await alice.post(url, json={"type": "likers", "value": "https://example.com/p/x"}), 422)
    error(await alice.post(url, json={"type": "user_id_list", "value": "1,2,abc"}), 422)
    error(await alice.post(url, json={"type": "hashtag", "value": "#"}), 422)
    error(await alice.post(url, json={"value": "summer"}), 400)
    error(await alice.post(url, json={"type": "hashtag"}), 400, "Missing required field: value")
    error(await alice.post(url, json={"type": "hashtag", "value": ["a"]}), 422)
    error(await alice.post("/reactions/schedules/26/targets", json={"type": "hashtag", "value": "a"}), 404,
          "Account not found")
    error(await admin.post("/reactions/schedules/30/targets", json={"type": "hashtag", "value": "a"}), 404,
          "Schedule not found")


async def test_reference_target_forms_are_accepted(alice):
    url = "/reactions/schedules/4/targets"
    for payload in ({"type": "feed"}, {"type": "likers", "value": "https://www.instagram.com/p/C4kz7QvL1xA/"},
                    {"type": "user_followers", "value": "@lonelyplanet"}, {"type": "user_following", "value": "nasa"},
                    {"type": "user_id_list", "value": "123, 456"}):
        data(await alice.post(url, json=payload), 201)
    values = {t["type"]: t["value"] for t in data(await alice.get(url))["targets"]}
    assert values["user_followers"] == "lonelyplanet" and values["user_id_list"] == "123,456"


async def test_delete_target_by_id(alice, admin):
    targets = data(await alice.get("/reactions/schedules/5/targets"))["targets"]
    first = targets[0]["target_id"]
    body = (await alice.delete(f"/reactions/schedules/5/targets/{first}")).json()
    assert body["message"] == "Target removed."
    assert body["data"] == {"removed": 1, "total": len(targets) - 1}
    assert first not in [t["target_id"] for t in data(await alice.get("/reactions/schedules/5/targets"))["targets"]]
    error(await alice.delete(f"/reactions/schedules/5/targets/{first}"), 404, "Target not found")
    error(await alice.delete("/reactions/schedules/5/targets/999"), 404, "Target not found")
    error(await alice.delete("/reactions/schedules/26/targets/1"), 404, "Account not found")
    error(await admin.delete("/reactions/schedules/30/targets/1"), 404, "Schedule not found")


async def test_removed_target_ids_are_not_reused(alice):
    url = "/reactions/schedules/6/targets"
    added = data(await alice.post(url, json={"type": "keyword", "value": "tweed"}), 201)
    await alice.delete(f"{url}/{added['target_id']}")
    again = data(await alice.post(url, json={"type": "keyword", "value": "tweed"}), 201)
    assert again["target_id"] > added["target_id"]


async def test_delete_targets_by_body(alice, admin):
    url = "/reactions/schedules/7/targets"
    for tag in ("alpha", "beta", "gamma"):
        data(await alice.post(url, json={"type": "keyword_likers", "value": tag}), 201)
    data(await alice.post(url, json={"type": "keyword", "value": "alpha"}), 201)
    total = data(await alice.get(url))["total"]

    out = data(await alice.request("DELETE", url, json={"type": "keyword_likers", "value": " beta "}))
    assert out == {"removed": 1, "total": total - 1}
    out = data(await alice.request("DELETE", url, json={"type": "keyword_likers"}))
    assert out == {"removed": 2, "total": total - 3}
    removed = data(await alice.request("DELETE", url, json={"type": "keyword_likers"}))
    assert removed == {"removed": 0, "total": total - 3}
    assert [t for t in data(await alice.get(url))["targets"] if t["type"] == "keyword" and t["value"] == "alpha"]

    error(await alice.request("DELETE", url, json={"value": "alpha"}), 400)
    error(await alice.request("DELETE", url), 400)
    error(await alice.request("DELETE", url, json={"type": "nope"}), 422)
    error(await alice.request("DELETE", "/reactions/schedules/26/targets", json={"type": "hashtag"}), 404,
          "Account not found")
    error(await admin.request("DELETE", "/reactions/schedules/30/targets", json={"type": "hashtag"}), 404,
          "Schedule not found")


async def test_delete_id_type_target_by_id_in_body(alice):
    url = "/reactions/schedules/7/targets"
    data(await alice.post(url, json={"type": "location_likers", "id": "555", "value": "Soho"}), 201)
    assert data(await alice.request("DELETE", url, json={"type": "location_likers", "id": 555}))["removed"] == 1


# -- logs and stats -----------------------------------------------------------------------------------
async def test_logs_newest_first_and_scoped(alice, bob, admin):
    page = data(await alice.get("/reactions/logs", params={"per_page": 100}))
    items = page["items"]
    assert page["total"] >= 25 * 3 and len(items) == 100
    assert set(items[0]) == LOG_FIELDS
    assert [e["id"] for e in items] == sorted((e["id"] for e in items), reverse=True)
    assert [e["date"] for e in items] == sorted((e["date"] for e in items), reverse=True)
    assert {e["account_id"] for e in items} <= set(range(1, 26))
    bob_logs = data(await bob.get("/reactions/logs", params={"per_page": 100}))
    assert bob_logs["total"] > 0 and {e["account_id"] for e in bob_logs["items"]} <= set(range(26, 30))
    assert data(await admin.get("/reactions/logs"))["total"] == page["total"] + bob_logs["total"]


async def test_logs_filters_and_pages(alice):
    success = data(await alice.get("/reactions/logs", params={"status": "success", "per_page": 100}))
    assert success["total"] > 0 and all(e["status"] == "success" for e in success["items"])
    likes = data(await alice.get("/reactions/logs", params={"action": "like"}))
    assert all(e["action"] == "like" for e in likes["items"])
    one = data(await alice.get("/reactions/logs", params={"account_id": 3}))
    assert one["total"] >= 3 and {e["account_id"] for e in one["items"]} == {3}
    assert data(await alice.get("/reactions/logs", params={"account_id": 26}))["total"] == 0
    p1 = data(await alice.get("/reactions/logs", params={"per_page": 5, "page": 1}))
    p2 = data(await alice.get("/reactions/logs", params={"per_page": 5, "page": 2}))
    assert p1["items"][-1]["id"] > p2["items"][0]["id"]


async def test_account_logs(alice, admin):
    out = data(await alice.get("/reactions/logs/3"))
    assert out["total"] >= 3 and {e["account_id"] for e in out["items"]} == {3}
    assert {e["username"] for e in out["items"]} == {"fashion_atelier"}
    error(await alice.get("/reactions/logs/26"), 404, "Account not found")
    error(await admin.get("/reactions/logs/30"), 404, "Schedule not found")


async def test_stats(alice, admin):
    out = data(await alice.get("/reactions/stats/1"))
    assert set(out) == {"account_id", "username", "is_active", "totals", "today", "per_day", "last_action_date"}
    counters = {"likes", "follows", "unfollows", "comments", "story_views", "story_likes", "story_reactions", "dms"}
    assert set(out["totals"]) == counters == set(out["today"])
    assert out["totals"]["likes"] > 0
    assert len(out["per_day"]) == 7 and set(out["per_day"][0]) == counters | {"date"}
    dates = [d["date"] for d in out["per_day"]]
    assert dates == sorted(dates, reverse=True)
    assert len(data(await alice.get("/reactions/stats/1", params={"days": 30}))["per_day"]) == 30
    assert len(data(await alice.get("/reactions/stats/1", params={"days": 500}))["per_day"]) == 30
    error(await alice.get("/reactions/stats/26"), 404, "Account not found")
    error(await admin.get("/reactions/stats/30"), 404, "Schedule not found")


# -- bulk -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", ["/reactions/bulk", "/reactions/schedules/bulk"])
async def test_bulk_activate_skips_foreign_and_missing(alice, prefix):
    out = (await alice.post(f"{prefix}/activate", json={"account_ids": [4, 7, 26, 999, 4]})).json()
    assert out["data"] == {"affected": 2, "account_ids": [4, 7], "skipped": [26, 999]}
    assert out["message"] == "2 schedules activated."
    assert data(await alice.get("/reactions/schedules/7"))["is_active"] is True


@pytest.mark.parametrize("prefix", ["/reactions/bulk", "/reactions/schedules/bulk"])
async def test_bulk_pause_without_body_pauses_all_of_yours(alice, bob, prefix):
    out = data(await alice.post(f"{prefix}/pause"))
    assert out["affected"] == 25 and out["account_ids"] == list(range(1, 26)) and out["skipped"] == []
    assert data(await alice.get("/reactions/schedules", params={"is_active": "true"}))["total"] == 0
    assert data(await bob.get("/reactions/schedules", params={"is_active": "true"}))["total"] == 2


async def test_bulk_stop_clears_running(alice):
    s = data(await alice.get("/reactions/schedules/8"))
    assert (s["is_running"], s["status"]) == (True, "running")
    out = data(await alice.post("/reactions/bulk/stop", json={"account_ids": [8, 1]}))
    assert out == {"affected": 2, "account_ids": [8, 1], "skipped": []}
    s = data(await alice.get("/reactions/schedules/8"))
    assert (s["is_running"], s["is_active"], s["status"]) == (False, False, "inactive")
    assert data(await alice.post("/reactions/schedules/bulk/stop", json={}))["affected"] == 25


async def test_pause_does_not_clear_running(alice):
    assert data(await alice.post("/reactions/bulk/pause", json={"account_ids": [8]}))["affected"] == 1
    s = data(await alice.get("/reactions/schedules/8"))
    assert (s["is_running"], s["status"]) == (True, "inactive")


async def test_bulk_limits_and_bad_bodies(alice, admin):
    body = error(await alice.post("/reactions/bulk/activate", json={"account_ids": list(range(1, 1002))}), 422)
    assert "account_ids" in body["errors"]
    error(await alice.post("/reactions/bulk/pause", json={"account_ids": "all"}), 422)
    assert data(await alice.post("/reactions/bulk/pause", json={"account_ids": []}))["affected"] == 0
    # an admin key switches only its own schedules unless it names accounts
    assert data(await admin.post("/reactions/bulk/pause"))["affected"] == 0
    assert data(await admin.post("/reactions/bulk/pause", json={"account_ids": [1]}))["account_ids"] == [1]


# -- engine -----------------------------------------------------------------------------------------
async def test_tick_acts_on_due_schedules_and_moves_schedule_date(alice, control):
    await alice.post("/reactions/bulk/pause")
    data(await alice.patch("/reactions/schedules/1/settings", json={
        "speed": 1, "daily_pause": False, "activity_time": False}))
    data(await alice.post("/reactions/schedules/1/activate"))
    before = data(await alice.get("/reactions/logs/1"))["total"]
    report = (await control.post("/tick")).json()["ticks"][0]
    assert report["reactions"]["actions"] == 1
    now = await now_of(control)
    s = data(await alice.get("/reactions/schedules/1"))
    assert s["last_action_date"] == now.strftime(FORMAT)
    assert s["schedule_date"] == (now + timedelta(seconds=interval_seconds(1))).strftime(FORMAT)
    logs = data(await alice.get("/reactions/logs/1"))
    assert logs["total"] == before + 1 and logs["items"][0]["date"] == now.strftime(FORMAT)
    # not due again until the interval has passed
    assert "reactions" not in (await control.post("/tick")).json()["ticks"][0]
    await control.post("/clock/advance", json={"seconds": interval_seconds(1), "ticks": 1})
    assert data(await alice.get("/reactions/logs/1"))["total"] == before + 2


async def test_tick_switches_off_schedules_needing_login(alice, control):
    stuck = data(await alice.get("/reactions/schedules/8"))
    await control.post("/clock/advance", json={"seconds": 3600, "ticks": 1})
    s = data(await alice.get("/reactions/schedules/9"))
    assert s["is_active"] is False
    latest = data(await alice.get("/reactions/logs/9"))["items"][0]
    assert (latest["action"], latest["status"]) == ("system", "error")
    assert "login" in latest["message"]
    assert data(await alice.get("/reactions/schedules/18"))["is_active"] is False
    # healthy active schedules acted; one stuck in is_running is left alone
    assert data(await alice.get("/reactions/schedules/2"))["last_action_date"] == (
        (await control.get("/clock")).json()["now"])
    assert data(await alice.get("/reactions/schedules/8")) == stuck


async def test_tick_switches_off_when_the_plan_loses_the_module(emu, admin, control):
    bob = emu.state.users.find_one(key="bob")
    emu.state.set_user_modules(bob["id"], ["repost-pro"])
    await control.post("/clock/advance", json={"seconds": 3600, "ticks": 1})
    s = data(await admin.get("/reactions/schedules/26"))
    assert s["is_active"] is False
    assert "plan" in data(await admin.get("/reactions/logs/26"))["items"][0]["message"]


async def test_tick_honours_the_daily_pause(alice, control):
    now = await now_of(control)
    start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    await alice.post("/reactions/bulk/pause")
    data(await alice.patch("/reactions/schedules/2/settings", json={
        "daily_pause": True, "daily_pause_from": start.strftime("%H:%M"), "daily_pause_to": end.strftime("%H:%M"),
        "activity_time": False}))
    data(await alice.post("/reactions/schedules/2/activate"))
    before = data(await alice.get("/reactions/logs/2"))["total"]
    report = (await control.post("/tick")).json()["ticks"][0]
    assert report["reactions"] == {"paused": 1}
    s = data(await alice.get("/reactions/schedules/2"))
    assert s["schedule_date"] == end.replace(second=0).strftime(FORMAT)
    assert data(await alice.get("/reactions/logs/2"))["total"] == before


async def test_expired_schedules_are_not_picked(alice, control):
    await alice.post("/reactions/bulk/pause")
    now = await now_of(control)
    data(await alice.patch("/reactions/schedules/2/settings", json={
        "expiration": True, "expiration_date": (now - timedelta(minutes=1)).strftime(FORMAT)}))
    data(await alice.post("/reactions/schedules/2/activate"))
    assert "reactions" not in (await control.post("/tick")).json()["ticks"][0]


def test_window_end_runs_past_midnight():
    day = datetime(2026, 3, 15)
    assert window_end(day.replace(hour=23, minute=30), "23:00", "07:00") == datetime(2026, 3, 16, 7, 0)
    assert window_end(day.replace(hour=2), "23:00", "07:00") == datetime(2026, 3, 15, 7, 0)
    assert window_end(day.replace(hour=12), "23:00", "07:00") is None
    assert window_end(day.replace(hour=13, minute=15), "13:00", "14:00") == datetime(2026, 3, 15, 14, 0)
    assert window_end(day.replace(hour=14), "13:00", "14:00") is None
    assert window_end(day.replace(hour=14), "14:00", "14:00") is None


# -- scale seed ------------------------------------------------------------------------------------
async def test_scale_seed_adds_default_schedules(alice, control):
    assert (await control.post("/seed", json={"spec": "accounts=40"})).status_code == 200
    assert data(await alice.get("/reactions/schedules"))["total"] == 25 + 40
    last = data(await alice.get("/reactions/schedules", params={"per_page": 40, "page": 2}))["items"]
    new = [s for s in last if s["account_id"] > 30]
    assert new and all(1 <= s["target_count"] <= 2 for s in new)
    settings = await settings_of(alice, new[0]["account_id"])
    assert settings == {name: spec.default for name, spec in FIELDS.items()}
