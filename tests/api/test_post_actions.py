"""PostActionsResource against the in-process emulator (the module's ``{"success": true}`` envelope)."""

from __future__ import annotations

import httpx
import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import BadRequest, Conflict, NotFound, ValidationFailed
from orchestrator.api.resources.post_actions import AccountResult, ActionInfo, Job, JobLog, UsageRecord
from tests.api.conftest import clear_faults, lose_responses, request_count, stored

POST = "https://www.instagram.com/p/ABC123XYZ/"
PENDING_JOB, PROCESSING_JOB = 8, 7  # the demo world's two unfinished jobs of alice
BOB_JOB = 9


async def test_actions_list_the_three_types(client: SharingtoolsClient) -> None:
    actions = await client.post_actions.actions()
    assert [a.action for a in actions] == ["like", "comment", "follow"]
    assert all(isinstance(a, ActionInfo) and a.description for a in actions)
    assert "comment_text" in actions[1].required_fields


async def test_create_like_comment_and_follow_jobs(client: SharingtoolsClient) -> None:
    like = await client.post_actions.create_job("like", 10, post_url=POST)
    assert isinstance(like, Job) and (like.action, like.count, like.status) == ("like", 10, "pending")
    assert like.post_url == POST and like.scheduled_at and like.created_at
    comment = await client.post_actions.create_job("comment", 3, post_url=POST, comment_text="{Great|Nice} shot!")
    assert comment.comment_text == "{Great|Nice} shot!"
    follow = await client.post_actions.create_job("follow", 5, target_username="cristiano")
    assert (follow.action, follow.target_username) == ("follow", "cristiano")


async def test_create_errors_carry_fields(client: SharingtoolsClient) -> None:
    with pytest.raises(BadRequest) as missing:
        await client.post_actions.create_job("comment", 3, post_url=POST)
    assert "comment_text" in missing.value.errors
    with pytest.raises(ValidationFailed) as bad_url:
        await client.post_actions.create_job("like", 3, post_url="https://example.com/not-instagram")
    assert "post_url" in bad_url.value.errors
    with pytest.raises(ValidationFailed) as bad_count:
        await client.post_actions.create_job("like", 0, post_url=POST)
    assert bad_count.value.errors


async def test_list_jobs_filter_page_and_get(client: SharingtoolsClient, control: httpx.AsyncClient) -> None:
    jobs = [j async for j in client.post_actions.list_jobs()]
    assert len(jobs) == len(await stored(control, "post_actions_jobs", user_id=1))
    assert all(isinstance(j, Job) for j in jobs)
    pending = [j async for j in client.post_actions.list_jobs(status="pending")]
    assert [j.id for j in pending] == [PENDING_JOB]
    page = await client.post_actions.list_jobs_page(1, 3)
    assert (page.total, len(page.items)) == (len(jobs), 3)
    job = await client.post_actions.get_job(PROCESSING_JOB)
    assert job.status == "processing" and job.started_at
    with pytest.raises(NotFound):
        await client.post_actions.get_job(BOB_JOB)


async def test_list_jobs_reads_every_page_at_100(
    client: SharingtoolsClient, alice: httpx.AsyncClient, control: httpx.AsyncClient
) -> None:
    for i in range(150):
        body = {"action": "like", "count": 1, "post_url": f"https://www.instagram.com/p/Bulk{i}/"}
        (await alice.post("post-actions/jobs", json=body)).raise_for_status()
    expected = len(await stored(control, "post_actions_jobs", user_id=1))
    await control.post("/requests/reset")
    jobs = [j async for j in client.post_actions.list_jobs()]
    assert len(jobs) == expected and len({j.id for j in jobs}) == expected
    assert await request_count(control, "GET", "/post-actions/jobs") == 2


async def test_cancel_pending_but_not_processing_or_another_users(client: SharingtoolsClient) -> None:
    cancelled = await client.post_actions.cancel_job(PENDING_JOB)
    assert isinstance(cancelled, Job) and cancelled.status == "cancelled"
    with pytest.raises(Conflict):
        await client.post_actions.cancel_job(PROCESSING_JOB)
    with pytest.raises(NotFound):
        await client.post_actions.cancel_job(BOB_JOB)


