"""The target (source) types each module accepts, and what each needs.

A target is ``{type, value, id}``. Types that name something Instagram only knows by a numeric
id (a location, a music track, a collection, and the later revision's people*/location* types
of Reactions Pro) need ``id``; for every other type the server sets ``id`` to the value.

Reactions Pro accepts the union of the reference's 8 types and the later revision's 14, and
Repost Pro the reference's 8 plus the later revision's TikTok types: a real server answers
``GET /{module}/targets/types`` with its own list, which plan can check; statically the union
avoids refusing a type a newer server supports.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ValueKind(StrEnum):
    """What a target's ``value`` is, which decides how it is checked."""

    HASHTAG = "hashtag name, without #"
    USERNAME = "username, without @"
    TEXT = "text"
    POST = "post URL or shortcode"
    REGION = "two-letter region code, such as US"
    NONE = "no value (the type name is used)"


@dataclass(frozen=True)
class TargetType:
    """One target type of one module."""

    name: str
    value: ValueKind
    needs_id: bool = False
    revision: str = "reference"  # or "later": documented only by the later revision
    doc: str = ""


def _types(*types: TargetType) -> dict[str, TargetType]:
    return {t.name: t for t in types}


V = ValueKind

REACTIONS_TARGET_TYPES: dict[str, TargetType] = _types(
    TargetType("hashtag", V.HASHTAG, doc="posts with this hashtag"),
    TargetType("location", V.TEXT, needs_id=True,
               doc="posts tagged at this location (value: a name, id: the location id)"),
    # The reference lists `people` by username; the later revision (and the emulator) also
    # need the user's numeric id, like the other people* types.
    TargetType("people", V.USERNAME, needs_id=True,
               doc="posts from followers of this user (id: the user's numeric id)"),
    TargetType("explore", V.NONE, doc="posts in the Explore feed"),
    TargetType("feed", V.NONE, doc="posts in the home feed"),
    TargetType("likers", V.POST, doc="likers of a specific post"),
    TargetType("user_followers", V.USERNAME, doc="followers of a user"),
    TargetType("user_following", V.USERNAME, doc="accounts this user follows"),
    TargetType("timeline", V.NONE, revision="later", doc="the account's own timeline"),
    TargetType("hashtag_likers", V.HASHTAG, revision="later", doc="likers of posts with this hashtag"),
    TargetType("keyword", V.TEXT, revision="later", doc="posts found by keyword"),
    TargetType("keyword_likers", V.TEXT, revision="later", doc="likers of posts found by keyword"),
    TargetType("keyword_reels", V.TEXT, revision="later", doc="Reels found by keyword"),
    TargetType("keyword_reels_likers", V.TEXT, revision="later", doc="likers of Reels found by keyword"),
    TargetType("people_followers", V.USERNAME, needs_id=True, revision="later",
               doc="followers of a user (id: the user's numeric id)"),
    TargetType("people_followings", V.USERNAME, needs_id=True, revision="later", doc="accounts a user follows"),
    TargetType("people_likers", V.TEXT, needs_id=True, revision="later", doc="likers of a user's posts"),
    TargetType("location_likers", V.TEXT, needs_id=True, revision="later", doc="likers of posts at a location"),
    TargetType("user_id_list", V.TEXT, revision="later", doc="a comma-separated list of user ids"),
)

REPOST_TARGET_TYPES: dict[str, TargetType] = _types(
    TargetType("hashtag", V.HASHTAG, doc="posts under a hashtag"),
    TargetType("hashtag_reels", V.HASHTAG, doc="Reels under a hashtag"),
    TargetType("location", V.TEXT, needs_id=True,
               doc="posts tagged at a location (value: a name, id: the location id)"),
    TargetType("people", V.USERNAME, doc="posts of a user's followers"),
    TargetType("people_reels", V.USERNAME, doc="Reels of a user's followers"),
    TargetType("music", V.TEXT, needs_id=True, doc="posts using a music track (id: the track id)"),
    TargetType("collection", V.TEXT, needs_id=True, doc="a saved collection (id: the collection id)"),
    TargetType("instagram_post", V.POST, doc="one specific post"),
    TargetType("tiktok_hashtag", V.HASHTAG, revision="later", doc="TikTok videos under a hashtag"),
    TargetType("tiktok_user", V.USERNAME, revision="later", doc="a TikTok user's videos"),
    TargetType("tiktok_keyword", V.TEXT, revision="later", doc="TikTok videos found by keyword"),
    TargetType("tiktok_trending", V.REGION, revision="later", doc="TikTok trending videos of a region"),
    TargetType("tiktok_post", V.POST, revision="later", doc="one specific TikTok video"),
)

#: Per module with targets.
TARGET_TYPES: dict[str, dict[str, TargetType]] = {
    "reactions": REACTIONS_TARGET_TYPES,
    "repost": REPOST_TARGET_TYPES,
}
