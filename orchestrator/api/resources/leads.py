"""Leads Finder (module ``parser``): profile-scraping schedules and their collected leads.

Schedules are made in the web panel; the API starts and stops them, reads run logs and
parse stats, and exports the collected lines. The export is a text file read as pages of
lines, up to 5,000 a page (the later revision's limit), so a large file takes few calls.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from orchestrator.api import pagination
from orchestrator.api.models import ApiModel, Page, parse
from orchestrator.api.resources.schedules_by_id import SchedulesById

EXPORT_PER_PAGE = 5_000

TARGET_TYPES = (
    "people_followers", "people_likers", "people_following",
    "people_followers_following", "people_followers_followers",
    "people_following_followers", "people_following_following",
    "hashtag", "hashtag_likers", "location", "location_likers",
    "explore", "explore_likers", "user_id_list",
)


class LeadsTarget(ApiModel):
    type: str
    value: str | None = None
    id: str | int | None = None


class LeadsSchedule(ApiModel):
    id: int
    account_id: int
    task_name: str | None = None
    status: str | None = None  # running | active | scheduled | inactive
    is_active: bool
    is_running: bool | None = None
    targets: list[LeadsTarget] = []
    target_count: int | None = None
    speed: int | None = None
    estimated_speed: int | None = None
    estimated_speed_parsed: int | None = None
    analyzed_percentage: float | None = None
    parser_data_type: str | None = None
    # The nested groups are kept as dicts: each is a bag of flags and limits the client
    # passes through, and a server that adds a flag must not need a client release.
    data_fields: dict[str, Any] | None = None
    filters: dict[str, Any] | None = None
    language_filter: dict[str, Any] | None = None
    telegram: dict[str, Any] | None = None
    accelerators: dict[str, Any] | None = None
    custom_delays: dict[str, Any] | None = None
    schedule_date: str | None = None
    end_date: str | None = None
    last_action_date: str | None = None


class ExportPage(ApiModel):
    """One page of an export: lines of the leads file."""

    items: list[str]
    total: int
    page: int
    per_page: int
    file_path: str | None = None


class LeadsLog(ApiModel):
    """One parser run. The reference is silent beyond ``?account_id=&status=``; the other
    fields are the emulator's reading of the engine's log rows, all optional."""

    id: int
    account_id: int | None = None
    schedule_id: int | None = None
    task_name: str | None = None
    status: str | None = None
    type: str | None = None  # the Instagram request type, e.g. get_followers
    target: dict[str, Any] | None = None
    parsed: int | None = None
    collected: int | None = None
    message: str | None = None
    details: Any = None
    date: str | None = None


class LeadsStat(ApiModel):
    """Requests made and profiles found, per schedule, request type and day."""

    id: int | None = None
    account_id: int | None = None
    schedule_id: int | None = None
    type: str | None = None
    date: str | None = None
    requests: int | None = None
    results: int | None = None


class LeadsResource(SchedulesById):
    """``/leads/...``: schedules (read, start, stop), export, run logs and parse stats.

    ``list_schedules(account_id=N)`` filters by account: a filter the reference does not
    list, which a server without it ignores."""

    prefix = "leads/schedules"
    schedule_model = LeadsSchedule

    async def start(self, schedule_id: int) -> LeadsSchedule:
        """Start the schedule: is_active=1, schedule_date=now."""
        return await self._switch(schedule_id, "start")

    async def stop(self, schedule_id: int) -> LeadsSchedule:
        """Stop the schedule: is_active=0, is_running=0."""
        return await self._switch(schedule_id, "stop")

    # -- export -------------------------------------------------------------------
    def export(self, schedule_id: int) -> AsyncIterator[str]:
        """Every collected line of the schedule's leads file, reading 5,000 lines a page.

        Raises ``NotFound`` (on the first read) when the parser has produced no file yet."""
        path = f"leads/schedules/{schedule_id}/export"
        return pagination.items(self._t, path, per_page=EXPORT_PER_PAGE)

    async def export_page(
        self, schedule_id: int, page: int = 1, per_page: int = EXPORT_PER_PAGE
    ) -> ExportPage:
        """One page of the export, with the file's name."""
        path = f"leads/schedules/{schedule_id}/export"
        return parse(ExportPage, await self._get(path, {"page": page, "per_page": per_page}))

    # -- logs and stats -----------------------------------------------------------
    def logs(
        self, *, account_id: int | None = None, status: str | None = None
    ) -> AsyncIterator[LeadsLog]:
        """Every run log entry, optionally for one account and/or one status."""
        return self._all("leads/logs", {"account_id": account_id, "status": status}, LeadsLog)

    async def logs_page(
        self,
        page: int = 1,
        per_page: int = 20,
        *,
        account_id: int | None = None,
        status: str | None = None,
    ) -> Page[LeadsLog]:
        """One page of run logs."""
        params = {"account_id": account_id, "status": status}
        return await self._page("leads/logs", params, page, per_page, LeadsLog)

    async def get_log(self, log_id: int) -> LeadsLog:
        """One log entry by id."""
        return await self._get(f"leads/logs/{log_id}", model=LeadsLog)

    def stats(
        self, *, account_id: int | None = None, type: str | None = None
    ) -> AsyncIterator[LeadsStat]:
        """Every parse-stats record, optionally for one account and/or one request type
        (``get_followers``, ``get_likers``, ...)."""
        return self._all("leads/stats", {"account_id": account_id, "type": type}, LeadsStat)

    async def stats_page(
        self,
        page: int = 1,
        per_page: int = 20,
        *,
        account_id: int | None = None,
        type: str | None = None,
    ) -> Page[LeadsStat]:
        """One page of parse stats."""
        params = {"account_id": account_id, "type": type}
        return await self._page("leads/stats", params, page, per_page, LeadsStat)
