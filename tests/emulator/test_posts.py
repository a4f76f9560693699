"""Posts and the publishing lifecycle against the in-process emulator.

Demo world: alice has posts 1-20 (1-7 published, 8 publishing, 9-14 scheduled, 15-18 saved,
19-20 failed) and bob 21-24 (published, scheduled, saved, failed). Alice's media: images 1-4,
8-11, 13-15, videos 5, 6, 7, 12; bob's media 16-19. Accounts 9, 18 (alice) and 27 (bob) have
``login_required``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from orchestrator.emulator.clock import FORMAT
from tests.conftest import data, error

FIELDS = {"id", "account_id", "status", "type", "caption", "first_comment", "media_ids", "is_scheduled",
          "schedule_date", "publish_date", "date", "reason", "instagram_code"}


async def clock_now(control) -> datetime:
    return datetime.strptime((await control.get("/clock")).json()["now"], FORMAT)


async def in_future(control, seconds: float = 3600) -> str:
    """A schedule_date ``seconds`` after the emulator clock's now."""
    return (await clock_now(control) + timedelta(seconds=seconds)).strftime(FORMAT)


async def scheduled_post(alice, control, *, account_id=1, media_ids="1", seconds: float = 60) -> dict:
    body = {"account_id": account_id, "caption": "Soon", "media_ids": media_ids, "is_scheduled": True,
            "schedule_date": await in_future(control, seconds)}
    return data(await alice.post("/posts", json=body), 201)


def fields_in_error(response, status: int = 422) -> set[str]:
    return set(error(response, status)["errors"])


# -- list ----------------------------------------------------------------------------
async def test_list_is_paginated_newest_first_and_scoped(alice, bob, admin):
    page = data(await alice.get("/posts", params={"per_page": 5}))
    assert (page["total"], page["page"], page["per_page"]) == (20, 1, 5)
    assert [p["id"] for p in page["items"]] == [20, 19, 18, 17, 16]
    assert set(page["items"][0]) == FIELDS
    assert data(await bob.get("/posts"))["total"] == 4
    assert data(await admin.get("/posts"))["total"] == 24


@pytest.mark.parametrize(
    ("status", "total"), [("saved", 4), ("scheduled", 6), ("publishing", 1), ("published", 7), ("failed", 2)]
)
async def test_status_filter(alice, status, total):
    page = data(await alice.get("/posts", params={"status": status}))
    assert page["total"] == total and {p["status"] for p in page["items"]} == {status}


async def test_account_filter(alice):
    page = data(await alice.get("/posts", params={"account_id": 9}))
    assert page["total"] == 2 and {p["account_id"] for p in page["items"]} == {9}
    both = data(await alice.get("/posts", params={"account_id": 9, "status": "failed"}))
    assert [p["id"] for p in both["items"]] == [19]
    assert data(await alice.get("/posts", params={"account_id": 26}))["total"] == 0


async def test_list_filter_errors(alice):
    assert fields_in_error(await alice.get("/posts", params={"status": "deleted"})) == {"status"}
    assert fields_in_error(await alice.get("/posts", params={"account_id": "x"})) == {"account_id"}


async def test_seeded_posts_look_real(alice):
    published = data(await alice.get("/posts/1"))
    assert (published["type"], published["media_ids"], published["status"]) == ("album", "1,2,3", "published")
    assert published["publish_date"] and len(published["instagram_code"]) == 11
    failed = data(await alice.get("/posts/19"))
    assert failed["reason"] == "Login required: re-authenticate the account" and failed["instagram_code"] is None


# -- get -----------------------------------------------------------------------------
async def test_get_post(alice):
    post = data(await alice.get("/posts/9"))
    assert set(post) == FIELDS and post["status"] == "scheduled" and post["is_scheduled"] is True


async def test_get_unknown_or_foreign_post_is_404(alice, admin):
    error(await alice.get("/posts/999"), 404, "Post not found")
    error(await alice.get("/posts/21"), 404, "Post not found")
    assert data(await admin.get("/posts/21"))["account_id"] == 26


# -- create --------------------------------------------------------------------------
async def test_create_draft_with_only_an_account(alice, control):
    response = await alice.post("/posts", json={"account_id": 3})
    post = data(response, 201)
    assert response.json()["message"] == "Post saved."
    assert post["status"] == "saved" and post["is_scheduled"] is False
    assert (post["type"], post["media_ids"], post["caption"], post["schedule_date"]) == ("photo", "", "", None)
    assert post["date"] == (await control.get("/clock")).json()["now"]
    assert data(await alice.get(f"/posts/{post['id']}")) == post


