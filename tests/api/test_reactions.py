"""ReactionsResource (and the shared AutomationResource) against the in-process emulator."""

from __future__ import annotations

import httpx
import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import Conflict, ModuleNotEnabled, ModuleNotInstalled, NotFound, ValidationFailed
from orchestrator.api.resources.automation import BulkResult, Target, TargetsRemoved, TargetType
from orchestrator.api.resources.reactions import ReactionsLogEntry, ReactionsSchedule, ReactionsStats
from orchestrator.emulator.testing import LocalEmulator
from tests.api.conftest import clear_faults, lose_responses, make_client, request_count, stored

# Demo world: every alice account (1-25) and bob account (26-29) has a schedule.
ALICE_ACTIVE = {1, 2, 3, 5, 6, 8, 9, 10, 11, 12, 16, 17, 18, 22}
STUCK_RUNNING = 8


async def test_list_schedules_reads_every_schedule_as_models(client: SharingtoolsClient) -> None:
    schedules = [s async for s in client.reactions.list_schedules()]
    assert [s.account_id for s in schedules] == list(range(1, 26))
    first = schedules[0]
    assert isinstance(first, ReactionsSchedule) and first.username == "fashion_nova"
    assert isinstance(first.speed, int) and first.daily_pause is not None and first.daily_pause.from_
    assert first.target_count == len(first.targets) and all(isinstance(t, Target) for t in first.targets)
    assert {s.account_id for s in schedules if s.is_active} == ALICE_ACTIVE


async def test_list_schedules_filters_and_pages(client: SharingtoolsClient) -> None:
    active = [s.account_id async for s in client.reactions.list_schedules(is_active=True)]
    paused = [s.account_id async for s in client.reactions.list_schedules(is_active=False)]
    assert set(active) == ALICE_ACTIVE and set(paused) == set(range(1, 26)) - ALICE_ACTIVE
    page = await client.reactions.list_schedules_page(2, 10)
    assert (page.total, page.page, page.per_page) == (25, 2, 10)
    assert [s.account_id for s in page.items] == list(range(11, 21))


