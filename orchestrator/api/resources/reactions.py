"""Reactions Pro (plan module ``reactions``): like/follow/unfollow engagement schedules.

Everything but the models, ``stats`` and ``bulk_stop`` is shared with Repost Pro in
``automation.AutomationResource``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from orchestrator.api.models import ApiModel, Page
from orchestrator.api.resources.automation import AutomationResource, BulkResult, LogEntry, Schedule


class ReactionsSchedule(Schedule):
    """A Reactions Pro schedule; ``speed`` is 1 (very slow) to 5 (very fast)."""


class ReactionsLogEntry(LogEntry):
    """One engine action: ``action`` is like, follow, unfollow, comment, story_view, ..."""

    action: str | None = None
    target_type: str | None = None
    target_value: str | None = None
    target_username: str | None = None
    media_code: str | None = None


class ActionCounts(ApiModel):
    likes: int = 0
    follows: int = 0
    unfollows: int = 0
    comments: int = 0
    story_views: int = 0
    story_likes: int = 0
    story_reactions: int = 0
    dms: int = 0


class DayStats(ActionCounts):
    date: str


class ReactionsStats(ApiModel):
    """An account's engagement statistics: all-time totals, today, and per day."""

    account_id: int
    username: str | None = None
    is_active: bool | None = None
    totals: ActionCounts | None = None
    today: ActionCounts | None = None
    per_day: list[DayStats] = []
    last_action_date: str | None = None


class ReactionsResource(AutomationResource):
    """``/reactions``: schedules, settings, targets, logs, stats and bulk switches."""

    prefix = "reactions"
    schedule_model = ReactionsSchedule
    log_model = ReactionsLogEntry

    def logs(  # type: ignore[override]
        self, account_id: int | None = None, *, status: str | None = None, action: str | None = None
    ) -> AsyncIterator[ReactionsLogEntry]:
        """Every log entry, newest first (one account's with ``account_id``), optionally
        only of a ``status`` (success, error, skipped) or an ``action``."""
        return super().logs(account_id, status=status, action=action)

    async def logs_page(  # type: ignore[override]
        self, account_id: int | None = None, page: int = 1, per_page: int = 20, *,
        status: str | None = None, action: str | None = None,
    ) -> Page[ReactionsLogEntry]:
        """One page of log entries."""
        return await super().logs_page(account_id, page, per_page, status=status, action=action)

    async def stats(self, account_id: int, *, days: int | None = None) -> ReactionsStats:
        """Engagement statistics of an account (``days`` of per-day counts, newest first)."""
        return await self._get(f"reactions/stats/{account_id}", {"days": days}, ReactionsStats)

    async def stats_by_query(self, account_id: int, *, days: int | None = None) -> ReactionsStats:
        """The same statistics at the later revision's path, ``/reactions/stats?account_id=``."""
        return await self._get("reactions/stats", {"account_id": account_id, "days": days}, ReactionsStats)

    async def bulk_stop(self, account_ids: Iterable[int] | None = None) -> BulkResult:
        """Force-stop schedules (pause them, and clear one stuck running)."""
        return await self._bulk("stop", account_ids)


__all__ = ["ReactionsLogEntry", "ReactionsResource", "ReactionsSchedule", "ReactionsStats"]
