"""Repost Pro: settings, target types and engine actions. No HTTP.

The shared schedule rules live in :mod:`orchestrator.emulator.modules.automation`; this
file says what is particular to Repost Pro. Settings are the reference's table plus the
later revision's extras; the media switches are canonically the reference's dotted
names (``data.photo``), also accepted nested (``{"data": {"photo": true}}``) and under
the later revision's names (``photo_posts``).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from orchestrator.emulator.clock import FORMAT
from orchestrator.emulator.engine import REPOST_SPEEDS
from orchestrator.emulator.modules.automation import Automation, TargetType, later_revision, shortcode
from orchestrator.emulator.modules.settings_rules import SettingsSchema, flag, hhmm, integer, one_of, text
from orchestrator.emulator.store import Doc

_SLOT = r"repost\[(?:[01]\d|2[0-3]):[0-5]\d\]"
MEDIA_TYPES = ("photo", "video", "album", "reels")
_NOUNS = {"photo": "a photo", "video": "a video", "album": "an album", "reels": "a reel"}

FIELDS = {
    # schedule
    "speed": one_of("slow", tuple(REPOST_SPEEDS), "repost pace (the reference's speed table)"),
    "remove_delay": integer(0, 0, 8760, "hours before the repost is deleted (0 = never)"),
    "daily_pause": flag(False, "pause every day between daily_pause_from and daily_pause_to"),
    "daily_pause_from": hhmm("23:00", "start of the daily pause (UTC)"),
    "daily_pause_to": hhmm("07:00", "end of the daily pause (UTC)"),
    "custom_repost_time": text("", 1000, "fixed daily repost times (UTC); empty: use speed",
                               pattern=rf"^{_SLOT}(?:\s*,\s*{_SLOT})*$",
                               hint="repost[10:00],repost[18:00]"),
    # caption and comment
    "caption": text("", 2200, "caption template: spintax {a|b} and {{original_caption}}"),
    "first_comment": text("", 2200, "first comment under the repost (spintax allowed)"),
    "metadata_location": integer(None, 1, None, "location id to tag on reposts", nullable=True),
    "metadata_user": text("", 31, "username to tag on reposts", pattern=r"^@?[A-Za-z0-9._]{1,30}$",
                          hint="an Instagram username"),
    # advanced
    "collections_shuffle": flag(False, "shuffle the order of collection items"),
    "targets_shuffle": flag(False, "pick targets at random instead of in turn"),
    "data.photo": flag(False, "include photo posts (all media switches off: every type)"),
    "data.video": flag(False, "include video posts"),
    "data.album": flag(False, "include album/carousel posts"),
    "data.reels": flag(False, "include Reels"),
    "data.private_only": flag(False, "only repost from private accounts"),
}

SETTINGS = SettingsSchema(
    FIELDS,
    aliases={f"{media}_posts": f"data.{media}" for media in MEDIA_TYPES},
    nested=("data",),
)

_TAG = "hashtag name"
TARGET_TYPES = {
    t.key: t
    for t in (
        # the reference's 8
        TargetType("hashtag", _TAG, "Repost from Instagram hashtag (top/recent)", "hashtag"),
        TargetType("hashtag_reels", _TAG, "Repost Reels from a hashtag", "hashtag"),
        TargetType("location", "place name; id: location id", "Repost from tagged location",
                   needs_id=True),
        TargetType("people", "username", "Repost from a user's followers' posts", "username"),
        TargetType("people_reels", "username", "Repost Reels from followers of a user", "username"),
        TargetType("music", "track name; id: music id",
                   "Repost from posts using a specific music track", needs_id=True),
        TargetType("collection", "collection name; id: collection id",
                   "Repost from a saved Instagram collection", needs_id=True),
        TargetType("instagram_post", "post URL or shortcode",
                   "Repost a specific Instagram post by URL", "post"),
        # the later revision's TikTok sources
        later_revision("tiktok_hashtag", _TAG, "Repost TikTok videos under a hashtag", "hashtag"),
        later_revision("tiktok_user", "TikTok username", "Repost a TikTok user's videos",
                       "username"),
        later_revision("tiktok_keyword", "search keyword",
                       "Repost TikTok videos found by a keyword", "keyword"),
        later_revision("tiktok_trending", "region code such as US",
                       "Repost trending TikTok videos of a region", "region"),
        later_revision("tiktok_post", "TikTok video URL or id", "Repost a specific TikTok video",
                       "tiktok_post"),
    )
}

LOG_FIELDS = (
    "id", "account_id", "username", "status", "target_type", "target_value", "media_type",
    "original_media_code", "media_code", "is_removable", "remove_scheduled", "is_deleted",
    "status_share_to_stories", "status_first_comment", "status_caption", "message", "date",
)


class Repost(Automation):
    module = "repost-pro"
    name = "repost"
    settings = SETTINGS
    target_types = TARGET_TYPES
    log_fields = LOG_FIELDS

    def system_log_fields(self) -> dict[str, Any]:
        return {"is_removable": False, "is_deleted": False}

    def next_run(self, now: datetime, settings: Mapping[str, Any]) -> datetime:
        """Fixed repost times, when set, replace the speed interval."""
        slots = custom_times(settings["custom_repost_time"])
        if not slots:
            return super().next_run(now, settings)
        upcoming = [
            now.replace(hour=h, minute=m, second=0, microsecond=0) + timedelta(days=day)
            for day in (0, 1) for h, m in slots
        ]
        after = min(t for t in upcoming if t > now)
        return self.paused_until(after, settings) or after

    def act(self, doc: Doc, settings: Mapping[str, Any], stamp: str, rng: random.Random) -> Doc:
        """One repost from the next target: usually reposted, sometimes skipped or refused."""
        target = self.pick_target(doc, settings, rng)
        if target is None:
            return self.log_entry(doc, stamp, "skipped", "No targets configured",
                                  **self.system_log_fields())
        media_type = _media_type(target["type"], settings, rng)
        fields: dict[str, Any] = {
            "target_type": target["type"], "target_value": target["value"],
            "media_type": media_type,
            "original_media_code": shortcode(rng), "media_code": None, "is_removable": False,
            "remove_scheduled": None, "is_deleted": False, "status_share_to_stories": None,
            "status_first_comment": None, "status_caption": None,
        }
        roll = rng.random()
        if roll < 0.05:
            why = "Instagram refused the upload (feedback_required)"
            return self.log_entry(doc, stamp, "error", why, **fields)
        if roll < 0.15:
            why = "Media already reposted from this source"
            return self.log_entry(doc, stamp, "skipped", why, **fields)
        hours = settings["remove_delay"]
        fields.update(
            media_code=shortcode(rng),
            is_removable=hours > 0,
            remove_scheduled=_hours_after(stamp, hours) if hours else None,
            status_first_comment="success" if settings["first_comment"] else None,
            status_caption="success" if settings["caption"] else None,
        )
        source = f"{target['type']} '{target['value']}'" if target["value"] else target["type"]
        what = f"Reposted {_NOUNS[media_type]} from {source}"
        return self.log_entry(doc, stamp, "success", what, **fields)


REPOST = Repost()


def custom_times(value: str) -> list[tuple[int, int]]:
    """The ``(hour, minute)`` slots of ``repost[10:00],repost[18:00]``."""
    slots = []
    for part in filter(None, (p.strip() for p in value.split(","))):
        hh, mm = part[len("repost["):-1].split(":")
        slots.append((int(hh), int(mm)))
    return slots


def _media_type(target_type: str, settings: Mapping[str, Any], rng: random.Random) -> str:
    if target_type.endswith("_reels") or target_type.startswith("tiktok_"):
        return "reels"
    allowed = [m for m in MEDIA_TYPES if settings[f"data.{m}"]] or list(MEDIA_TYPES)
    return rng.choice(allowed)


def _hours_after(stamp: str, hours: int) -> str:
    return (datetime.strptime(stamp, FORMAT) + timedelta(hours=hours)).strftime(FORMAT)