async def test_list_schedules_reads_all_pages_at_100_per_page(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    (await control.post("/seed", json={"spec": "accounts=180"})).raise_for_status()
    await control.post("/requests/reset")
    schedules = [s async for s in client.reactions.list_schedules()]
    assert len({s.account_id for s in schedules}) == 25 + 180
    assert await request_count(control, "GET", "/reactions/schedules") == 3


async def test_get_schedule_own_and_not_another_users(client: SharingtoolsClient) -> None:
    schedule = await client.reactions.get_schedule(STUCK_RUNNING)
    assert (schedule.account_id, schedule.is_running, schedule.status) == (STUCK_RUNNING, True, "running")
    for foreign in (26, 30, 99_999):  # bob's, admin's, nobody's
        with pytest.raises(NotFound):
            await client.reactions.get_schedule(foreign)


async def test_activate_and_pause_are_repeatable(client: SharingtoolsClient) -> None:
    on = await client.reactions.activate(4)
    assert (on.is_active, on.status) == (True, "active")
    assert (await client.reactions.activate(4)).is_active is True
    off = await client.reactions.pause(4)
    assert (off.is_active, off.status) == (False, "inactive")
    assert (await client.reactions.get_schedule(4)).is_active is False
    with pytest.raises(NotFound):
        await client.reactions.pause(26)


async def test_settings_read_and_partial_update(client: SharingtoolsClient) -> None:
    settings = await client.reactions.get_settings(1)
    assert len(settings) >= 90 and isinstance(settings["likes_speed"], int) and "is_follow" in settings
    out = await client.reactions.update_settings(1, likes_speed=4, daily_pause=True, daily_pause_from="22:00")
    assert out["account_id"] == 1
    assert set(out["updated_fields"]) == {"likes_speed", "daily_pause", "daily_pause_from"}
    again = await client.reactions.get_settings(1)
    assert (again["likes_speed"], again["daily_pause"], again["daily_pause_from"]) == (4, True, "22:00")
    assert {k: v for k, v in again.items() if k not in out["updated_fields"]} == {
        k: v for k, v in settings.items() if k not in out["updated_fields"]
    }
    by_mapping = await client.reactions.update_settings(1, {"follow_limit": 90})
    assert by_mapping["updated_fields"] == ["follow_limit"]


async def test_settings_validation_names_each_bad_field(client: SharingtoolsClient) -> None:
    with pytest.raises(ValidationFailed) as info:
        await client.reactions.update_settings(1, is_active=False, likes_speed="3", no_such_setting=1)
    assert {"is_active", "likes_speed", "no_such_setting"} <= set(info.value.errors)
    assert (await client.reactions.get_settings(1))["likes_speed"] != "3"
    with pytest.raises(NotFound):
        await client.reactions.get_settings(26)


async def test_target_types(client: SharingtoolsClient) -> None:
    types = {t.type: t for t in await client.reactions.target_types()}
    assert all(isinstance(t, TargetType) for t in types.values())
    reference = {"hashtag", "location", "people", "explore", "feed", "likers", "user_followers", "user_following"}
    assert reference <= set(types)
    assert types["location"].requires_id is True and types["hashtag"].requires_id is False
    assert types["explore"].requires_value is False


async def test_targets_add_list_and_remove(client: SharingtoolsClient) -> None:
    before = await client.reactions.list_targets(1)
    tag = await client.reactions.add_target(1, "hashtag", "#summerstyle")
    assert (tag.type, tag.value, tag.id) == ("hashtag", "summerstyle", "summerstyle") and tag.target_id
    place = await client.reactions.add_target(1, "location", "Shoreditch", id=213131048)
    assert (place.id, place.value) == ("213131048", "Shoreditch")
    feed = await client.reactions.add_target(1, "feed")
    assert feed.type == "feed"
    assert len(await client.reactions.list_targets(1)) == len(before) + 3

    removed = await client.reactions.remove_target(1, tag.target_id)
    assert isinstance(removed, TargetsRemoved) and (removed.removed, removed.total) == (1, len(before) + 2)
    with pytest.raises(NotFound):
        await client.reactions.remove_target(1, tag.target_id)


async def test_target_conflicts_and_validation(client: SharingtoolsClient) -> None:
    await client.reactions.add_target(2, "hashtag", "linen")
    with pytest.raises(Conflict):
        await client.reactions.add_target(2, "hashtag", "#linen")
    with pytest.raises(ValidationFailed) as info:
        await client.reactions.add_target(2, "location", "Somewhere")
    assert "id" in info.value.errors
    with pytest.raises(ValidationFailed) as info:
        await client.reactions.add_target(2, "no_such_type", "x")
    assert "type" in info.value.errors
    with pytest.raises(NotFound):
        await client.reactions.add_target(26, "hashtag", "pets")


async def test_remove_targets_by_value_and_by_type(client: SharingtoolsClient) -> None:
    for tag in ("one", "two", "three"):
        await client.reactions.add_target(3, "hashtag", tag)
    out = await client.reactions.remove_targets_by_value(3, "hashtag", "#two")
    assert out.removed == 1
    assert (await client.reactions.remove_targets_by_value(3, "hashtag", "two")).removed == 0  # repeatable
    everything = await client.reactions.remove_targets_by_value(3, "hashtag")
    assert everything.removed >= 2
    assert not [t for t in await client.reactions.list_targets(3) if t.type == "hashtag"]
    assert everything.total == len(await client.reactions.list_targets(3))


async def test_add_target_whose_answer_is_lost_returns_the_stored_target(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    # With seed 1 the first POST is applied but its answer lost; the retry meets 409.
    await lose_responses(control, seed=1, rate=0.5)
    target = await client.reactions.add_target(4, "hashtag", "#retrytag")
    await clear_faults(control)
    assert client.transport.stats.conflicts_as_success == 1
    stored_targets = (await stored(control, "reactions_schedules", account_id=4))[0]["targets"]
    matches = [t for t in stored_targets if t["value"] == "retrytag"]
    assert len(matches) == 1 and target.target_id == matches[0]["target_id"] and target.value == "retrytag"


async def test_logs_read_every_entry_across_pages(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    expected = len(await stored(control, "reactions_logs", user_id=1))
    assert expected > 100  # the demo world's engine history: more than one page
    await control.post("/requests/reset")
    entries = [e async for e in client.reactions.logs()]
    assert len({e.id for e in entries}) == expected
    assert await request_count(control, "GET", "/reactions/logs") == 2
    assert all(isinstance(e, ReactionsLogEntry) and e.action and e.status and e.date for e in entries)
    assert [e.id for e in entries] == sorted((e.id for e in entries), reverse=True)


async def test_logs_of_one_account_and_filters(client: SharingtoolsClient) -> None:
    one = [e async for e in client.reactions.logs(1)]
    assert one and {e.account_id for e in one} == {1}
    likes = [e async for e in client.reactions.logs(status="success", action="like")]
    assert likes and all(e.status == "success" and e.action == "like" for e in likes)
    page = await client.reactions.logs_page(1, 1, 2)
    assert page.total == len(one) and len(page.items) == min(2, len(one))
    with pytest.raises(NotFound):
        [e async for e in client.reactions.logs(26)]


async def test_stats(client: SharingtoolsClient) -> None:
    stats = await client.reactions.stats(1, days=3)
    assert isinstance(stats, ReactionsStats) and stats.account_id == 1 and stats.totals is not None
    assert stats.totals.likes > 0 and len(stats.per_day) == 3 and stats.per_day[0].date
    assert len((await client.reactions.stats(1)).per_day) == 7
    with pytest.raises(NotFound):
        await client.reactions.stats(26)


async def test_bulk_switches(client: SharingtoolsClient) -> None:
    out = await client.reactions.bulk_activate([4, 7, 26, 99_999])
    assert isinstance(out, BulkResult)
    assert (out.affected, out.account_ids, out.skipped) == (2, [4, 7], [26, 99_999])
    assert (await client.reactions.get_schedule(7)).is_active is True
    paused = await client.reactions.bulk_pause()
    assert paused.affected == 25 and sorted(paused.account_ids) == list(range(1, 26))
    assert [s async for s in client.reactions.list_schedules(is_active=True)] == []
    stopped = await client.reactions.bulk_stop([STUCK_RUNNING])
    assert stopped.account_ids == [STUCK_RUNNING]
    assert (await client.reactions.get_schedule(STUCK_RUNNING)).is_running is False


async def test_bulk_with_no_ids_sends_nothing(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    await control.post("/requests/reset")
    assert (await client.reactions.bulk_pause([])).affected == 0
    assert (await control.get("/requests")).json()["total"] == 0
    assert (await client.reactions.get_schedule(1)).is_active is True


async def test_bulk_sends_large_lists_in_chunks(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    await control.post("/requests/reset")
    out = await client.reactions.bulk_pause(range(1, 1501))
    assert out.affected == 25 and len(out.skipped) == 1500 - 25
    assert await request_count(control, "POST", "/reactions/bulk/pause") == 2


async def test_bulk_falls_back_to_the_later_revisions_path(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    # A server without the reference's paths answers 404 there; the later revision's is used
    # and remembered.
    client.reactions._bulk_bases = ["reactions/no-such-bulk", "reactions/schedules/bulk"]
    await control.post("/requests/reset")
    assert (await client.reactions.bulk_activate([4])).account_ids == [4]
    assert (await client.reactions.bulk_pause([4])).account_ids == [4]
    assert await request_count(control, "POST", "/reactions/schedules/bulk/activate") == 1
    assert await request_count(control, "POST", "/reactions/schedules/bulk/pause") == 1
    assert (await control.get("/requests")).json()["total"] == 3  # one 404, then the working path


async def test_another_users_accounts_are_not_found(bob_client: SharingtoolsClient) -> None:
    assert {s.account_id async for s in bob_client.reactions.list_schedules()} == {26, 27, 28, 29}
    with pytest.raises(NotFound):
        await bob_client.reactions.get_schedule(1)
    with pytest.raises(NotFound):
        await bob_client.reactions.update_settings(1, likes_speed=1)


async def test_plan_without_the_module_and_module_not_installed(
    client: SharingtoolsClient, emu: LocalEmulator, control: httpx.AsyncClient
) -> None:
    made = (await control.post("/users", json={"username": "carol", "modules": ["repost-pro"]})).json()
    async with make_client(emu, made["key"]) as carol:
        with pytest.raises(ModuleNotEnabled):
            await carol.reactions.target_types()
    installed = [m for m in (await control.get("/modules")).json()["installed"] if m != "reactions"]
    await control.put("/modules", json={"installed": installed})
    with pytest.raises(ModuleNotInstalled):
        await client.reactions.get_schedule(1)


async def test_stats_at_the_later_revisions_path(client: SharingtoolsClient) -> None:
    by_query = await client.reactions.stats_by_query(1, days=3)
    assert by_query == await client.reactions.stats(1, days=3)
    with pytest.raises(NotFound):
        await client.reactions.stats_by_query(26)
