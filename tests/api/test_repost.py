"""RepostResource against the in-process emulator (the shared logic is covered in depth by
test_reactions.py; this file checks every method on Repost Pro's paths and shapes)."""

from __future__ import annotations

import httpx
import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import Conflict, ModuleNotEnabled, NotFound, ValidationFailed
from orchestrator.api.resources.automation import BulkResult, TargetType
from orchestrator.api.resources.repost import RepostLogEntry, RepostSchedule
from orchestrator.emulator.testing import LocalEmulator
from tests.api.conftest import clear_faults, lose_responses, make_client, request_count, stored

# Demo world: alice's accounts 1-23 and bob's 26-29 have a schedule; 24 and 25 have none.
WITH_SCHEDULE = [*range(1, 24)]
ALICE_ACTIVE = {1, 2, 3, 4, 5, 6, 9, 10, 11, 16, 17, 18, 22}
STUCK_RUNNING = 5


async def test_list_schedules_reads_every_schedule_as_models(client: SharingtoolsClient) -> None:
    schedules = [s async for s in client.repost.list_schedules()]
    assert [s.account_id for s in schedules] == WITH_SCHEDULE
    assert all(isinstance(s, RepostSchedule) and isinstance(s.speed, str) for s in schedules)
    assert {s.account_id for s in schedules if s.is_active} == ALICE_ACTIVE
    page = await client.repost.list_schedules_page(1, 5, is_active=False)
    assert page.total == len(WITH_SCHEDULE) - len(ALICE_ACTIVE) and len(page.items) == 5


