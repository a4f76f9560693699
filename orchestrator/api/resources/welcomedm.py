"""Welcome DM (module ``welcomedm``): automated welcome messages to new followers.

Schedules are made in the web panel; the API reads them, switches them on and off, and
reads their run logs. Paths address a schedule by its own id, not by account id.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pydantic import Field

from orchestrator.api.models import ApiModel, Page
from orchestrator.api.resources.schedules_by_id import SchedulesById


class DailyPause(ApiModel):
    """A daily window (``from``-``to``, HH:MM) in which the schedule sends nothing."""

    enabled: bool = False
    from_: str | None = Field(None, alias="from")  # ``from`` is a Python keyword
    to: str | None = None


class WelcomeDmSettings(ApiModel):
    skip_opened: bool | None = None
    mute_thread: bool | None = None
    has_attachment: bool | None = None  # the file path itself is never exposed
    debug_mode: bool | None = None


class WelcomeDmSchedule(ApiModel):
    id: int
    account_id: int
    is_active: bool
    status: str | None = None  # active | inactive
    messages: list[dict[str, Any]] = []
    message_count: int | None = None
    speed: int | str | None = None  # "auto" or 1-5
    daily_pause: DailyPause | None = None
    settings: WelcomeDmSettings | None = None
    schedule_date: str | None = None
    end_date: str | None = None
    last_action_date: str | None = None


class WelcomeDmLog(ApiModel):
    id: int
    account_id: int | None = None
    status: str | None = None  # sent | skipped | error
    follower_id: str | None = None
    message: str | None = None
    details: Any = None
    date: str | None = None


class WelcomeDmResource(SchedulesById):
    """``/welcomedm/...``: schedules (read, activate, pause) and run logs."""

    prefix = "welcomedm/schedules"
    schedule_model = WelcomeDmSchedule

    async def activate(self, schedule_id: int) -> WelcomeDmSchedule:
        """Switch the schedule on (is_active=1)."""
        return await self._switch(schedule_id, "activate")

    async def pause(self, schedule_id: int) -> WelcomeDmSchedule:
        """Switch the schedule off (is_active=0)."""
        return await self._switch(schedule_id, "pause")

    def logs(
        self, *, account_id: int | None = None, status: str | None = None
    ) -> AsyncIterator[WelcomeDmLog]:
        """Every run log entry, newest first, optionally for one account and/or one status
        (sent | skipped | error)."""
        params = {"account_id": account_id, "status": status}
        return self._all("welcomedm/logs", params, WelcomeDmLog)

    async def logs_page(
        self,
        page: int = 1,
        per_page: int = 20,
        *,
        account_id: int | None = None,
        status: str | None = None,
    ) -> Page[WelcomeDmLog]:
        """One page of run logs."""
        params = {"account_id": account_id, "status": status}
        return await self._page("welcomedm/logs", params, page, per_page, WelcomeDmLog)

    async def get_log(self, log_id: int) -> WelcomeDmLog:
        """One log entry by id."""
        return await self._get(f"welcomedm/logs/{log_id}", model=WelcomeDmLog)