async def test_cancel_whose_answer_is_lost_reads_the_job_back(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    # The first DELETE cancels; a plain resend would meet 409 "only pending jobs".
    await lose_responses(control, seed=1, rate=1.0, methods=("DELETE",))
    cancelled = await client.post_actions.cancel_job(PENDING_JOB)
    await clear_faults(control)
    assert cancelled.status == "cancelled" and client.transport.stats.readbacks == 1


async def test_logs_filters_page_and_job_logs(client: SharingtoolsClient) -> None:
    logs = [log async for log in client.post_actions.logs()]
    assert logs and all(isinstance(log, JobLog) for log in logs)
    likes = [log async for log in client.post_actions.logs(action="like")]
    assert likes and all(log.action == "like" for log in likes)
    url = likes[0].post_url
    by_url = [log async for log in client.post_actions.logs(post_url=url)]
    assert by_url and all(log.post_url == url for log in by_url)
    page = await client.post_actions.logs_page(1, 2)
    assert (page.total, len(page.items)) == (len(logs), 2)
    [entry] = await client.post_actions.job_logs(1)
    assert entry.schedule_id == 1 and entry.requested_count == entry.performed_count == 5
    assert entry.details and all(isinstance(r, AccountResult) for r in entry.details.results)
    assert len(entry.details.results) == 5
    with pytest.raises(NotFound):
        await client.post_actions.job_logs(BOB_JOB)


async def test_usage_filters_and_page(client: SharingtoolsClient) -> None:
    usage = [u async for u in client.post_actions.usage()]
    assert usage and all(isinstance(u, UsageRecord) and u.used_count == len(u.account_ids) for u in usage)
    likes = [u async for u in client.post_actions.usage(action="like")]
    assert likes and all(u.action == "like" for u in likes)
    by_url = [u async for u in client.post_actions.usage(post_url=usage[0].post_url)]
    assert usage[0].id in {u.id for u in by_url}
    page = await client.post_actions.usage_page(1, 1)
    assert (page.total, len(page.items)) == (len(usage), 1)


async def test_readback_finds_a_job_made_elsewhere(client: SharingtoolsClient, alice: httpx.AsyncClient) -> None:
    raw = await alice.post("post-actions/jobs", json={"action": "comment", "count": 4, "post_url": POST,
                                                      "comment_text": "Love it"})
    made = raw.json()["data"]["id"]
    found = await client.post_actions.find_pending_job("comment", 4, post_url=POST, comment_text="Love it")
    assert found is not None and found["id"] == made
    assert await client.post_actions.find_pending_job("comment", 5, post_url=POST, comment_text="Love it") is None
    assert await client.post_actions.find_pending_job("comment", 4, post_url=POST, comment_text="Other") is None
    assert await client.post_actions.find_pending_job("like", 4, post_url=POST) is None
    raw = await alice.post("post-actions/jobs", json={"action": "follow", "count": 2, "target_username": "@Nike"})
    found = await client.post_actions.find_pending_job("follow", 2, target_username="@Nike")
    assert found is not None and found["id"] == raw.json()["data"]["id"]


async def test_create_whose_answer_is_always_lost_is_found_not_repeated(
    client: SharingtoolsClient, control: httpx.AsyncClient
) -> None:
    await lose_responses(control, seed=1, rate=1.0)
    job = await client.post_actions.create_job("like", 7, post_url="https://www.instagram.com/p/OnceOnly/")
    await clear_faults(control)
    copies = [d for d in await stored(control, "post_actions_jobs") if d["post_url"].endswith("/OnceOnly/")]
    assert [d["id"] for d in copies] == [job.id]
    assert client.transport.stats.readbacks == 1


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
async def test_create_under_lost_answers_makes_exactly_one(
    client: SharingtoolsClient, control: httpx.AsyncClient, seed: int
) -> None:
    await lose_responses(control, seed=seed, rate=0.5, drop=0.2)
    job = await client.post_actions.create_job("follow", seed, target_username=f"brand_{seed}")
    await clear_faults(control)
    copies = [d for d in await stored(control, "post_actions_jobs") if d["target_username"] == f"brand_{seed}"]
    assert [d["id"] for d in copies] == [job.id]
