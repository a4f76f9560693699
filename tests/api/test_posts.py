"""PostsResource against the in-process emulator."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import Conflict, NotFound, ValidationFailed
from orchestrator.api.resources.posts import Post, media_ids_param, stamp
from tests.api.conftest import clear_faults, lose_responses, request_count, stored

ALICE_POSTS = 20  # seeded by the demo world: ids 1-20; bob's are 21-24
BOB_POST_ID = 21
PUBLISHED_ID, PUBLISHING_ID = 1, 8
FUTURE = "2030-01-15 10:00:00"  # the demo world's frozen clock is in 2026


async def test_list_reads_every_post_as_models(client: SharingtoolsClient) -> None:
    posts = [p async for p in client.posts.list()]
    assert len(posts) == ALICE_POSTS
    assert all(isinstance(p, Post) and p.account_id in range(1, 26) and p.status for p in posts)
    assert {p.status for p in posts} == {"saved", "scheduled", "publishing", "published", "failed"}


async def test_list_and_page_filter_by_status_and_account(client: SharingtoolsClient) -> None:
    scheduled = [p async for p in client.posts.list(status="scheduled")]
    assert len(scheduled) == 6 and all(p.is_scheduled and p.schedule_date for p in scheduled)
    assert sorted([p.id async for p in client.posts.list(account_id=1)]) == [1, 9]
    page = await client.posts.page(1, 2, status="failed")
    assert (page.total, len(page.items)) == (2, 2)
    assert all(p.reason for p in page.items)
    assert [p async for p in client.posts.list(account_id=26)] == []  # bob's account: nothing


async def test_list_reads_all_pages_at_100_per_page(
    client: SharingtoolsClient, alice: httpx.AsyncClient, control: httpx.AsyncClient
) -> None:
    for i in range(130):
        (await alice.post("posts", json={"account_id": 2, "caption": f"draft {i}"})).raise_for_status()
    await control.post("/requests/reset")
    posts = [p async for p in client.posts.list()]
    assert len({p.id for p in posts}) == ALICE_POSTS + 130
    assert await request_count(control, "GET", "/posts") == 2  # 150 posts at 100 a page


async def test_get_own_and_not_another_users(client: SharingtoolsClient) -> None:
    post = await client.posts.get(1)
    assert (post.type, post.media_ids, post.status) == ("album", "1,2,3", "published")
    assert post.media_id_list == [1, 2, 3]
    assert post.instagram_code and post.publish_date
    with pytest.raises(NotFound):
        await client.posts.get(BOB_POST_ID)


async def test_create_a_draft_and_a_scheduled_carousel(client: SharingtoolsClient) -> None:
    draft = await client.posts.create(6, caption="Autumn preview")
    assert (draft.status, draft.is_scheduled, draft.caption) == ("saved", False, "Autumn preview")
    post = await client.posts.schedule(5, [1, 4], FUTURE, caption="Swipe ➡️ #ootd")
    assert (post.status, post.type, post.media_ids) == ("scheduled", "album", "1,4")
    assert post.schedule_date == FUTURE


async def test_create_takes_aware_datetimes_as_utc(client: SharingtoolsClient) -> None:
    when = datetime(2030, 1, 15, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    post = await client.posts.schedule(9, "8", when, caption="tz")
    assert post.schedule_date == FUTURE and post.type == "photo"


async def test_create_validation_errors_carry_fields(client: SharingtoolsClient) -> None:
    with pytest.raises(ValidationFailed) as info:
        await client.posts.create(26, caption="bob's account")
    assert "account_id" in info.value.errors
    with pytest.raises(ValidationFailed) as info:
        await client.posts.schedule(1, [3], "2020-01-01 00:00:00")
    assert "schedule_date" in info.value.errors


async def test_update_and_its_conflicts(client: SharingtoolsClient) -> None:
    post = await client.posts.update(15, caption="Autumn preview, shot", media_ids=[2, 3], type="album")
    assert (post.caption, post.media_ids) == ("Autumn preview, shot", "2,3")
    assert (post.type, post.status) == ("album", "saved")
    scheduled = await client.posts.update(15, is_scheduled=True, schedule_date=datetime(2030, 1, 15, 10))
    assert (scheduled.status, scheduled.schedule_date) == ("scheduled", FUTURE)
    with pytest.raises(Conflict):
        await client.posts.update(PUBLISHED_ID, caption="too late")
    with pytest.raises(NotFound):
        await client.posts.update(BOB_POST_ID, caption="not mine")


async def test_delete(client: SharingtoolsClient) -> None:
    assert (await client.posts.delete(15)) == {"id": 15}
    with pytest.raises(NotFound):
        await client.posts.get(15)
    with pytest.raises(Conflict):
        await client.posts.delete(PUBLISHING_ID)
    with pytest.raises(NotFound):
        await client.posts.delete(BOB_POST_ID)


async def test_readback_finds_a_post_made_elsewhere(
    client: SharingtoolsClient, alice: httpx.AsyncClient
) -> None:
    body = {"account_id": 7, "caption": "Lost post", "media_ids": "1,2", "is_scheduled": True,
            "schedule_date": FUTURE}
    made_id = (await alice.post("posts", json=body)).json()["data"]["id"]
    found = await client.posts.find_created(7, "Lost post", FUTURE, "1,2")
    assert found is not None and found["id"] == made_id
    assert (await client.posts.find_created(7, " Lost post ", "2030-01-15T10:00:00"))["id"] == made_id
    assert await client.posts.find_created(7, "Lost post", "2030-01-15 10:00:01") is None
    assert await client.posts.find_created(7, "Lost post", FUTURE, "2,1") is None
    assert await client.posts.find_created(8, "Lost post", FUTURE) is None
    assert await client.posts.find_created(7, "Other caption", FUTURE) is None


async def test_create_whose_answer_is_always_lost_is_found_not_repeated(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    await lose_responses(control, seed=1, rate=1.0)
    made = await client.posts.schedule(7, [1, 2], FUTURE, caption="Exactly once")
    await clear_faults(control)
    copies = [d for d in await stored(control, "posts", account_id=7) if d["caption"] == "Exactly once"]
    assert [d["id"] for d in copies] == [made.id]
    assert client.transport.stats.readbacks == 1


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
async def test_create_under_lost_answers_makes_exactly_one(
    client: SharingtoolsClient, control: httpx.AsyncClient, seed: int
) -> None:
    await lose_responses(control, seed=seed, rate=0.5, drop=0.2)
    made = await client.posts.create(8, caption=f"Seed {seed}")
    await clear_faults(control)
    copies = [d for d in await stored(control, "posts", account_id=8) if d["caption"] == f"Seed {seed}"]
    assert [d["id"] for d in copies] == [made.id]


def test_parameter_forms() -> None:
    assert media_ids_param([42, 43]) == media_ids_param("42, 43") == "42,43"
    assert media_ids_param(42) == "42"
    assert stamp(datetime(2030, 1, 15, 10)) == FUTURE
    assert stamp(FUTURE) == FUTURE


async def test_first_comment_round_trips_and_reel_is_accepted(client: SharingtoolsClient) -> None:
    """The later revision's fields: ``first_comment`` is kept and editable; ``reel`` is reels."""
    post = await client.posts.create(6, caption="New drop", first_comment="Link in bio!", type="reel", media_ids="6")
    assert (post.first_comment, post.type) == ("Link in bio!", "reels")
    assert (await client.posts.get(post.id)).first_comment == "Link in bio!"
    edited = await client.posts.update(post.id, first_comment="Shop now")
    assert edited.first_comment == "Shop now" and edited.caption == "New drop"
    assert (await client.posts.update(post.id, first_comment="")).first_comment is None
    assert (await client.posts.create(6, caption="plain")).first_comment is None
