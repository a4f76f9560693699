"""AI-DM (module ``ai-dm``): AI-written replies to direct messages.

Schedules are made in the web panel; the API reads them, switches them on and off, and
reads run logs and the conversations the AI took part in. The OpenAI key is never
returned, only whether one is configured.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import Field

from orchestrator.api.models import ApiModel, Page
from orchestrator.api.resources.schedules_by_id import SchedulesById


class DailyPause(ApiModel):
    """A daily window (``from``-``to``) in which the schedule sends nothing."""

    enabled: bool = False
    from_: str | None = Field(None, alias="from")  # ``from`` is a Python keyword
    to: str | None = None


class CallToAction(ApiModel):
    platform: str | None = None
    username: str | None = None
    spintax: str | None = None


class AiDmSettings(ApiModel):
    system_prompt: str | None = None
    api_key_configured: bool | None = None  # the key itself is never returned
    model: str | None = None
    folder: str | None = None
    max_per_conversation: int | None = None
    max_per_day_requests: int | None = None
    max_per_run_requests: int | None = None
    max_per_day_messages: int | None = None
    max_per_run_messages: int | None = None
    max_time: int | None = None


class AiDmSchedule(ApiModel):
    id: int
    account_id: int
    account_name: str | None = None
    status: str | None = None  # running | active | inactive
    is_active: bool
    daily_pause: DailyPause | None = None
    cta: CallToAction | None = None
    settings: AiDmSettings | None = None
    schedule_date: str | None = None
    last_action_date: str | None = None


class AiDmLog(ApiModel):
    id: int
    account_id: int | None = None
    schedule_id: int | None = None
    thread_id: int | None = None
    type: str | None = None
    status: str | None = None
    message: str | None = None
    details: Any = None
    date: str | None = None


class AiDmThread(ApiModel):
    id: int
    account_id: int
    thread_v2_id: str | None = None
    them_user_pk: str | None = None
    them_username: str | None = None
    them_fullname: str | None = None
    item_count: int | None = None
    last_activity_at: str | None = None
    last_seen_by_us: str | None = None
    last_seen_by_them: str | None = None
    last_permanent_item_at: str | None = None
    last_non_sender_item_at: str | None = None
    last_checked: str | None = None


class AiDmMessage(ApiModel):
    id: int
    thread_id: int
    item_id: str | None = None
    timestamp: str | None = None  # microseconds, as Instagram stores them
    item_type: str | None = None
    is_sent_by_us: bool | None = None
    content: Any = None  # the decoded item_content (text, media, ...)


class AiDmResource(SchedulesById):
    """``/ai-dm/...``: schedules (read, activate, pause), run logs, threads and messages."""

    prefix = "ai-dm/schedules"
    schedule_model = AiDmSchedule

    async def activate(self, schedule_id: int) -> AiDmSchedule:
        """Switch the schedule on (is_active=1)."""
        return await self._switch(schedule_id, "activate")

    async def pause(self, schedule_id: int) -> AiDmSchedule:
        """Switch the schedule off (is_active=0)."""
        return await self._switch(schedule_id, "pause")

    # -- logs -----------------------------------------------------------------------
    def logs(
        self, *, account_id: int | None = None, type: str | None = None, status: str | None = None
    ) -> AsyncIterator[AiDmLog]:
        """Every run log entry, optionally filtered by account, type and status."""
        params = {"account_id": account_id, "type": type, "status": status}
        return self._all("ai-dm/logs", params, AiDmLog)

    async def logs_page(
        self,
        page: int = 1,
        per_page: int = 20,
        *,
        account_id: int | None = None,
        type: str | None = None,
        status: str | None = None,
    ) -> Page[AiDmLog]:
        """One page of run logs."""
        params = {"account_id": account_id, "type": type, "status": status}
        return await self._page("ai-dm/logs", params, page, per_page, AiDmLog)

    async def get_log(self, log_id: int) -> AiDmLog:
        """One log entry by id."""
        return await self._get(f"ai-dm/logs/{log_id}", model=AiDmLog)

    # -- threads and messages ---------------------------------------------------
    def list_threads(self, *, account_id: int | None = None) -> AsyncIterator[AiDmThread]:
        """Every conversation thread, optionally of one account."""
        return self._all("ai-dm/threads", {"account_id": account_id}, AiDmThread)

    async def list_threads_page(
        self, page: int = 1, per_page: int = 20, *, account_id: int | None = None
    ) -> Page[AiDmThread]:
        """One page of threads."""
        params = {"account_id": account_id}
        return await self._page("ai-dm/threads", params, page, per_page, AiDmThread)

    async def get_thread(self, thread_id: int) -> AiDmThread:
        """One thread by its internal id."""
        return await self._get(f"ai-dm/threads/{thread_id}", model=AiDmThread)

    def messages(self, thread_id: int) -> AsyncIterator[AiDmMessage]:
        """Every message of a thread, oldest first (the server's chronological order)."""
        return self._all(f"ai-dm/threads/{thread_id}/messages", model=AiDmMessage)

    async def messages_page(
        self, thread_id: int, page: int = 1, per_page: int = 20
    ) -> Page[AiDmMessage]:
        """One page of a thread's messages."""
        path = f"ai-dm/threads/{thread_id}/messages"
        return await self._page(path, None, page, per_page, AiDmMessage)
