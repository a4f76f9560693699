"""FirstCommentResource against the in-process emulator."""

from __future__ import annotations

import httpx
import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import NotFound, ValidationFailed
from orchestrator.api.resources.first_comment import FirstCommentLog, FirstCommentSchedule, FirstCommentTarget
from orchestrator.emulator.testing import LocalEmulator
from tests.api.conftest import clear_faults, lose_responses, request_count, stored

TARGETS = [{"username": "nike", "user_pk": "19038780"}, {"username": "adidas", "user_pk": "17841400"}]
COMMENTS = ["Amazing! 🔥", "{Love|Great|Stunning} this post! 👏"]


async def _bobs(control: httpx.AsyncClient, table: str) -> int:
    return (await stored(control, table, user_id=2))[0]["id"]


async def test_list_schedules_parses_every_documented_field(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    schedules = [s async for s in client.first_comment.list_schedules()]
    assert len(schedules) == len(await stored(control, "first_comment_schedules", user_id=1))
    first = schedules[0]
    assert isinstance(first, FirstCommentSchedule) and first.comment_mode in ("random", "sequential")
    assert first.targets and isinstance(first.targets[0], FirstCommentTarget) and first.targets[0].user_pk
    assert first.comments and isinstance(first.running, bool) and first.schedule_date
    of_one = [s async for s in client.first_comment.list_schedules(account_id=first.account_id)]
    assert of_one and all(s.account_id == first.account_id for s in of_one)
    page = await client.first_comment.list_schedules_page(1, 4)
    assert (page.total, len(page.items)) == (len(schedules), 4)


async def test_list_reads_every_page_at_100(
    client: SharingtoolsClient, emu: LocalEmulator, control: httpx.AsyncClient
) -> None:
    template = (await stored(control, "first_comment_schedules", user_id=1))[0]
    copies = [{k: v for k, v in template.items() if k != "id"} for _ in range(120)]
    emu.state.store.table("first_comment_schedules").insert_many(copies)
    expected = len(await stored(control, "first_comment_schedules", user_id=1))
    await control.post("/requests/reset")
    schedules = [s async for s in client.first_comment.list_schedules()]
    assert len(schedules) == expected and len({s.id for s in schedules}) == expected
    assert await request_count(control, "GET", "/first-comment/schedules") == 2


async def test_create_get_update_delete(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    made = await client.first_comment.create_schedule(1, TARGETS, COMMENTS, comment_mode="sequential", is_active=False)
    assert isinstance(made, FirstCommentSchedule) and made.account_id == 1 and not made.is_active
    assert [t.username for t in made.targets] == ["nike", "adidas"] and made.comments == COMMENTS
    assert made.comment_mode == "sequential"
    assert (await client.first_comment.get_schedule(made.id)).targets == made.targets
    changed = await client.first_comment.update_schedule(made.id, comments=["Only this"], comment_mode="random")
    assert (changed.comments, changed.comment_mode) == (["Only this"], "random")
    retargeted = await client.first_comment.update_schedule(made.id, targets=["@Puma"])
    assert [t.username for t in retargeted.targets] == ["puma"] and retargeted.targets[0].user_pk
    assert await client.first_comment.delete_schedule(made.id) is None
    with pytest.raises(NotFound):
        await client.first_comment.get_schedule(made.id)
    assert not [d for d in await stored(control, "first_comment_schedules") if d["id"] == made.id]


async def test_create_defaults_and_bare_usernames(client: SharingtoolsClient) -> None:
    made = await client.first_comment.create_schedule(2, ["zara", FirstCommentTarget(username="mango")], ["Nice!"])
    assert made.comment_mode == "random" and made.is_active
    assert [t.username for t in made.targets] == ["zara", "mango"]


async def test_validation_errors_carry_fields(client: SharingtoolsClient) -> None:
    with pytest.raises(ValidationFailed) as info:
        await client.first_comment.create_schedule(1, [], ["x"])
    assert "targets" in info.value.errors
    with pytest.raises(ValidationFailed) as info:
        await client.first_comment.create_schedule(1, TARGETS, ["{unbalanced"])
    assert "comments.0" in info.value.errors
    with pytest.raises(ValidationFailed) as info:
        await client.first_comment.update_schedule(1, running=True)
    assert info.value.errors


async def test_another_users_schedule_and_account_are_not_found(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    bobs = await _bobs(control, "first_comment_schedules")
    for call in (
        client.first_comment.get_schedule(bobs),
        client.first_comment.update_schedule(bobs, comments=["mine"]),
        client.first_comment.delete_schedule(bobs),
        client.first_comment.activate(bobs),
        client.first_comment.pause(bobs),
        client.first_comment.create_schedule(26, TARGETS, COMMENTS),  # bob's account
    ):
        with pytest.raises(NotFound):
            await call


async def test_pause_and_activate(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    paused = await client.first_comment.pause(1)
    assert isinstance(paused, FirstCommentSchedule) and not paused.is_active
    assert (await client.first_comment.activate(1)).is_active
    assert next(d for d in await stored(control, "first_comment_schedules") if d["id"] == 1)["is_active"] is True


async def test_logs_status_filter_and_page(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    logs = [log async for log in client.first_comment.logs()]
    assert len(logs) == len(await stored(control, "first_comment_logs", user_id=1))
    assert all(isinstance(log, FirstCommentLog) and log.status and log.date for log in logs)
    assert any(log.post_code and log.comment_text and log.target_username for log in logs)
    errors = [log async for log in client.first_comment.logs(status="error")]
    assert errors and all(log.status == "error" and log.message for log in errors)
    page = await client.first_comment.logs_page(1, 10)
    assert (page.total, len(page.items)) == (len(logs), 10)


async def test_account_logs(client: SharingtoolsClient) -> None:
    account = (await client.first_comment.logs_page(1, 1)).items[0].account_id
    assert account is not None
    logs = [log async for log in client.first_comment.account_logs(account)]
    assert logs and all(log.account_id == account for log in logs)
    page = await client.first_comment.account_logs_page(account, 1, 1, status=logs[0].status)
    assert len(page.items) == 1 and page.items[0].status == logs[0].status
    with pytest.raises(NotFound):
        [log async for log in client.first_comment.account_logs(26)]  # bob's account


async def test_readback_finds_a_schedule_made_elsewhere(client: SharingtoolsClient, alice: httpx.AsyncClient) -> None:
    body = {"account_id": 3, "targets": [{"username": "@Gucci"}], "comments": ["  So chic ✨ "]}
    made = (await alice.post("first-comment/schedules", json=body)).json()["data"]["id"]
    # The server normalises (lower-case, no "@", stripped) and looks the pk up: still a match.
    found = await client.first_comment.find_schedule(3, ["@Gucci"], ["  So chic ✨ "])
    assert found is not None and found["id"] == made
    assert await client.first_comment.find_schedule(3, ["gucci"], ["Other"]) is None
    assert await client.first_comment.find_schedule(3, ["prada"], ["So chic ✨"]) is None
    assert await client.first_comment.find_schedule(4, ["gucci"], ["So chic ✨"]) is None
    wrong_pk = [{"username": "gucci", "user_pk": "1"}]
    assert await client.first_comment.find_schedule(3, wrong_pk, ["So chic ✨"]) is None


async def test_create_whose_answer_is_always_lost_is_found_not_repeated(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    await lose_responses(control, seed=1, rate=1.0)
    made = await client.first_comment.create_schedule(5, TARGETS, ["Exactly once"])
    await clear_faults(control)
    copies = [d for d in await stored(control, "first_comment_schedules") if d["comments"] == ["Exactly once"]]
    assert [d["id"] for d in copies] == [made.id]
    assert client.transport.stats.readbacks == 1


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
async def test_create_under_lost_answers_makes_exactly_one(
    client: SharingtoolsClient, control: httpx.AsyncClient, seed: int
) -> None:
    await lose_responses(control, seed=seed, rate=0.5, drop=0.2)
    made = await client.first_comment.create_schedule(6, TARGETS, [f"Seed {seed}"])
    await clear_faults(control)
    copies = [d for d in await stored(control, "first_comment_schedules") if d["comments"] == [f"Seed {seed}"]]
    assert [d["id"] for d in copies] == [made.id]


async def test_delete_whose_answer_is_lost_is_done(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    # The first DELETE removes the schedule; a plain resend would meet 404.
    await lose_responses(control, seed=1, rate=1.0, methods=("DELETE",))
    await client.first_comment.delete_schedule(2)
    await clear_faults(control)
    assert not [d for d in await stored(control, "first_comment_schedules") if d["id"] == 2]
    assert client.transport.stats.readbacks == 1
