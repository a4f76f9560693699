"""Reactions Pro: settings, target types, engine actions and stats. No HTTP.

The shared schedule rules (lookup, activate/pause, bulk, settings patching, targets,
logs, the cron pass) live in :mod:`orchestrator.emulator.modules.automation`; this file
says what is particular to Reactions Pro.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from orchestrator.emulator.clock import parse_stamp
from orchestrator.emulator.modules.automation import Automation, TargetType, later_revision, shortcode
from orchestrator.emulator.modules.settings_rules import (
    Setting,
    SettingsSchema,
    flag,
    hhmm,
    integer,
    min_max,
    moment,
    number,
    one_of,
    required_when,
    text,
)
from orchestrator.emulator.scheduler import NO_END
from orchestrator.emulator.store import Doc
from orchestrator.text.spintax import spin

SPEED_DOC = "1 very slow ... 5 very fast (the reference's speed table)"
_LIST = r"^[a-z]{2}(?:\s*,\s*[a-z]{2})*$"
_PROXY = r"^(?:(?:https?|socks[45])://)?(?:[^:@\s]+:[^@\s]+@)?[\w.-]+:\d{2,5}$"


def _speed(default: int, what: str) -> Setting:
    return integer(default, 1, 5, f"{what} speed, {SPEED_DOC}")


def _limit(default: int, hi: int, what: str) -> Setting:
    return integer(default, 0, hi, f"{what} (0 = no limit)")


def _metric(what: str) -> Setting:
    return integer(0, 0, None, f"{what} (0 = no limit)")


def _tri(what: str) -> Setting:
    return integer(0, 0, 2, f"{what}: 0 all, 1 only these, 2 skip these")


# The flat settings object: the later revision's groups and names, every field it lists,
# plus the companions a real panel shows beside them (speeds and limits per action,
# story-interaction answers, filters), so GET answers about a hundred fields.
FIELDS = {
    # schedule
    "speed": _speed(2, "overall engine"),
    "daily_pause": flag(False, "pause every day between daily_pause_from and daily_pause_to"),
    "daily_pause_from": hhmm("23:00", "start of the daily pause (UTC)"),
    "daily_pause_to": hhmm("07:00", "end of the daily pause (UTC)"),
    "expiration": flag(False, "stop the schedule at expiration_date"),
    "expiration_date": moment("when the schedule stops, if expiration is on"),
    "autopilot": flag(False, "let the engine tune the speeds to the account's age"),
    "autopilot_max_speed": _speed(3, "highest autopilot"),
    "targets_shuffle": flag(False, "pick targets at random instead of in turn"),
    "max_actions_per_run": integer(5, 1, 50, "actions one cron run may perform"),
    # likes
    "is_likes": flag(True, "like posts of the target audience"),
    "likes_speed": _speed(2, "likes"),
    "likes_per_user": integer(1, 1, 10, "posts liked per user"),
    "is_likes_timeline": flag(False, "also like posts in the home timeline"),
    "is_like_reels": flag(False, "also like Reels"),
    "likes_daily_limit": _limit(0, 5000, "likes per day"),
    "skip_liked_media": flag(True, "skip posts already liked"),
    "is_comment_likes": flag(False, "also like comments under the target posts"),
    "post_max_age_days": _metric("skip posts older than this many days"),
    # comments
    "is_comment": flag(False, "comment on posts"),
    "comment_speed": _speed(1, "comments"),
    "comment_interval": integer(60, 0, 1440, "minutes between two comments"),
    "comments": text("", 5000, "comment variants, one per line (spintax allowed)"),
    "comment_daily_limit": _limit(0, 500, "comments per day"),
    # follow
    "is_follow": flag(False, "follow users of the target audience"),
    "follow_speed": _speed(2, "follows"),
    "follow_limit": _limit(100, 1000, "follows per day"),
    "follow_skip_private": flag(False, "do not follow private accounts"),
    "is_like_after_follow": flag(False, "like a recent post after following"),
    "is_unfollow": flag(False, "unfollow users followed by the engine"),
    "unfollow_speed": _speed(2, "unfollows"),
    "unfollow_skip_followers": flag(True, "never unfollow users who follow back"),
    "unfollow_non_followers": flag(False, "unfollow only users who did not follow back"),
    "unfollow_interval": integer(72, 0, 720, "hours after a follow before it may be undone"),
    "unfollow_limit": _limit(100, 1000, "unfollows per day"),
    "unfollow_order": one_of("oldest", ("oldest", "newest", "random"),
                             "which follows to undo first"),
    "unfollow_whitelist": text("", 10000, "usernames never unfollowed, comma-separated"),
    # stories
    "is_story_likes": flag(False, "like stories"),
    "story_likes_speed": _speed(2, "story likes"),
    "story_likes_limit": _limit(0, 5000, "story likes per day"),
    "is_masslooking": flag(False, "view stories (masslooking)"),
    "masslooking_speed": _speed(3, "story views"),
    "masslooking_interval": number(2.5, 0.5, 60.0, "seconds spent on each story"),
    "masslooking_limit": _limit(0, 100000, "stories viewed per day"),
    "is_reels_views": flag(False, "watch Reels of the target audience"),
    "reels_views_speed": _speed(3, "Reels views"),
    "is_poll": flag(False, "vote in story polls"),
    "poll_vote": one_of("random", ("random", "first", "second"), "which poll option to vote for"),
    "is_quiz": flag(False, "answer story quizzes"),
    "quiz_answer": one_of("random", ("random", "first", "second", "third", "fourth"),
                          "which quiz answer"),
    "is_slider": flag(False, "answer story emoji sliders"),
    "slider_points": integer(80, 0, 100, "slider position, in percent"),
    "is_question": flag(False, "answer story questions"),
    "question_answers": text("", 2000, "answers to story questions, one per line (spintax)"),
    "is_countdown": flag(False, "follow story countdowns"),
    "is_emoji": flag(False, "react to stories with emojis"),
    "emojis": text("🔥,😍,👏", 500, "emojis to react with, comma-separated"),
    "emoji_speed": _speed(2, "story reactions"),
    # direct messages
    "is_dm": flag(False, "send a DM to users of the target audience"),
    "dm_speed": _speed(1, "DMs"),
    "dm_text": text("", 2000, "DM text (spintax allowed)"),
    "dm_daily_limit": _limit(20, 200, "DMs per day"),
    "dm_skip_existing_threads": flag(True, "do not DM users with an existing conversation"),
    "is_welcome_dm": flag(False, "send a welcome DM to new followers"),
    "welcome_dm_speed": _speed(1, "welcome DMs"),
    "welcome_dm_text": text("", 2000, "welcome DM text (spintax allowed)"),
    "welcome_dm_daily_limit": _limit(30, 200, "welcome DMs per day"),
    # filters
    "is_metrics_filter": flag(False, "apply the followers/followings/posts filters"),
    "followers_min": _metric("minimum followers"),
    "followers_max": _metric("maximum followers"),
    "followings_min": _metric("minimum followings"),
    "followings_max": _metric("maximum followings"),
    "posts_min": _metric("minimum posts"),
    "posts_max": _metric("maximum posts"),
    "last_posted_min": _metric("posted at least this many days ago"),
    "last_posted_max": _metric("posted at most this many days ago"),
    "post_min_likes": _metric("minimum likes of a post"),
    "post_max_likes": _metric("maximum likes of a post"),
    "verified_filter": _tri("verified accounts"),
    "private_filter": _tri("private accounts"),
    "business_filter": _tri("business accounts"),
    "skip_no_avatar": flag(False, "skip users without a profile picture"),
    "skip_empty_bio": flag(False, "skip users without a bio"),
    "gender_filter": one_of("all", ("all", "male", "female"), "guessed from the name"),
    "language_filter": text("", 200, "ISO 639-1 codes, comma-separated (empty = any)",
                            pattern=_LIST, hint="en,es,fr"),
    "stop_words": text("", 5000, "skip users whose bio or name contains these, comma-separated"),
    "blacklist": text("", 10000, "usernames never reacted to, comma-separated"),
    "skip_interacted": flag(True, "skip users this account already reacted to"),
    # notifications
    "is_telegram_analytics": flag(False, "send daily analytics to Telegram"),
    "is_telegram_errors": flag(False, "send errors to Telegram"),
    "tg_chat_id": integer(None, None, None, "Telegram chat id (negative for groups)",
                          nullable=True),
    "delay_telegram": integer(3600, 0, 86400, "seconds between two Telegram messages"),
    # advanced
    "custom_proxy": text("", 255, "a proxy for this schedule only (empty = the account's)",
                         pattern=_PROXY, hint="[scheme://][user:pass@]host:port"),
    "debug_mode": flag(False, "log verbosely"),
    "activity_time": flag(False, "act only between activity_time_min_h and activity_time_max_h"),
    "activity_time_min_h": hhmm("09:00", "start of the active hours (UTC)"),
    "activity_time_max_h": hhmm("22:00", "end of the active hours (UTC)"),
    "pause_on_action_block": flag(True, "pause when Instagram blocks an action"),
    "action_block_pause_hours": integer(24, 1, 168, "hours to pause after an action block"),
    "stop_on_challenge": flag(True, "stop when Instagram asks for a challenge"),
}

SETTINGS = SettingsSchema(
    FIELDS,
    rules=[
        min_max("followers_min", "followers_max"),
        min_max("followings_min", "followings_max"),
        min_max("posts_min", "posts_max"),
        min_max("last_posted_min", "last_posted_max"),
        min_max("post_min_likes", "post_max_likes"),
        required_when("expiration", "expiration_date"),
    ],
)

_TAG, _KEYWORD = "hashtag name", "search keyword"
_USER, _PLACE = "username; id: user id", "place name; id: location id"
TARGET_TYPES = {
    t.key: t
    for t in (
        # the reference's 8
        TargetType("hashtag", _TAG, "React to posts with this hashtag", "hashtag"),
        TargetType("location", _PLACE, "React to posts tagged at this location", needs_id=True),
        TargetType("people", _USER, "React to posts from followers of this user", "username",
                   needs_id=True),
        TargetType("explore", "", "React to posts in the Explore feed", "none"),
        TargetType("feed", "", "React to posts in the home feed", "none"),
        TargetType("likers", "post shortcode or URL", "React to likers of a specific post", "post"),
        TargetType("user_followers", "username", "Follow/unfollow followers of a user", "username"),
        TargetType("user_following", "username", "Follow/unfollow accounts this user follows",
                   "username"),
        # the later revision's additions
        later_revision("timeline", "", "React to posts in the account's own timeline", "none"),
        later_revision("hashtag_likers", _TAG, "React to likers of posts under a hashtag",
                       "hashtag"),
        later_revision("keyword", _KEYWORD, "React to posts found by a keyword search", "keyword"),
        later_revision("keyword_likers", _KEYWORD, "React to likers of posts found by a keyword",
                       "keyword"),
        later_revision("keyword_reels", _KEYWORD, "React to Reels found by a keyword", "keyword"),
        later_revision("keyword_reels_likers", _KEYWORD,
                       "React to likers of Reels found by a keyword", "keyword"),
        later_revision("people_followers", _USER, "React to the followers of a user", "username",
                       needs_id=True),
        later_revision("people_followings", _USER, "React to the accounts a user follows",
                       "username", needs_id=True),
        later_revision("people_likers", _USER, "React to likers of a user's recent posts",
                       "username", needs_id=True),
        later_revision("location_likers", _PLACE, "React to likers of posts tagged at a location",
                       needs_id=True),
        later_revision("user_id_list", "comma-separated user ids",
                       "React to a custom list of users", "id_list"),
    )
}

# Engine actions: the switch that enables each, the speed that weighs it, the stats counter.
ACTIONS = {
    "like": ("is_likes", "likes_speed", "likes"),
    "follow": ("is_follow", "follow_speed", "follows"),
    "unfollow": ("is_unfollow", "unfollow_speed", "unfollows"),
    "comment": ("is_comment", "comment_speed", "comments"),
    "story_view": ("is_masslooking", "masslooking_speed", "story_views"),
    "story_like": ("is_story_likes", "story_likes_speed", "story_likes"),
    "story_reaction": ("is_emoji", "emoji_speed", "story_reactions"),
    "dm": ("is_dm", "dm_speed", "dms"),
}
COUNTERS = tuple(counter for _, _, counter in ACTIONS.values())
STORY_REACTIONS = ("is_poll", "is_quiz", "is_slider", "is_question", "is_countdown", "is_emoji")
STATS_DAYS_KEPT = 30
LOG_FIELDS = ("id", "account_id", "username", "action", "status", "target_type", "target_value",
              "target_username", "media_code", "message", "date")
_AUDIENCE = ("mia", "leo", "ava", "noah", "zoe", "liam", "ella", "kai", "nora", "omar", "ivy")


class Reactions(Automation):
    module = "reactions"
    name = "reactions"
    settings = SETTINGS
    target_types = TARGET_TYPES
    log_fields = LOG_FIELDS

    def end_date(self, stored: Mapping[str, Any]) -> str:
        if stored.get("expiration") and stored.get("expiration_date"):
            return str(stored["expiration_date"])
        return NO_END

    def pause_windows(self, settings: Mapping[str, Any]) -> list[tuple[str, str]]:
        windows = super().pause_windows(settings)
        if settings["activity_time"]:
            # Outside the active hours is a pause from their end to their start.
            windows.append((settings["activity_time_max_h"], settings["activity_time_min_h"]))
        return windows

    def system_log_fields(self) -> dict[str, Any]:
        return {"action": "system"}

    def enabled_actions(self, settings: Mapping[str, Any]) -> dict[str, int]:
        """The actions the settings switch on, weighted by their speeds."""
        enabled = {}
        for action, (switch, speed, _) in ACTIONS.items():
            on = any(settings[s] for s in STORY_REACTIONS) if action == "story_reaction" else settings[switch]
            if action == "comment":
                on = on and bool(settings["comments"].strip())
            elif action == "dm":
                on = on and bool(settings["dm_text"].strip())
            if on:
                enabled[action] = settings[speed]
        return enabled

    def act(self, doc: Doc, settings: Mapping[str, Any], stamp: str, rng: random.Random) -> Doc:
        """One reaction: pick an enabled action by weight and a target in turn, then log it."""
        enabled = self.enabled_actions(settings)
        if not enabled:
            return self.log_entry(doc, stamp, "skipped", "No reaction is switched on",
                                  action="none")
        action = rng.choices(list(enabled), weights=list(enabled.values()))[0]
        target = None if action == "unfollow" else self.pick_target(doc, settings, rng)
        if target is None and action != "unfollow":
            return self.log_entry(doc, stamp, "skipped", "No targets configured", action=action)
        who = f"{rng.choice(_AUDIENCE)}.{rng.randint(10, 9999)}"
        code = shortcode(rng) if action in ("like", "comment") else None
        fields = {
            "action": action, "target_type": target and target["type"],
            "target_value": target and target["value"], "target_username": who, "media_code": code,
        }
        if rng.random() < 0.08:
            filtered = settings["is_metrics_filter"]
            why = "outside the metrics filter" if filtered else "already interacted"
            return self.log_entry(doc, stamp, "skipped", f"Skipped @{who}: {why}", **fields)
        count(doc, ACTIONS[action][2], stamp)
        message = _MESSAGES[action].format(who=who)
        if action == "comment":
            variants = [line for line in settings["comments"].splitlines() if line.strip()]
            message += f': "{spin(rng.choice(variants), rng)}"'
        return self.log_entry(doc, stamp, "success", message, **fields)


_MESSAGES = {
    "like": "Liked a post by @{who}",
    "follow": "Followed @{who}",
    "unfollow": "Unfollowed @{who}",
    "comment": "Commented on a post by @{who}",
    "story_view": "Viewed the stories of @{who}",
    "story_like": "Liked a story of @{who}",
    "story_reaction": "Reacted to a story of @{who}",
    "dm": "Sent a DM to @{who}",
}

REACTIONS = Reactions()


# -- stats ------------------------------------------------------------------------------------
def count(doc: Doc, counter: str, stamp: str, n: int = 1) -> None:
    """Add ``n`` to a stats counter, in the totals and in the day of ``stamp``."""
    stats = doc.setdefault("stats", {"totals": {}, "days": {}})
    stats["totals"][counter] = stats["totals"].get(counter, 0) + n
    day = stats["days"].setdefault(stamp[:10], {})
    day[counter] = day.get(counter, 0) + n
    if len(stats["days"]) > STATS_DAYS_KEPT:
        for old in sorted(stats["days"])[:-STATS_DAYS_KEPT]:
            del stats["days"][old]


def stats(doc: Doc, today: str, days: int) -> dict[str, Any]:
    """Engagement statistics: totals, today, and the last ``days`` days newest first."""
    kept = doc.get("stats") or {"totals": {}, "days": {}}
    first = parse_stamp(today[:10] + " 00:00:00")
    per_day = []
    for back in range(days):
        date = (first - timedelta(days=back)).strftime("%Y-%m-%d")
        day = kept["days"].get(date, {})
        per_day.append({"date": date, **{c: day.get(c, 0) for c in COUNTERS}})
    return {
        "account_id": doc["account_id"],
        "username": doc["username"],
        "is_active": doc["is_active"],
        "totals": {c: kept["totals"].get(c, 0) for c in COUNTERS},
        "today": {c: per_day[0][c] for c in COUNTERS},
        "per_day": per_day,
        "last_action_date": doc["last_action_date"],
    }
