"""The settings fields a playbook may manage, per module, with their types.

Repost Pro's fields come from the reference's settings table plus the extras the later
revision documents (``targets_shuffle``, ``custom_repost_time``). Reactions Pro's settings are
not in the reference at all; the fields below are the main groups of the later revision
(``../shared/api-gaps.md``). The live object has about a hundred fields, so Reactions Pro is
*open*: a field not listed here is accepted by static validation unless it looks like a typo
of a listed one, and plan checks it against the keys the live API returns
(`orchestrator.playbook.validation.check_live_settings`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FieldType(StrEnum):
    """How a settings value is written in a playbook and checked."""

    BOOL = "bool"
    INT = "int"
    FLOAT = "float"
    TEXT = "text"
    SPINTAX = "spintax"  # text whose {a|b} groups must balance
    TIME = "time"  # "HH:MM", 24-hour, UTC
    DATETIME = "datetime"  # "YYYY-MM-DD HH:MM:SS" (a YAML date or timestamp is accepted)
    CHOICE = "choice"  # one of ``choices``
    PROXY = "proxy"  # a proxy string, or a secret reference {env: VAR} / {file: path}
    REPOST_TIMES = "repost_times"  # "repost[10:00],repost[18:00]", or "" for "use speed"


@dataclass(frozen=True)
class FieldSpec:
    """One settings field: its API name, type, bounds and a line of documentation."""

    name: str
    type: FieldType
    doc: str
    group: str = ""
    choices: tuple[str | int, ...] = ()
    minimum: int | float | None = None
    maximum: int | float | None = None

    @property
    def type_label(self) -> str:
        """The type as the reference documentation writes it."""
        if self.type is FieldType.CHOICE:
            return " \\| ".join(str(c) for c in self.choices)
        if self.type in (FieldType.INT, FieldType.FLOAT) and (self.minimum is not None or self.maximum is not None):
            low = "" if self.minimum is None else str(self.minimum)
            high = "" if self.maximum is None else str(self.maximum)
            return f"{self.type.value} {low}..{high}"
        return self.type.value


def _fields(*specs: FieldSpec) -> dict[str, FieldSpec]:
    return {spec.name: spec for spec in specs}


#: Repost Pro speed names, slowest first (the reference's speed table).
REPOST_SPEEDS = ("very_slow", "slow", "medium", "fast", "very_fast")

BOOL, INT, FLOAT, TEXT = FieldType.BOOL, FieldType.INT, FieldType.FLOAT, FieldType.TEXT


def _speed(name: str, doc: str, group: str) -> FieldSpec:
    return FieldSpec(name, INT, doc, group, minimum=1, maximum=5)


def _count(name: str, doc: str, group: str) -> FieldSpec:
    return FieldSpec(name, INT, doc, group, minimum=0)


REPOST_SETTINGS: dict[str, FieldSpec] = _fields(
    FieldSpec("speed", FieldType.CHOICE, "How often the schedule reposts", "schedule", choices=REPOST_SPEEDS),
    FieldSpec("remove_delay", INT, "Hours before a repost is deleted again (0 = never)", "schedule", minimum=0),
    FieldSpec("daily_pause", BOOL, "Enable the daily pause window", "schedule"),
    FieldSpec("daily_pause_from", FieldType.TIME, "Start of the pause window, UTC", "schedule"),
    FieldSpec("daily_pause_to", FieldType.TIME,
              "End of the pause window, UTC (may be before the start: runs past midnight)", "schedule"),
    FieldSpec("custom_repost_time", FieldType.REPOST_TIMES,
              "Fixed repost times instead of speed, e.g. `repost[10:00],repost[18:00]`; empty = use speed",
              "schedule"),
    FieldSpec("caption", FieldType.SPINTAX,
              "Caption template; spintax and `{{original_caption}}` allowed", "caption"),
    FieldSpec("first_comment", FieldType.SPINTAX,
              "First comment posted under each repost; spintax allowed", "caption"),
    FieldSpec("metadata_location", INT, "Location id to tag on reposted media", "caption", minimum=1),
    FieldSpec("metadata_user", TEXT, "Username to tag on reposted media", "caption"),
    FieldSpec("collections_shuffle", BOOL, "Shuffle collection order when reposting", "advanced"),
    FieldSpec("targets_shuffle", BOOL, "Pick sources in random order", "advanced"),
    FieldSpec("data.photo", BOOL, "Include photo posts (all media switches false = every type)", "media"),
    FieldSpec("data.video", BOOL, "Include video posts", "media"),
    FieldSpec("data.album", BOOL, "Include album/carousel posts", "media"),
    FieldSpec("data.reels", BOOL, "Include Reels", "media"),
    FieldSpec("data.private_only", BOOL, "Only repost from private accounts", "media"),
)

REACTIONS_SETTINGS: dict[str, FieldSpec] = _fields(
    # schedule
    FieldSpec("daily_pause", BOOL, "Enable the daily pause window", "schedule"),
    FieldSpec("daily_pause_from", FieldType.TIME, "Start of the pause window, UTC", "schedule"),
    FieldSpec("daily_pause_to", FieldType.TIME, "End of the pause window, UTC", "schedule"),
    FieldSpec("expiration", BOOL, "Stop the campaign at `expiration_date`", "schedule"),
    FieldSpec("expiration_date", FieldType.DATETIME, "When the campaign stops", "schedule"),
    FieldSpec("autopilot", BOOL, "Let the engine tune speeds itself", "schedule"),
    # likes
    FieldSpec("is_likes", BOOL, "Like posts from the targets", "likes"),
    _speed("likes_speed", "Like speed, 1 (very slow) to 5 (very fast)", "likes"),
    FieldSpec("likes_per_user", INT, "Posts liked per visited user", "likes", minimum=1),
    FieldSpec("is_likes_timeline", BOOL, "Also like posts in the home timeline", "likes"),
    # comments
    FieldSpec("is_comment", BOOL, "Comment on posts", "comments"),
    _speed("comment_speed", "Comment speed, 1 to 5", "comments"),
    _count("comment_interval", "Minimum interval between comments", "comments"),
    # follow
    FieldSpec("is_follow", BOOL, "Follow users from the targets", "follow"),
    _speed("follow_speed", "Follow speed, 1 to 5", "follow"),
    _count("follow_limit", "Maximum follows", "follow"),
    FieldSpec("is_unfollow", BOOL, "Unfollow users again", "follow"),
    _speed("unfollow_speed", "Unfollow speed, 1 to 5", "follow"),
    FieldSpec("unfollow_skip_followers", BOOL, "Never unfollow users who follow back", "follow"),
    FieldSpec("unfollow_non_followers", BOOL, "Unfollow only users who do not follow back", "follow"),
    _count("unfollow_interval", "Minimum interval before unfollowing", "follow"),
    # stories
    FieldSpec("is_story_likes", BOOL, "Like stories", "stories"),
    FieldSpec("is_masslooking", BOOL, "Watch stories (masslooking)", "stories"),
    FieldSpec("masslooking_interval", FLOAT, "Interval between story views", "stories", minimum=0),
    FieldSpec("is_poll", BOOL, "Answer story polls", "stories"),
    FieldSpec("is_quiz", BOOL, "Answer story quizzes", "stories"),
    FieldSpec("is_emoji", BOOL, "React to stories with emoji", "stories"),
    FieldSpec("emojis", TEXT, "Emoji to react with", "stories"),
    _speed("emoji_speed", "Emoji reaction speed, 1 to 5", "stories"),
    # direct messages
    FieldSpec("is_dm", BOOL, "Send direct messages", "dm"),
    _speed("dm_speed", "DM speed, 1 to 5", "dm"),
    FieldSpec("is_welcome_dm", BOOL, "Send welcome DMs to new followers", "dm"),
    _speed("welcome_dm_speed", "Welcome DM speed, 1 to 5", "dm"),
    # filters (0 = no limit)
    FieldSpec("is_metrics_filter", BOOL, "Filter users by the metrics below", "filters"),
    _count("followers_min", "Minimum followers (0 = no limit)", "filters"),
    _count("followers_max", "Maximum followers (0 = no limit)", "filters"),
    _count("followings_min", "Minimum followings", "filters"),
    _count("followings_max", "Maximum followings", "filters"),
    _count("posts_min", "Minimum posts", "filters"),
    _count("posts_max", "Maximum posts", "filters"),
    _count("last_posted_min", "Minimum days since the last post", "filters"),
    _count("last_posted_max", "Maximum days since the last post", "filters"),
    _count("post_min_likes", "Minimum likes on a post", "filters"),
    _count("post_max_likes", "Maximum likes on a post", "filters"),
    FieldSpec("verified_filter", FieldType.CHOICE, "0 all users, 1 only verified, 2 skip verified", "filters",
              choices=(0, 1, 2)),
    # notifications
    FieldSpec("is_telegram_analytics", BOOL, "Send analytics to Telegram", "notifications"),
    FieldSpec("is_telegram_errors", BOOL, "Send errors to Telegram", "notifications"),
    FieldSpec("tg_chat_id", INT, "Telegram chat id (negative for groups)", "notifications"),
    _count("delay_telegram", "Seconds between Telegram reports", "notifications"),
    # advanced
    FieldSpec("custom_proxy", FieldType.PROXY, "A proxy for this campaign only", "advanced"),
    FieldSpec("debug_mode", BOOL, "Verbose logs", "advanced"),
    FieldSpec("activity_time", BOOL, "Act only between the two times below", "advanced"),
    FieldSpec("activity_time_min_h", FieldType.TIME, "Start of the active hours, UTC", "advanced"),
    FieldSpec("activity_time_max_h", FieldType.TIME, "End of the active hours, UTC", "advanced"),
)

#: Names a user may copy from another source, mapped to the name this API takes.
FIELD_ALIASES: dict[str, dict[str, str]] = {
    "repost": {
        "photo_posts": "data.photo",
        "video_posts": "data.video",
        "album_posts": "data.album",
        "reels_posts": "data.reels",
        "private_only": "data.private_only",
        "photo": "data.photo",
        "video": "data.video",
        "album": "data.album",
        "reels": "data.reels",
    },
    "reactions": {},
}

#: How messages name each module.
MODULE_NAMES = {"reactions": "Reactions Pro", "repost": "Repost Pro"}

#: Per module: its fields, and whether fields beyond them may exist (checked live).
SETTINGS: dict[str, tuple[dict[str, FieldSpec], bool]] = {
    "reactions": (REACTIONS_SETTINGS, True),
    "repost": (REPOST_SETTINGS, False),
}