async def test_list_schedules_reads_all_pages_at_100_per_page(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    (await control.post("/seed", json={"spec": "accounts=180"})).raise_for_status()
    await control.post("/requests/reset")
    assert len({s.account_id async for s in client.repost.list_schedules()}) == 23 + 180
    assert await request_count(control, "GET", "/repost/schedules") == 3


async def test_get_activate_pause(client: SharingtoolsClient) -> None:
    running = await client.repost.get_schedule(STUCK_RUNNING)
    assert (running.status, running.is_running) == ("running", True)
    assert (await client.repost.activate(7)).is_active is True
    assert (await client.repost.pause(7)).is_active is False
    assert (await client.repost.pause(7)).status == "inactive"
    for missing in (24, 26, 30):  # no schedule, bob's, admin's
        with pytest.raises(NotFound):
            await client.repost.get_schedule(missing)


async def test_settings_with_dotted_and_aliased_names(client: SharingtoolsClient) -> None:
    settings = await client.repost.get_settings(1)
    assert settings["speed"] in ("very_slow", "slow", "medium", "fast", "very_fast")
    assert "data.photo" in settings
    out = await client.repost.update_settings(
        1, {"data.video": True, "data.private_only": False},
        speed="fast", remove_delay=48, caption="{Wow|Nice} {{original_caption}}",
    )
    written = {"data.video", "data.private_only", "speed", "remove_delay", "caption"}
    assert set(out["updated_fields"]) == written
    assert (await client.repost.update_settings(1, reels_posts=True))["updated_fields"] == ["data.reels"]
    again = await client.repost.get_settings(1)
    got = (again["speed"], again["remove_delay"], again["data.video"], again["data.reels"])
    assert got == ("fast", 48, True, True)
    with pytest.raises(ValidationFailed) as info:
        await client.repost.update_settings(1, speed="warp", daily_pause_from="25:00")
    assert {"speed", "daily_pause_from"} <= set(info.value.errors)


async def test_targets(client: SharingtoolsClient) -> None:
    types = {t.type: t for t in await client.repost.target_types()}
    assert all(isinstance(t, TargetType) for t in types.values())
    reference = {"hashtag", "hashtag_reels", "location", "people", "people_reels", "music", "collection",
                 "instagram_post"}
    assert reference <= set(types)
    assert types["collection"].requires_id is True

    count = len(await client.repost.list_targets(2))
    post = await client.repost.add_target(2, "instagram_post", "https://www.instagram.com/p/DA1linenEdit/")
    music = await client.repost.add_target(2, "music", "Eye of the Tiger", id="349288813019731")
    reels = await client.repost.add_target(2, "hashtag_reels", "#linenedit")
    assert (music.id, reels.value) == ("349288813019731", "linenedit")
    with pytest.raises(Conflict):
        await client.repost.add_target(2, "hashtag_reels", "linenedit")
    with pytest.raises(ValidationFailed):
        await client.repost.add_target(2, "collection", "No id")
    assert len(await client.repost.list_targets(2)) == count + 3

    assert (await client.repost.remove_target(2, post.target_id)).removed == 1
    assert (await client.repost.remove_targets_by_value(2, "music", id="349288813019731")).removed == 1
    left = await client.repost.remove_targets_by_value(2, "hashtag_reels")
    assert left.removed >= 1 and left.total == len(await client.repost.list_targets(2))
    with pytest.raises(NotFound):
        await client.repost.add_target(24, "hashtag", "nope")


async def test_add_target_whose_answer_is_lost_is_added_once(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    await lose_responses(control, seed=1, rate=0.5)
    target = await client.repost.add_target(3, "people", "@studiomcgee")
    await clear_faults(control)
    stored_targets = (await stored(control, "repost_schedules", account_id=3))[0]["targets"]
    assert [t["target_id"] for t in stored_targets if t["value"] == "studiomcgee"] == [target.target_id]


async def test_logs_read_every_entry_across_pages(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    for _ in range(4):  # let the engine repost for a few hours: past one page of entries
        (await control.post("/clock/advance", json={"seconds": 3600, "ticks": 1})).raise_for_status()
    expected = len(await stored(control, "repost_logs", user_id=1))
    assert expected > 100
    await control.post("/requests/reset")
    entries = [e async for e in client.repost.logs()]
    assert len({e.id for e in entries}) == expected
    assert await request_count(control, "GET", "/repost/logs") == 2
    assert all(isinstance(e, RepostLogEntry) and e.status for e in entries)
    assert any(e.original_media_code and e.is_removable is not None for e in entries)


async def test_logs_of_one_account_and_by_status(client: SharingtoolsClient) -> None:
    one = [e async for e in client.repost.logs(2)]
    assert one and {e.account_id for e in one} == {2}
    ok = [e async for e in client.repost.logs(status="success")]
    assert ok and {e.status for e in ok} == {"success"}
    page = await client.repost.logs_page(2, 1, 1)
    assert page.total == len(one) and len(page.items) == 1
    with pytest.raises(NotFound):
        await client.repost.logs_page(26)


async def test_bulk_activate_and_pause(client: SharingtoolsClient) -> None:
    out = await client.repost.bulk_activate([7, 8, 24])
    assert isinstance(out, BulkResult) and (out.account_ids, out.skipped) == ([7, 8], [24])
    paused = await client.repost.bulk_pause()
    assert sorted(paused.account_ids) == WITH_SCHEDULE
    assert [s async for s in client.repost.list_schedules(is_active=True)] == []
    assert not hasattr(client.repost, "bulk_stop")  # the reference has no Repost Pro stop


async def test_another_user_and_a_plan_without_the_module(
    bob_client: SharingtoolsClient, emu: LocalEmulator, control: httpx.AsyncClient
) -> None:
    with pytest.raises(NotFound):
        await bob_client.repost.get_settings(1)
    assert (await bob_client.repost.bulk_pause([1, 26])).account_ids == [26]  # alice's 1 is skipped
    made = (await control.post("/users", json={"username": "dave", "modules": ["reactions"]})).json()
    async with make_client(emu, made["key"]) as dave:
        with pytest.raises(ModuleNotEnabled):
            [s async for s in dave.repost.list_schedules()]
