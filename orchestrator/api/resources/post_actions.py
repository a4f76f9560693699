"""Post Actions (module ``post-actions-api``): queue like, comment and follow jobs.

Jobs run asynchronously on the server's cron (about a minute after creation). This module
answers with the ``{"success": true, ...}`` envelope in the reference itself; the transport
unwraps it like the others.

The server does not deduplicate job creates, so ``create_job`` is retried with a readback:
after an answer that leaves it unknown whether the job was queued, the pending jobs are
searched for one with the same request before anything is resent. ``cancel_job`` reads back
too, because the server refuses to cancel a job twice.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from orchestrator.api.models import ApiModel, Page, parse
from orchestrator.api.resources.base import Resource
from orchestrator.api.retry import Policy

ACTIONS = ("like", "comment", "follow")
JOB_STATUSES = ("pending", "processing", "success", "partial", "failed", "cancelled")


class ActionInfo(ApiModel):
    """An allowed action type and the request fields it needs."""

    action: str
    description: str | None = None
    required_fields: list[str] = []
    optional_fields: list[str] = []


class Job(ApiModel):
    id: int
    post_url: str | None = None
    target_username: str | None = None
    action: str
    count: int
    comment_text: str | None = None
    status: str  # see JOB_STATUSES
    performed_count: int | None = None
    scheduled_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    created_at: str | None = None


class AccountResult(ApiModel):
    """What one account did for a job."""

    account_id: int
    username: str | None = None
    status: str | None = None
    reason: str | None = None
    comment_text: str | None = None  # the spun text a comment job posted


class JobLogDetails(ApiModel):
    results: list[AccountResult] = []


class JobLog(ApiModel):
    """One execution of a job."""

    id: int
    schedule_id: int | None = None  # the job's id
    post_url: str | None = None
    action: str | None = None
    requested_count: int | None = None
    performed_count: int | None = None
    status: str | None = None
    message: str | None = None
    details: JobLogDetails | None = None
    started_at: str | None = None
    finished_at: str | None = None


class UsageRecord(ApiModel):
    """Which accounts already acted on a post or profile (each acts on one at most once)."""

    id: int | None = None
    post_url: str | None = None
    action: str | None = None
    used_count: int | None = None
    account_ids: list[int] = []
    first_used_at: str | None = None
    last_used_at: str | None = None


class PostActionsResource(Resource):
    """``/post-actions/...``: allowed actions, jobs (create, read, cancel), logs and usage."""

    async def actions(self) -> list[ActionInfo]:
        """The allowed action types (``like``, ``comment``, ``follow``) and their fields."""
        data = await self._get("post-actions/actions")
        if isinstance(data, dict):  # tolerate a wrapped list
            data = data.get("actions", data.get("items", []))
        return [parse(ActionInfo, {"action": a} if isinstance(a, str) else a) for a in data]

    # -- jobs -------------------------------------------------------------------------
    async def create_job(
        self,
        action: str,
        count: int,
        *,
        post_url: str | None = None,
        target_username: str | None = None,
        comment_text: str | None = None,
    ) -> Job:
        """Queue ``count`` accounts to ``action`` a post (``post_url``) or, for ``follow``,
        a profile (``post_url`` or ``target_username``). ``comment_text`` is required for
        ``comment`` and may use spintax."""
        target = {
            "post_url": post_url, "target_username": target_username, "comment_text": comment_text
        }
        body: dict[str, Any] = {"action": action, "count": count}
        body.update({k: v for k, v in target.items() if v is not None})

        async def readback() -> dict[str, Any] | None:
            return await self.find_pending_job(action, count, **target)

        result = await self._write(
            "POST", "post-actions/jobs", json=body, policy=Policy.CREATE_READBACK, readback=readback
        )
        return parse(Job, result.data)

    async def find_pending_job(
        self,
        action: str,
        count: int,
        *,
        post_url: str | None = None,
        target_username: str | None = None,
        comment_text: str | None = None,
    ) -> dict[str, Any] | None:
        """The newest pending job made by exactly this request (the raw data), or None.
        It is the readback of ``create_job``."""
        # Pending jobs are few (the cron takes them within about a minute), so all are read
        # and the newest match wins whatever order the server lists in.
        found: dict[str, Any] | None = None
        job: dict[str, Any]
        async for job in self._all("post-actions/jobs", {"status": "pending"}, dict):
            if (
                job.get("status", "pending") == "pending"
                and _same_request(job, action, count, post_url, target_username, comment_text)
                and (found is None or job.get("id", 0) > found.get("id", 0))
            ):
                found = job
        return found

    def list_jobs(self, *, status: str | None = None) -> AsyncIterator[Job]:
        """Every job of the key's user, optionally of one status."""
        return self._all("post-actions/jobs", {"status": status}, Job)

    async def list_jobs_page(
        self, page: int = 1, per_page: int = 20, *, status: str | None = None
    ) -> Page[Job]:
        """One page of jobs."""
        return await self._page("post-actions/jobs", {"status": status}, page, per_page, Job)

    async def get_job(self, job_id: int) -> Job:
        """One job by id (404 for another user's)."""
        return await self._get(f"post-actions/jobs/{job_id}", model=Job)

    async def cancel_job(self, job_id: int) -> Job:
        """Cancel a pending job. A job already processing or finished cannot be cancelled
        (``Conflict``).

        The server refuses a second cancel (409), so a retry after a lost answer would fail
        although the first attempt worked: the job is read back first, and a job already
        cancelled is the answer."""

        async def readback() -> dict[str, Any] | None:
            job = await self._expect(f"post-actions/jobs/{job_id}", None, dict, "a job (an object)")
            return job if job.get("status") == "cancelled" else None

        path = f"post-actions/jobs/{job_id}"
        result = await self._write("DELETE", path, policy=Policy.CREATE_READBACK, readback=readback)
        return parse(Job, result.data)

    # -- logs and usage -------------------------------------------------------------
    def logs(
        self, *, post_url: str | None = None, action: str | None = None
    ) -> AsyncIterator[JobLog]:
        """Every execution log entry, optionally for one URL and/or one action."""
        return self._all("post-actions/logs", {"post_url": post_url, "action": action}, JobLog)

    async def logs_page(
        self,
        page: int = 1,
        per_page: int = 20,
        *,
        post_url: str | None = None,
        action: str | None = None,
    ) -> Page[JobLog]:
        """One page of execution logs."""
        params = {"post_url": post_url, "action": action}
        return await self._page("post-actions/logs", params, page, per_page, JobLog)

    async def job_logs(self, job_id: int) -> list[JobLog]:
        """The execution logs of one job, with each account's result."""
        return [parse(JobLog, i) for i in _items(await self._get(f"post-actions/logs/{job_id}"))]

    def usage(
        self, *, post_url: str | None = None, action: str | None = None
    ) -> AsyncIterator[UsageRecord]:
        """Every usage record, optionally for one post/profile URL and/or one action."""
        params = {"post_url": post_url, "action": action}
        return self._all("post-actions/usage", params, UsageRecord)

    async def usage_page(
        self,
        page: int = 1,
        per_page: int = 20,
        *,
        post_url: str | None = None,
        action: str | None = None,
    ) -> Page[UsageRecord]:
        """One page of usage records."""
        params = {"post_url": post_url, "action": action}
        return await self._page("post-actions/usage", params, page, per_page, UsageRecord)


def _items(data: Any) -> list[dict[str, Any]]:
    """The records of a list answer: a bare list (as the reference's job logs) or a page."""
    if isinstance(data, list):
        return data
    return list((data or {}).get("items", []))


def _same_request(
    job: dict[str, Any],
    action: str,
    count: int,
    post_url: str | None,
    target_username: str | None,
    comment_text: str | None,
) -> bool:
    """Whether a stored job is what this request would have made."""
    if job.get("action") != action or job.get("count") != count:
        return False
    # The server keeps comment_text only for comments.
    if action == "comment" and job.get("comment_text") != comment_text:
        return False
    if action == "follow" and target_username:
        # target_username overrides post_url, and Instagram usernames ignore case and "@".
        wanted = target_username.strip().lstrip("@").lower()
        return str(job.get("target_username") or "").lower() == wanted
    return (job.get("post_url") or "").strip() == (post_url or "").strip()
