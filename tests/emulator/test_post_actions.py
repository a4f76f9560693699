"""Post Actions (module ``post-actions-api``) against the in-process emulator.

Demo world facts used here: alice's accounts 9 and 18 need a new login, so 23 of her 25
accounts can act; the seeded jobs (1-8 alice's, 9 bob's) cover every status.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from tests.conftest import data, error

POST = "https://www.instagram.com/p/TestPost001/"
JOB_FIELDS = {"id", "post_url", "target_username", "action", "count", "comment_text", "status",
              "performed_count", "scheduled_at", "started_at", "finished_at", "created_at"}
ISO = "%Y-%m-%dT%H:%M:%SZ"


async def create(client, **body) -> dict:
    return data(await client.post("/post-actions/jobs", json=body), 201)


async def run_job_to_end(control) -> None:
    """A new job is due a minute after creation, starts on that tick and finishes on the next."""
    await control.post("/clock/advance", json={"seconds": 60, "ticks": 1})
    await control.post("/clock/advance", json={"seconds": 60, "ticks": 1})


async def job(client, id: int) -> dict:
    return data(await client.get(f"/post-actions/jobs/{id}"))


# -- envelope and actions ----------------------------------------------------------
async def test_actions_are_listed_in_the_success_envelope(alice):
    body = (await alice.get("/post-actions/actions")).json()
    assert body["success"] is True and "status" not in body
    assert [a["action"] for a in body["data"]] == ["like", "comment", "follow"]
    comment = body["data"][1]
    assert "comment_text" in comment["required_fields"] and comment["description"]


async def test_errors_use_the_modules_own_envelope(alice):
    body = error(await alice.get("/post-actions/jobs/999"), 404, "Job not found")
    assert body["success"] is False and "status" not in body


# -- create ------------------------------------------------------------------------
async def test_create_like_job_as_the_reference_shows(alice):
    body = (await alice.post("/post-actions/jobs", json={"post_url": POST, "action": "like", "count": 10})).json()
    assert body["success"] is True
    created = body["data"]
    assert set(created) == JOB_FIELDS
    assert created["post_url"] == POST and created["action"] == "like" and created["count"] == 10
    assert created["comment_text"] is None and created["target_username"] is None
    assert created["status"] == "pending" and created["performed_count"] is None
    assert created["started_at"] is None and created["finished_at"] is None
    made, due = (datetime.strptime(created[k], ISO) for k in ("created_at", "scheduled_at"))
    assert due - made == timedelta(minutes=1)
    assert await job(alice, created["id"]) == created


@pytest.mark.parametrize("url", [
    "https://www.instagram.com/p/ABC123XYZ/",
    "https://instagram.com/reel/Cx_9-ab",
    "https://www.instagram.com/tv/B1234567/?igsh=abc",
    "https://www.instagram.com/fashionnova/p/ABC123XYZ/",
])
async def test_post_urls_of_every_kind_are_accepted(alice, url):
    assert (await create(alice, post_url=url, action="like", count=1))["post_url"] == url


async def test_follow_by_username_overrides_post_url(alice):
    made = await create(alice, target_username="@cristiano", post_url=POST, action="follow", count=5)
    assert made["target_username"] == "cristiano"
    assert made["post_url"] == "https://www.instagram.com/cristiano/"


async def test_follow_takes_a_profile_or_post_url(alice):
    by_profile = await create(alice, post_url="https://www.instagram.com/zara/", action="follow", count=2)
    assert by_profile["target_username"] == "zara"
    by_post = await create(alice, post_url=POST, action="follow", count=2)
    assert by_post["target_username"] is None and by_post["post_url"] == POST


async def test_fields_of_other_actions_are_ignored(alice):
    made = await create(alice, post_url=POST, action="like", count=1, comment_text="hi", target_username="zara")
    assert made["comment_text"] is None and made["target_username"] is None


async def test_create_missing_fields_are_400(alice):
    for body, field in [
        ({"post_url": POST, "count": 1}, "action"),
        ({"post_url": POST, "action": "like"}, "count"),
        ({"action": "like", "count": 1}, "post_url"),
        ({"action": "comment", "count": 1}, "post_url"),
        ({"action": "follow", "count": 1}, "post_url"),
        ({"action": "comment", "count": 1, "post_url": POST}, "comment_text"),
        ({"action": "comment", "count": 1, "post_url": POST, "comment_text": "  "}, "comment_text"),
    ]:
        body_out = error(await alice.post("/post-actions/jobs", json=body), 400)
        assert field in body_out["errors"], (body, body_out)
        assert body_out["success"] is False


async def test_create_invalid_values_are_422(alice):
    for body, field in [
        ({"post_url": POST, "action": "share", "count": 1}, "action"),
        ({"post_url": POST, "action": "like", "count": 0}, "count"),
        ({"post_url": POST, "action": "like", "count": 10_001}, "count"),
        ({"post_url": POST, "action": "like", "count": "many"}, "count"),
        ({"post_url": "https://www.instagram.com/zara/", "action": "like", "count": 1}, "post_url"),
        ({"post_url": "https://example.com/p/ABC/", "action": "comment", "count": 1, "comment_text": "x"}, "post_url"),
        ({"post_url": "https://www.instagram.com/explore/", "action": "follow", "count": 1}, "post_url"),
        ({"target_username": "not a name!", "action": "follow", "count": 1}, "target_username"),
        ({"post_url": POST, "action": "comment", "count": 1, "comment_text": "x" * 2201}, "comment_text"),
    ]:
        body_out = error(await alice.post("/post-actions/jobs", json=body), 422)
        assert field in body_out["errors"], (body, body_out)
    assert (await create(alice, post_url=POST, action="like", count=10_000))["count"] == 10_000


async def test_malformed_json_is_400(alice):
    response = await alice.post("/post-actions/jobs", content=b"{nope", headers={"content-type": "application/json"})
    error(response, 400, "Malformed JSON")


# -- the engine --------------------------------------------------------------------
async def test_job_lifecycle_pending_processing_success(alice, control):
    made = await create(alice, post_url=POST, action="like", count=3)
    await control.post("/clock/advance", json={"seconds": 30, "ticks": 1})
    assert (await job(alice, made["id"]))["status"] == "pending"  # not due yet
    await control.post("/clock/advance", json={"seconds": 30, "ticks": 1})
    running = await job(alice, made["id"])
    assert running["status"] == "processing" and running["started_at"] and running["finished_at"] is None
    await control.post("/clock/advance", json={"seconds": 60, "ticks": 1})
    done = await job(alice, made["id"])
    assert done["status"] == "success" and done["performed_count"] == 3 and done["finished_at"]
    [log] = data(await alice.get(f"/post-actions/logs/{made['id']}"))
    assert log["schedule_id"] == made["id"] and log["post_url"] == POST and log["action"] == "like"
    assert (log["requested_count"], log["performed_count"], log["status"]) == (3, 3, "success")
    assert log["message"] == "3 accounts liked"
    assert log["started_at"] == done["started_at"] and log["finished_at"] == done["finished_at"]
    assert [r["account_id"] for r in log["details"]["results"]] == [1, 2, 3]
    assert log["details"]["results"][0] == {"account_id": 1, "username": "fashion_nova", "status": "success"}


async def test_each_account_acts_once_per_post_and_action(alice, control):
    first = await create(alice, post_url=POST, action="like", count=2)
    await run_job_to_end(control)
    second = await create(alice, post_url=POST.replace("/p/", "/reel/"), action="like", count=3)  # same media
    await run_job_to_end(control)
    assert (await job(alice, first["id"]))["status"] == "success"
    partial = await job(alice, second["id"])
    assert (partial["status"], partial["performed_count"]) == ("partial", 1)
    [log] = data(await alice.get(f"/post-actions/logs/{second['id']}"))
    assert log["message"] == "2 accounts skipped (already liked)"
    assert log["details"]["results"][:2] == [
        {"account_id": 1, "username": "fashion_nova", "status": "skipped", "reason": "already liked"},
        {"account_id": 2, "username": "fashion_luxe", "status": "skipped", "reason": "already liked"},
    ]
    third = await create(alice, post_url=POST, action="like", count=3)
    comment = await create(alice, post_url=POST, action="comment", count=1, comment_text="Nice")
    await run_job_to_end(control)
    assert (await job(alice, third["id"]))["status"] == "failed"  # all three already liked
    assert (await job(alice, comment["id"]))["status"] == "success"  # another action is a fresh use


async def test_only_active_logged_in_accounts_act(alice, control):
    made = await create(alice, post_url=POST, action="like", count=30)
    await run_job_to_end(control)
    done = await job(alice, made["id"])
    assert (done["status"], done["performed_count"]) == ("partial", 23)
    [log] = data(await alice.get(f"/post-actions/logs/{made['id']}"))
    acted = {r["account_id"] for r in log["details"]["results"]}
    assert 9 not in acted and 18 not in acted  # these two need a new login
    assert log["message"] == "7 accounts unavailable (not enough active accounts)"


async def test_comments_resolve_spintax_per_account(alice, control):
    made = await create(alice, post_url=POST, action="comment", count=5,
                        comment_text="{Great|Lovely|Stunning} {shot|look}!")
    assert made["comment_text"] == "{Great|Lovely|Stunning} {shot|look}!"
    await run_job_to_end(control)
    [log] = data(await alice.get(f"/post-actions/logs/{made['id']}"))
    for result in log["details"]["results"]:
        assert re.fullmatch(r"(Great|Lovely|Stunning) (shot|look)!", result["comment_text"]), result


async def test_stuck_processing_job_goes_back_to_pending(alice, control):
    made = await create(alice, post_url=POST, action="like", count=1)
    await control.post("/clock/advance", json={"seconds": 60, "ticks": 1})
    assert (await job(alice, made["id"]))["status"] == "processing"
    await control.post("/clock/advance", json={"seconds": 31 * 60, "ticks": 1})
    requeued = await job(alice, made["id"])
    assert requeued["status"] == "pending" and requeued["started_at"] is None
    await run_job_to_end(control)
    assert (await job(alice, made["id"]))["status"] == "success"


async def test_seeded_stuck_job_is_requeued_by_the_first_tick(alice, control):
    stuck = data(await alice.get("/post-actions/jobs", params={"status": "processing"}))["items"]
    assert len(stuck) == 1
    report = (await control.post("/tick")).json()["ticks"][0]
    assert report["post_actions"]["requeued"] == 1
    assert (await job(alice, stuck[0]["id"]))["status"] == "pending"


async def test_a_job_whose_owner_lost_the_module_fails(emu, alice, control):
    made = await create(alice, post_url=POST, action="like", count=2)
    await control.post("/clock/advance", json={"seconds": 60, "ticks": 1})
    alice_id = emu.state.users.find_one(key="alice")["id"]
    emu.state.set_user_modules(alice_id, ["parser"])
    await control.post("/clock/advance", json={"seconds": 60, "ticks": 1})
    emu.state.set_user_modules(alice_id, ["post-actions-api"])  # back, to read the job
    done = await job(alice, made["id"])
    assert (done["status"], done["performed_count"]) == ("failed", 0)


# -- list, get, cancel ------------------------------------------------------------
async def test_list_jobs_is_paginated_newest_first_and_scoped(alice, bob, admin):
    page = data(await alice.get("/post-actions/jobs", params={"per_page": 3}))
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (8, 1, 3, 3)
    ids = [j["id"] for j in page["items"]]
    assert ids == sorted(ids, reverse=True) and set(page["items"][0]) == JOB_FIELDS
    assert data(await bob.get("/post-actions/jobs"))["total"] == 1
    assert data(await admin.get("/post-actions/jobs"))["total"] == 9


async def test_list_jobs_filters_by_status(alice):
    statuses = {j["status"] for j in data(await alice.get("/post-actions/jobs"))["items"]}
    assert statuses == {"pending", "processing", "success", "partial", "failed", "cancelled"}
    for status in statuses:
        items = data(await alice.get("/post-actions/jobs", params={"status": status}))["items"]
        assert items and {j["status"] for j in items} == {status}
    error(await alice.get("/post-actions/jobs", params={"status": "done"}), 422)


async def test_get_job_of_another_user_is_404(alice, bob):
    bobs = data(await bob.get("/post-actions/jobs"))["items"][0]["id"]
    error(await alice.get(f"/post-actions/jobs/{bobs}"), 404, "Job not found")
    error(await alice.get("/post-actions/jobs/999"), 404, "Job not found")


async def test_cancel_pending_job(alice, control):
    made = await create(alice, post_url=POST, action="like", count=2)
    body = (await alice.delete(f"/post-actions/jobs/{made['id']}")).json()
    assert body["success"] is True and body["data"]["status"] == "cancelled" and body["data"]["finished_at"]
    error(await alice.delete(f"/post-actions/jobs/{made['id']}"), 409)
    await run_job_to_end(control)
    assert (await job(alice, made["id"]))["status"] == "cancelled"  # never runs
    assert data(await alice.get(f"/post-actions/logs/{made['id']}")) == []


async def test_only_pending_jobs_can_be_cancelled(alice, bob, control):
    made = await create(alice, post_url=POST, action="like", count=1)
    await control.post("/clock/advance", json={"seconds": 60, "ticks": 1})
    body = error(await alice.delete(f"/post-actions/jobs/{made['id']}"), 409)
    assert "pending" in body["message"] and body["success"] is False
    bobs = data(await bob.get("/post-actions/jobs"))["items"][0]["id"]
    error(await alice.delete(f"/post-actions/jobs/{bobs}"), 404, "Job not found")
    error(await alice.delete("/post-actions/jobs/999"), 404, "Job not found")


# -- logs and usage ----------------------------------------------------------------
async def test_logs_list_and_filters(alice, bob):
    page = data(await alice.get("/post-actions/logs"))
    assert page["total"] == 5 and {"items", "total", "page", "per_page"} <= set(page)
    entry = page["items"][0]
    assert {"id", "schedule_id", "post_url", "action", "requested_count", "performed_count", "status",
            "message", "details", "started_at", "finished_at"} == set(entry)
    liked = data(await alice.get("/post-actions/logs", params={
        "post_url": "https://instagram.com/reel/C4xLuxeDrop1", "action": "like"}))
    assert liked["total"] == 3 and {e["status"] for e in liked["items"]} == {"success", "partial", "failed"}
    assert data(await alice.get("/post-actions/logs", params={"action": "follow"}))["total"] == 1
    assert data(await alice.get("/post-actions/logs", params={"post_url": "https://x.test/"}))["total"] == 0
    assert data(await bob.get("/post-actions/logs"))["total"] == 1
    error(await alice.get("/post-actions/logs", params={"action": "share"}), 422)


async def test_job_logs_is_an_array(alice, bob):
    jobs = {j["status"]: j["id"] for j in data(await alice.get("/post-actions/jobs"))["items"]}
    [log] = data(await alice.get(f"/post-actions/logs/{jobs['partial']}"))
    assert log["message"] == "5 accounts skipped (already liked)" and log["performed_count"] == 3
    assert data(await alice.get(f"/post-actions/logs/{jobs['pending']}")) == []
    bobs = data(await bob.get("/post-actions/jobs"))["items"][0]["id"]
    error(await alice.get(f"/post-actions/logs/{bobs}"), 404, "Job not found")
    error(await alice.get("/post-actions/logs/999"), 404, "Job not found")


async def test_usage_records_per_url_and_action(alice, bob, control):
    usage = data(await alice.get("/post-actions/usage"))
    assert usage["total"] == 3
    liked = data(await alice.get("/post-actions/usage", params={
        "post_url": "https://www.instagram.com/p/C4xLuxeDrop1/", "action": "like"}))["items"]
    assert len(liked) == 1
    assert liked[0]["used_count"] == 8 and liked[0]["account_ids"] == list(range(1, 9))
    assert set(liked[0]) == {"id", "post_url", "action", "used_count", "account_ids", "first_used_at", "last_used_at"}
    await create(alice, target_username="brand.new", action="follow", count=4)
    await run_job_to_end(control)
    follows = data(await alice.get("/post-actions/usage", params={
        "post_url": "https://www.instagram.com/brand.new/"}))["items"]
    assert follows[0]["used_count"] == 4 and follows[0]["action"] == "follow"
    assert data(await bob.get("/post-actions/usage"))["total"] == 1
    error(await alice.get("/post-actions/usage", params={"action": "share"}), 422)


# -- module gate -------------------------------------------------------------------
async def test_module_gate(emu, control):
    user = (await control.post("/users", json={"username": "carol", "modules": ["parser"]})).json()
    async with emu.http(None, headers={"Authorization": f"Bearer {user['key']}"}) as carol:
        body = error(await carol.get("/post-actions/jobs"), 403, "Module not enabled")
        assert body["success"] is False
    await control.put("/modules", json={"installed": ["parser"]})
    async with emu.http("alice") as alice:
        error(await alice.get("/post-actions/actions"), 503)
