"""Repost Pro against the in-process emulator.

Demo facts used here (see orchestrator/emulator/modules/repost/seeding.py): alice's accounts
1-23 and bob's 26-29 have a schedule, alice's 24 and 25 and admin's 30 have none; alice's
active ones are 1-6, 9-11, 16-18 and 22; account 5 is stuck running; account 10 reposts at
fixed times; accounts 9 and 18 need a new login.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from orchestrator.emulator.clock import FORMAT, parse_stamp
from orchestrator.emulator.engine import interval_seconds
from orchestrator.emulator.modules.repost.models import FIELDS
from tests.conftest import data, error

ALICE_ACTIVE = {1, 2, 3, 4, 5, 6, 9, 10, 11, 16, 17, 18, 22}
SCHEDULE_FIELDS = {"id", "account_id", "username", "status", "is_active", "is_running", "speed", "daily_pause",
                   "target_count", "targets", "schedule_date", "end_date", "last_action_date", "date"}
LOG_FIELDS = {"id", "account_id", "username", "status", "target_type", "target_value", "media_type",
              "original_media_code", "media_code", "is_removable", "remove_scheduled", "is_deleted",
              "status_share_to_stories", "status_first_comment", "status_caption", "message", "date"}
REFERENCE_FIELDS = {"speed", "remove_delay", "daily_pause", "daily_pause_from", "daily_pause_to", "caption",
                    "first_comment", "metadata_location", "metadata_user", "collections_shuffle", "data.photo",
                    "data.video", "data.album", "data.reels", "data.private_only"}


async def now_of(control) -> datetime:
    return parse_stamp((await control.get("/clock")).json()["now"])


async def settings_of(client, account_id: int) -> dict:
    return data(await client.get(f"/repost/schedules/{account_id}/settings"))["settings"]


# -- schedules -----------------------------------------------------------------------------------
async def test_list_schedules_is_paginated_and_scoped(alice, bob, admin):
    page = data(await alice.get("/repost/schedules", params={"per_page": 20, "page": 2}))
    assert (page["total"], page["page"], page["per_page"]) == (23, 2, 20)
    assert [s["account_id"] for s in page["items"]] == [21, 22, 23]
    assert set(page["items"][0]) == SCHEDULE_FIELDS
    assert data(await bob.get("/repost/schedules"))["total"] == 4
    assert data(await admin.get("/repost/schedules"))["total"] == 27
    active = data(await alice.get("/repost/schedules", params={"is_active": "true", "per_page": 100}))
    assert {s["account_id"] for s in active["items"]} == ALICE_ACTIVE


async def test_get_schedule(alice):
    s = data(await alice.get("/repost/schedules/1"))
    assert set(s) == SCHEDULE_FIELDS
    assert (s["account_id"], s["username"], s["status"]) == (1, "fashion_nova", "active")
    assert s["speed"] in ("very_slow", "slow", "medium", "fast", "very_fast")
    assert s["target_count"] == len(s["targets"]) >= 1
    assert all(set(t) == {"target_id", "type", "id", "value"} for t in s["targets"])
    assert data(await alice.get("/repost/schedules/5"))["status"] == "running"


async def test_schedule_not_found_cases(alice, admin):
    error(await alice.get("/repost/schedules/24"), 404, "Schedule not found")
    error(await alice.get("/repost/schedules/26"), 404, "Account not found")
    error(await alice.get("/repost/schedules/999"), 404, "Account not found")
    error(await admin.get("/repost/schedules/30"), 404, "Schedule not found")
    assert data(await admin.get("/repost/schedules/26"))["account_id"] == 26


async def test_module_gate(emu, control):
    carol = (await control.post("/users", json={"username": "carol", "modules": ["reactions"]})).json()
    async with emu.http(None, headers={"Authorization": f"Bearer {carol['key']}"}) as client:
        error(await client.get("/repost/schedules"), 403, "Module not enabled")
    await control.put("/modules", json={"installed": ["reactions"]})
    async with emu.http("alice") as alice:
        error(await alice.get("/repost/schedules"), 503)


async def test_activate_and_pause(alice, control):
    body = (await alice.post("/repost/schedules/7/activate")).json()
    assert body["message"] == "Schedule activated."
    assert (body["data"]["is_active"], body["data"]["status"]) == (True, "active")
    assert body["data"]["schedule_date"] == (await control.get("/clock")).json()["now"]
    body = (await alice.post("/repost/schedules/7/pause")).json()
    assert body["message"] == "Schedule paused." and body["data"]["is_active"] is False
    assert data(await alice.get("/repost/schedules/7"))["status"] == "inactive"


async def test_activate_and_pause_not_found(alice):
    error(await alice.post("/repost/schedules/24/activate"), 404, "Schedule not found")
    error(await alice.post("/repost/schedules/26/activate"), 404, "Account not found")
    error(await alice.post("/repost/schedules/25/pause"), 404, "Schedule not found")
    error(await alice.post("/repost/schedules/28/pause"), 404, "Account not found")


# -- settings --------------------------------------------------------------------------------------
async def test_get_settings_returns_every_field(alice):
    body = data(await alice.get("/repost/schedules/1/settings"))
    assert body["account_id"] == 1
    settings = body["settings"]
    assert set(settings) == set(FIELDS)
    assert REFERENCE_FIELDS | {"targets_shuffle", "custom_repost_time"} <= set(settings)
    assert "data" not in settings and "photo_posts" not in settings  # one canonical, flat form
    assert "{{original_caption}}" in settings["caption"]
    assert settings["data.photo"] is True and settings["metadata_user"] == "atelier.agency"
    assert settings["metadata_location"] is None


async def test_get_settings_not_found(alice):
    error(await alice.get("/repost/schedules/24/settings"), 404, "Schedule not found")
    error(await alice.get("/repost/schedules/26/settings"), 404, "Account not found")


async def test_patch_settings_partial(alice):
    before = await settings_of(alice, 2)
    out = (await alice.patch("/repost/schedules/2/settings", json={
        "speed": "very_fast", "remove_delay": 48, "caption": "{Wow|Amazing} {{original_caption}}",
        "metadata_location": 213385402, "custom_repost_time": "repost[10:00], repost[18:00]", "targets_shuffle": True,
    })).json()
    assert out["message"] == "Settings updated."
    assert out["data"]["updated_fields"] == [
        "speed", "remove_delay", "caption", "metadata_location", "custom_repost_time", "targets_shuffle"]
    after = await settings_of(alice, 2)
    assert (after["speed"], after["remove_delay"], after["metadata_location"]) == ("very_fast", 48, 213385402)
    assert after["first_comment"] == before["first_comment"]
    assert data(await alice.get("/repost/schedules/2"))["speed"] == "very_fast"


async def test_media_switches_accept_dotted_nested_and_later_names(alice):
    out = data(await alice.patch("/repost/schedules/11/settings", json={"data.photo": True}))
    assert out["updated_fields"] == ["data.photo"]
    out = data(await alice.patch("/repost/schedules/11/settings", json={"data": {"video": True, "private_only": True}}))
    assert out["updated_fields"] == ["data.video", "data.private_only"]
    out = data(await alice.patch("/repost/schedules/11/settings", json={"reels_posts": True, "album_posts": False}))
    assert out["updated_fields"] == ["data.reels", "data.album"]
    settings = await settings_of(alice, 11)
    assert {k: settings[f"data.{k}"] for k in ("photo", "video", "album", "reels", "private_only")} == {
        "photo": True, "video": True, "album": False, "reels": True, "private_only": True}


async def test_patch_unknown_and_read_only_fields(alice):
    body = error(await alice.patch("/repost/schedules/1/settings", json={"capton": "x"}), 422)
    assert body["errors"] == {"capton": ["Unknown setting (did you mean 'caption'?)"]}
    body = error(await alice.patch("/repost/schedules/1/settings", json={"is_active": False}), 422)
    assert body["errors"] == {"is_active": ["is read-only; use /activate or /pause"]}
    body = error(await alice.patch("/repost/schedules/1/settings", json={"data": {"gif": True}}), 422)
    assert list(body["errors"]) == ["data.gif"]
    body = error(await alice.patch("/repost/schedules/1/settings", json={"data": True}), 422)
    assert list(body["errors"]) == ["data"]


@pytest.mark.parametrize(("field", "value"), [
    ("speed", 3), ("speed", "turbo"), ("remove_delay", -1), ("remove_delay", 604800), ("remove_delay", "24"),
    ("daily_pause", "yes"), ("daily_pause_from", "23:60"), ("daily_pause_to", ""), ("caption", "x" * 2201),
    ("caption", 5), ("metadata_location", "Paris"), ("metadata_location", 0), ("metadata_user", "not a user!"),
    ("custom_repost_time", "10:00,18:00"), ("custom_repost_time", "repost[25:00]"), ("data.photo", "true"),
    ("photo_posts", 1), ("collections_shuffle", None),
])
async def test_patch_rejects_bad_values(alice, field, value):
    body = error(await alice.patch("/repost/schedules/1/settings", json={field: value}), 422, "Validation failed")
    assert list(body["errors"]) == [field]


async def test_patch_is_all_or_nothing_and_bad_bodies(alice):
    before = await settings_of(alice, 1)
    error(await alice.patch("/repost/schedules/1/settings", json={"speed": "fast", "remove_delay": -5}), 422)
    assert await settings_of(alice, 1) == before
    assert data(await alice.patch("/repost/schedules/1/settings", json={}))["updated_fields"] == []
    error(await alice.patch("/repost/schedules/1/settings"), 400)
    error(await alice.patch("/repost/schedules/1/settings", json="fast"), 400)
    error(await alice.patch("/repost/schedules/24/settings", json={"speed": "fast"}), 404, "Schedule not found")
    error(await alice.patch("/repost/schedules/26/settings", json={"speed": "fast"}), 404, "Account not found")


# -- targets ---------------------------------------------------------------------------------------
async def test_target_types(alice):
    out = data(await alice.get("/repost/targets/types"))
    types = {t["type"]: t for t in out["types"]}
    reference = {"hashtag", "hashtag_reels", "location", "people", "people_reels", "music", "collection",
                 "instagram_post"}
    tiktok = {"tiktok_hashtag", "tiktok_user", "tiktok_keyword", "tiktok_trending", "tiktok_post"}
    assert set(types) == reference | tiktok and out["total"] == 13
    assert {k for k, t in types.items() if t["requires_id"]} == {"location", "music", "collection"}
    assert {k for k, t in types.items() if t["revision"] == "2.0.0"} == tiktok


async def test_list_targets(alice):
    out = data(await alice.get("/repost/schedules/3/targets"))
    assert out["total"] == len(out["targets"]) >= 1
    error(await alice.get("/repost/schedules/24/targets"), 404, "Schedule not found")
    error(await alice.get("/repost/schedules/26/targets"), 404, "Account not found")


async def test_add_targets(alice):
    url = "/repost/schedules/12/targets"
    body = (await alice.post(url, json={"type": "people", "value": "@Kayla_Itsines"})).json()
    assert body["message"] == "Target added."
    assert {k: body["data"][k] for k in ("type", "id", "value")} == {
        "type": "people", "id": "Kayla_Itsines", "value": "Kayla_Itsines"}
    music = data(await alice.post(url, json={"type": "music", "id": 1827364512, "value": "Lose Yourself"}), 201)
    assert (music["id"], music["value"]) == ("1827364512", "Lose Yourself")
    post = data(
        await alice.post(url, json={"type": "instagram_post", "value": "https://www.instagram.com/reel/C4kz7QvL1xA/"}),
        201,
    )
    assert post["value"].endswith("/reel/C4kz7QvL1xA/")
    trending = data(await alice.post(url, json={"type": "tiktok_trending", "value": "gb"}), 201)
    assert trending["value"] == "GB"
    data(await alice.post(url, json={"type": "tiktok_post", "value": "https://www.tiktok.com/@chef/video/7301"}), 201)
    listed = data(await alice.get(url))
    assert listed["targets"][-1]["type"] == "tiktok_post" and listed["total"] == data(await alice.get(
        "/repost/schedules/12"))["target_count"]


async def test_add_target_errors(alice):
    url = "/repost/schedules/12/targets"
    for kind in ("location", "music", "collection"):
        body = error(await alice.post(url, json={"type": kind, "value": "Something"}), 422)
        assert list(body["errors"]) == ["id"]
    error(await alice.post(url, json={"type": "collection", "id": "abc", "value": "Lookbook"}), 422)
    error(await alice.post(url, json={"type": "tiktok_trending", "value": "USA"}), 422)
    error(await alice.post(url, json={"type": "instagram_post", "value": "https://example.com/x"}), 422)
    error(await alice.post(url, json={"type": "explore"}), 422)  # a Reactions type, not a Repost one
    error(await alice.post(url, json={"value": "x"}), 400)
    error(await alice.post(url, json={"type": "hashtag"}), 400)
    data(await alice.post(url, json={"type": "hashtag", "value": "brunch"}), 201)
    error(await alice.post(url, json={"type": "hashtag", "value": "#brunch"}), 409, "Target already exists")
    error(await alice.post("/repost/schedules/24/targets", json={"type": "hashtag", "value": "a"}), 404,
          "Schedule not found")
    error(await alice.post("/repost/schedules/26/targets", json={"type": "hashtag", "value": "a"}), 404,
          "Account not found")


async def test_delete_targets(alice):
    url = "/repost/schedules/20/targets"
    added = data(await alice.post(url, json={"type": "tiktok_keyword", "value": "meal prep"}), 201)
    total = data(await alice.get(url))["total"]
    assert data(await alice.delete(f"{url}/{added['target_id']}")) == {"removed": 1, "total": total - 1}
    error(await alice.delete(f"{url}/{added['target_id']}"), 404, "Target not found")
    error(await alice.delete("/repost/schedules/24/targets/1"), 404, "Schedule not found")
    error(await alice.delete("/repost/schedules/26/targets/1"), 404, "Account not found")

    for tag in ("a1", "b2"):
        data(await alice.post(url, json={"type": "tiktok_hashtag", "value": tag}), 201)
    assert data(await alice.request("DELETE", url, json={"type": "tiktok_hashtag", "value": "#a1"}))["removed"] == 1
    out = data(await alice.request("DELETE", url, json={"type": "tiktok_hashtag"}))
    assert out == {"removed": 1, "total": total - 1}
    error(await alice.request("DELETE", url, json={}), 400)
    error(await alice.request("DELETE", url, json={"type": "feed"}), 422)
    error(await alice.request("DELETE", "/repost/schedules/24/targets", json={"type": "hashtag"}), 404)


# -- logs ------------------------------------------------------------------------------------------
async def test_logs(alice, bob, admin):
    page = data(await alice.get("/repost/logs", params={"per_page": 100}))
    items = page["items"]
    assert page["total"] >= 23 * 2 and set(items[0]) == LOG_FIELDS
    assert [e["id"] for e in items] == sorted((e["id"] for e in items), reverse=True)
    assert {e["status"] for e in items} <= {"success", "error", "skipped"}
    ok = [e for e in items if e["status"] == "success"]
    assert ok and all(e["media_code"] and e["is_deleted"] is False for e in ok)
    assert all(e["remove_scheduled"] for e in ok if e["is_removable"])
    bob_total = data(await bob.get("/repost/logs"))["total"]
    assert data(await admin.get("/repost/logs"))["total"] == page["total"] + bob_total
    skipped = data(await alice.get("/repost/logs", params={"status": "skipped", "per_page": 100}))
    assert all(e["status"] == "skipped" for e in skipped["items"])
    assert {e["account_id"] for e in data(await alice.get("/repost/logs", params={"account_id": 2}))["items"]} == {2}


async def test_account_logs(alice):
    out = data(await alice.get("/repost/logs/2", params={"per_page": 1}))
    assert out["per_page"] == 1 and out["total"] >= 2 and out["items"][0]["account_id"] == 2
    error(await alice.get("/repost/logs/24"), 404, "Schedule not found")
    error(await alice.get("/repost/logs/26"), 404, "Account not found")


# -- bulk ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("prefix", ["/repost/bulk", "/repost/schedules/bulk"])
async def test_bulk_activate_and_pause(alice, prefix):
    out = data(await alice.post(f"{prefix}/activate", json={"account_ids": [7, 8, 24, 26, 7]}))
    assert out == {"affected": 2, "account_ids": [7, 8], "skipped": [24, 26]}
    assert data(await alice.get("/repost/schedules/8"))["is_active"] is True
    out = (await alice.post(f"{prefix}/pause")).json()
    assert out["data"]["affected"] == 23 and out["data"]["skipped"] == []
    assert out["message"] == "23 schedules paused."
    assert data(await alice.get("/repost/schedules", params={"is_active": "true"}))["total"] == 0


async def test_bulk_errors_and_no_stop(alice):
    error(await alice.post("/repost/bulk/pause", json={"account_ids": list(range(1001))}), 422)
    error(await alice.post("/repost/bulk/activate", json={"account_ids": ["x"]}), 422)
    error(await alice.post("/repost/bulk/stop"), 404)  # the reference has no bulk stop for Repost Pro


# -- engine ----------------------------------------------------------------------------------------
async def test_tick_reposts_and_schedules_the_next_run(alice, control):
    await alice.post("/repost/bulk/pause")
    data(await alice.patch("/repost/schedules/2/settings", json={
        "speed": "fast", "daily_pause": False, "custom_repost_time": ""}))
    data(await alice.post("/repost/schedules/2/activate"))
    before = data(await alice.get("/repost/logs/2"))["total"]
    assert (await control.post("/tick")).json()["ticks"][0]["repost"] == {"actions": 1}
    now = await now_of(control)
    s = data(await alice.get("/repost/schedules/2"))
    assert s["last_action_date"] == now.strftime(FORMAT)
    assert s["schedule_date"] == (now + timedelta(seconds=interval_seconds("fast"))).strftime(FORMAT)
    latest = data(await alice.get("/repost/logs/2"))
    assert latest["total"] == before + 1 and latest["items"][0]["date"] == now.strftime(FORMAT)


async def test_tick_uses_custom_repost_times(alice, control):
    await alice.post("/repost/bulk/pause")
    now = await now_of(control)
    slot = (now + timedelta(hours=2)).replace(second=0)
    data(await alice.patch("/repost/schedules/2/settings", json={
        "custom_repost_time": f"repost[{slot:%H:%M}]", "daily_pause": False}))
    data(await alice.post("/repost/schedules/2/activate"))
    await control.post("/tick")
    assert data(await alice.get("/repost/schedules/2"))["schedule_date"] == slot.strftime(FORMAT)


async def test_tick_switches_off_schedules_needing_login(alice, control):
    await control.post("/clock/advance", json={"seconds": 3600, "ticks": 1})
    assert data(await alice.get("/repost/schedules/9"))["is_active"] is False
    latest = data(await alice.get("/repost/logs/9"))["items"][0]
    assert latest["status"] == "error" and "login" in latest["message"]
    assert data(await alice.get("/repost/schedules/1"))["is_active"] is True


async def test_tick_moves_a_run_out_of_the_daily_pause(alice, control):
    await alice.post("/repost/bulk/pause")
    now = await now_of(control)
    start, end = now - timedelta(minutes=30), now + timedelta(minutes=90)
    data(await alice.patch("/repost/schedules/3/settings", json={
        "daily_pause": True, "daily_pause_from": f"{start:%H:%M}", "daily_pause_to": f"{end:%H:%M}"}))
    data(await alice.post("/repost/schedules/3/activate"))
    assert (await control.post("/tick")).json()["ticks"][0]["repost"] == {"paused": 1}
    assert data(await alice.get("/repost/schedules/3"))["schedule_date"] == end.replace(second=0).strftime(FORMAT)


async def test_scale_seed_adds_default_schedules(alice, control):
    assert (await control.post("/seed", json={"spec": "accounts=30"})).status_code == 200
    assert data(await alice.get("/repost/schedules"))["total"] == 23 + 30
    new = data(await alice.get("/repost/schedules", params={"per_page": 30, "page": 2}))["items"]
    assert all(s["account_id"] > 30 and 1 <= s["target_count"] <= 2 for s in new)
    assert await settings_of(alice, new[-1]["account_id"]) == {k: spec.default for k, spec in FIELDS.items()}


def test_openapi_documents_both_modules():
    from orchestrator.emulator import create_app

    spec = create_app().openapi()
    paths = spec["paths"]
    for path in ("/api/v1/repost/schedules/bulk/activate", "/api/v1/repost/bulk/pause",
                 "/api/v1/reactions/schedules/bulk/stop", "/api/v1/reactions/stats/{account_id}"):
        assert "post" in paths[path] or "get" in paths[path]
    body = paths["/api/v1/repost/schedules/{account_id}/settings"]["patch"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert schema["properties"]["speed"]["enum"] == ["very_slow", "slow", "medium", "fast", "very_fast"]
    assert "delete" in paths["/api/v1/reactions/schedules/{account_id}/targets"]