async def test_create_scheduled_photo(alice, control):
    when = await in_future(control)
    body = {"account_id": 7, "caption": "My caption here #hashtag", "type": "photo", "media_ids": "4",
            "is_scheduled": True, "schedule_date": when}
    response = await alice.post("/posts", json=body)
    post = data(response, 201)
    assert response.json()["message"] == "Post scheduled."
    assert (post["status"], post["schedule_date"]) == ("scheduled", when)
    assert (post["account_id"], post["type"]) == (7, "photo")
    assert post["publish_date"] is None and post["reason"] is None


async def test_create_carousel_is_an_album(alice):
    carousel = {"account_id": 1, "type": "carousel", "media_ids": " 1, 2 ,5"}
    post = data(await alice.post("/posts", json=carousel), 201)
    assert (post["type"], post["media_ids"]) == ("album", "1,2,5")
    as_list = data(await alice.post("/posts", json={"account_id": 1, "type": "album", "media_ids": [3, 4]}), 201)
    assert as_list["media_ids"] == "3,4"


@pytest.mark.parametrize(
    ("media_ids", "inferred"), [("8", "photo"), ("6", "video"), ("8,6", "album"), (8, "photo")]
)
async def test_type_is_inferred_from_the_media(alice, media_ids, inferred):
    post = data(await alice.post("/posts", json={"account_id": 2, "media_ids": media_ids}), 201)
    assert post["type"] == inferred


@pytest.mark.parametrize(
    ("post_type", "media_ids"), [("story", "6"), ("story", "8"), ("reels", "6"), ("video", "7")]
)
async def test_single_file_types(alice, post_type, media_ids):
    assert data(await alice.post("/posts", json={"account_id": 2, "type": post_type, "media_ids": media_ids}), 201)


async def test_create_missing_or_malformed_is_400(alice):
    error(await alice.post("/posts", json={"caption": "no account"}), 400, "Missing required field: account_id")
    error(await alice.post("/posts", content=b"{", headers={"content-type": "application/json"}), 400)


async def test_foreign_or_unknown_account_is_422(alice):
    for account_id in (26, 999):
        body = error(await alice.post("/posts", json={"account_id": account_id}), 422)
        assert body["errors"] == {"account_id": ["Account not found"]}


async def test_media_must_exist_and_be_the_users(alice):
    body = error(await alice.post("/posts", json={"account_id": 1, "media_ids": "1,16,999"}), 422)
    assert body["errors"] == {"media_ids": ["Media not found: 16, 999"]}
    junk = error(await alice.post("/posts", json={"account_id": 1, "media_ids": "1,abc"}), 422)
    assert junk["errors"] == {"media_ids": ["Not media ids: abc"]}
    repeated = error(await alice.post("/posts", json={"account_id": 1, "type": "album", "media_ids": "1,1"}), 422)
    assert repeated["errors"] == {"media_ids": ["Repeated media ids: 1"]}
    eleven = ",".join(str(i) for i in range(1, 12))
    too_many = error(await alice.post("/posts", json={"account_id": 1, "media_ids": eleven}), 422)
    assert too_many["errors"] == {"media_ids": ["At most 10 media files per post"]}


@pytest.mark.parametrize(
    ("post_type", "media_ids"),
    [("album", "1"), ("album", "1,2,3,4,8,9,10,11,13,14,15"), ("photo", "1,2"), ("photo", "5"),
     ("video", "1"), ("reels", "1"), ("story", "1,2")],
)
async def test_type_must_fit_the_media(alice, post_type, media_ids):
    response = await alice.post("/posts", json={"account_id": 1, "type": post_type, "media_ids": media_ids})
    assert fields_in_error(response) == {"media_ids"}


async def test_invalid_field_values_are_422(alice):
    cases = [
        ({"account_id": 1, "type": "tweet"}, "type"),
        ({"account_id": "one"}, "account_id"),
        ({"account_id": 1, "caption": "x" * 2201}, "caption"),
        ({"account_id": 1, "is_scheduled": "maybe"}, "is_scheduled"),
    ]
    for body, field in cases:
        assert fields_in_error(await alice.post("/posts", json=body)) == {field}


