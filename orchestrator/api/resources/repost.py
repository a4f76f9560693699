"""Repost Pro (plan module ``repost-pro``): repost schedules fed by Instagram sources.

Everything but the models is shared with Reactions Pro in ``automation.AutomationResource``.
Settings names that are not identifiers (``data.photo``, ``data.video`` ...) go through
``update_settings(account_id, {"data.photo": True})``.
"""

from __future__ import annotations

from orchestrator.api.resources.automation import AutomationResource, LogEntry, Schedule


class RepostSchedule(Schedule):
    """A Repost Pro schedule; ``speed`` is very_slow, slow, medium, fast or very_fast."""


class RepostLogEntry(LogEntry):
    """One repost attempt and what became of it."""

    target_type: str | None = None
    target_value: str | None = None
    media_type: str | None = None
    original_media_code: str | None = None
    media_code: str | None = None
    is_removable: bool | None = None
    remove_scheduled: str | None = None
    is_deleted: bool | None = None
    status_share_to_stories: str | None = None
    status_first_comment: str | None = None
    status_caption: str | None = None


class RepostResource(AutomationResource):
    """``/repost``: schedules, settings, targets (repost sources), logs and bulk switches."""

    prefix = "repost"
    schedule_model = RepostSchedule
    log_model = RepostLogEntry