async def test_schedule_rules(alice, control):
    base = {"account_id": 1, "media_ids": "1", "is_scheduled": True}
    assert error(await alice.post("/posts", json=base), 422)["errors"] == {
        "schedule_date": ["A scheduled post needs a schedule_date"]}
    now = (await control.get("/clock")).json()["now"]
    for when in ("2020-01-01 00:00:00", now, "2030-01-01T10:00:00Z", "tomorrow", "2030-02-30 10:00:00"):
        response = await alice.post("/posts", json={**base, "schedule_date": when})
        assert fields_in_error(response) == {"schedule_date"}, when
    no_media = {"account_id": 1, "is_scheduled": True, "schedule_date": await in_future(control)}
    assert error(await alice.post("/posts", json=no_media), 422)["errors"] == {
        "media_ids": ["A scheduled post needs at least one media file"]}


async def test_every_problem_is_reported_at_once(alice):
    body = {"account_id": 1, "media_ids": "999", "is_scheduled": True}
    assert fields_in_error(await alice.post("/posts", json=body)) == {"media_ids", "schedule_date"}


async def test_a_draft_may_keep_a_past_planned_date(alice):
    post = data(await alice.post("/posts", json={"account_id": 1, "schedule_date": "2020-01-01 00:00:00"}), 201)
    assert (post["status"], post["schedule_date"]) == ("saved", "2020-01-01 00:00:00")


async def test_admin_posts_on_a_users_account_as_that_user(alice, admin):
    post = data(await admin.post("/posts", json={"account_id": 1, "media_ids": "1"}), 201)
    assert data(await alice.get(f"/posts/{post['id']}"))["id"] == post["id"]
    body = error(await admin.post("/posts", json={"account_id": 1, "media_ids": "16"}), 422)
    assert body["errors"] == {"media_ids": ["Media not found: 16"]}  # bob's file on alice's account


# -- update --------------------------------------------------------------------------
async def test_patch_caption_keeps_the_rest(alice):
    before = data(await alice.get("/posts/9"))
    response = await alice.patch("/posts/9", json={"caption": "Flash sale extended ⚡"})
    after = data(response)
    assert response.json()["message"] == "Post updated."
    assert after == {**before, "caption": "Flash sale extended ⚡"}


async def test_patch_schedule_time_and_media(alice, control):
    when = await in_future(control, 7200)
    post = data(await alice.patch("/posts/10", json={"schedule_date": when, "media_ids": "1,2,3"}))
    assert (post["schedule_date"], post["status"]) == (when, "scheduled")
    assert (post["media_ids"], post["type"]) == ("1,2,3", "album")


async def test_patch_media_reinfers_an_inferred_type_only(alice):
    draft = data(await alice.post("/posts", json={"account_id": 2, "media_ids": "8"}), 201)
    assert data(await alice.patch(f"/posts/{draft['id']}", json={"media_ids": "8,9"}))["type"] == "album"
    chosen = data(await alice.post("/posts", json={"account_id": 2, "type": "story", "media_ids": "8"}), 201)
    assert fields_in_error(await alice.patch(f"/posts/{chosen['id']}", json={"media_ids": "8,9"})) == {"media_ids"}


async def test_unschedule_and_reschedule(alice, control):
    saved = data(await alice.patch("/posts/11", json={"is_scheduled": False}))
    assert (saved["status"], saved["is_scheduled"]) == ("saved", False)
    when = await in_future(control)
    again = data(await alice.patch("/posts/11", json={"is_scheduled": True, "schedule_date": when}))
    assert (again["status"], again["schedule_date"]) == ("scheduled", when)


async def test_schedule_a_draft(alice, control):
    when = await in_future(control)
    post = data(await alice.patch("/posts/16", json={"is_scheduled": True, "schedule_date": when}))
    assert post["status"] == "scheduled"
    no_date = await alice.patch("/posts/17", json={"is_scheduled": True})
    assert fields_in_error(no_date) == {"schedule_date"}
    no_media = await alice.patch("/posts/15", json={"is_scheduled": True, "schedule_date": when})
    assert fields_in_error(no_media) == {"media_ids"}
    assert data(await alice.get("/posts/15"))["status"] == "saved"


async def test_a_failed_post_can_be_retried(alice, control):
    untouched = data(await alice.patch("/posts/19", json={"caption": "Protein bowl, 4 ways"}))
    assert untouched["status"] == "failed"
    retried = data(await alice.patch("/posts/19", json={"schedule_date": await in_future(control)}))
    assert (retried["status"], retried["reason"]) == ("scheduled", None)


async def test_published_and_publishing_posts_cannot_be_edited(alice):
    error(await alice.patch("/posts/1", json={"caption": "edit"}), 409, "Published posts cannot be edited")
    in_flight = await alice.patch("/posts/8", json={"caption": "edit"})
    error(in_flight, 409, "The post is being published and cannot be edited")
    assert data(await alice.get("/posts/1"))["caption"].startswith("Summer lookbook")


async def test_patch_errors(alice, control):
    error(await alice.patch("/posts/9", json={}), 422)
    error(await alice.patch("/posts/9", json={"caption": None}), 422)
    assert fields_in_error(await alice.patch("/posts/9", json={"account_id": 2})) == {"account_id"}
    assert fields_in_error(await alice.patch("/posts/9", json={"status": "published"})) == {"status"}
    past = {"schedule_date": "2020-01-01 00:00:00"}
    assert fields_in_error(await alice.patch("/posts/9", json=past)) == {"schedule_date"}
    assert fields_in_error(await alice.patch("/posts/9", json={"media_ids": "16"})) == {"media_ids"}
    assert fields_in_error(await alice.patch("/posts/9", json={"media_ids": ""})) == {"media_ids"}
    assert fields_in_error(await alice.patch("/posts/9", json={"type": "album"})) == {"media_ids"}
    error(await alice.patch("/posts/999", json={"caption": "x"}), 404, "Post not found")
    error(await alice.patch("/posts/21", json={"caption": "x"}), 404, "Post not found")


# -- delete --------------------------------------------------------------------------
async def test_delete_post(alice, bob):
    deleted = await alice.delete("/posts/15")
    assert data(deleted) == {"id": 15} and deleted.json()["message"] == "Post deleted."
    error(await alice.get("/posts/15"), 404)
    error(await alice.delete("/posts/15"), 404, "Post not found")
    assert data(await alice.delete("/posts/2")) == {"id": 2}  # a published record may go
    error(await alice.delete("/posts/21"), 404, "Post not found")
    assert data(await bob.get("/posts/21"))["id"] == 21


async def test_a_post_being_published_cannot_be_deleted(alice):
    error(await alice.delete("/posts/8"), 409, "The post is being published and cannot be deleted")


# -- lifecycle -----------------------------------------------------------------------
async def test_scheduled_post_publishes_over_two_ticks(alice, control):
    post = await scheduled_post(alice, control, seconds=60)
    await control.post("/clock/advance", json={"seconds": 30, "ticks": 1})
    assert data(await alice.get(f"/posts/{post['id']}"))["status"] == "scheduled"
    await control.post("/clock/advance", json={"seconds": 30, "ticks": 1})
    assert data(await alice.get(f"/posts/{post['id']}"))["status"] == "publishing"
    error(await alice.patch(f"/posts/{post['id']}", json={"caption": "late"}), 409)
    await control.post("/clock/advance", json={"seconds": 60, "ticks": 1})
    done = data(await alice.get(f"/posts/{post['id']}"))
    assert done["status"] == "published" and done["publish_date"] == (await control.get("/clock")).json()["now"]
    assert len(done["instagram_code"]) == 11 and done["reason"] is None
    await control.post("/clock/advance", json={"seconds": 3600, "ticks": 3})
    assert data(await alice.get(f"/posts/{post['id']}")) == done  # published posts never change


async def test_the_seeded_publishing_post_is_published_on_the_next_tick(alice, control):
    await control.post("/tick")
    assert data(await alice.get("/posts/8"))["status"] == "published"


async def test_an_account_needing_login_fails_with_a_reason(alice, control):
    post = await scheduled_post(alice, control, account_id=9)
    await control.post("/clock/advance", json={"seconds": 60, "ticks": 2})
    failed = data(await alice.get(f"/posts/{post['id']}"))
    assert failed["status"] == "failed" and failed["reason"] == "Login required: re-authenticate the account"
    assert failed["publish_date"] is None


async def test_a_deleted_file_fails_the_post(alice, control):
    post = await scheduled_post(alice, control, media_ids="10,11")
    data(await alice.delete("/media/11"))
    await control.post("/clock/advance", json={"seconds": 60, "ticks": 2})
    failed = data(await alice.get(f"/posts/{post['id']}"))
    assert (failed["status"], failed["reason"]) == ("failed", "Media file not found: 11")


async def test_tick_reports_counts(control, alice):
    await scheduled_post(alice, control, seconds=60)
    first = (await control.post("/clock/advance", json={"seconds": 60, "ticks": 1})).json()["ticks"][0]
    assert first["posts"] == {"published": 1, "publishing": 1}
    second = (await control.post("/tick")).json()["ticks"][0]
    assert second["posts"] == {"published": 1}


async def test_posts_need_a_key(emu):
    async with emu.http(None) as anon:
        error(await anon.get("/posts"), 401, "Unauthorized")
