"""Posts: drafts and scheduled posts of the user's accounts (core module, no plan gate).

A post names its files as ``media_ids``, a comma-separated string of Media Upload ids
(``"42,43,44"`` for a carousel). Its status runs saved -> scheduled -> publishing ->
published | failed; published and publishing posts cannot be edited (409).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime
from typing import Any

from orchestrator.api.models import ApiModel, Page, parse
from orchestrator.api.pagination import checked_items
from orchestrator.api.resources.base import Resource
from orchestrator.api.retry import Policy

STATUSES = ("saved", "scheduled", "publishing", "published", "failed")
STAMP = "%Y-%m-%d %H:%M:%S"
# How many of the account's newest posts a create's readback looks through: a lost create
# is seconds old, so only posts created concurrently on the same account come before it.
READBACK_WINDOW = 100

MediaIds = str | int | Iterable[int]
When = str | datetime


class Post(ApiModel):
    """A post. ``media_ids`` is the comma-separated string the server stores."""

    id: int
    account_id: int
    status: str | None = None  # saved | scheduled | publishing | published | failed
    type: str | None = None  # photo | video | album | story | reels (reel and carousel are aliases)
    caption: str | None = None
    first_comment: str | None = None  # the later revision's comment to post under it, kept with the post
    media_ids: str | None = None
    is_scheduled: bool | None = None
    schedule_date: str | None = None
    publish_date: str | None = None
    date: str | None = None
    reason: str | None = None  # why a failed post failed
    instagram_code: str | None = None

    @property
    def media_id_list(self) -> list[int]:
        """``media_ids`` as a list of ints."""
        return media_id_list(self.media_ids)


def media_ids_param(value: MediaIds) -> str:
    """The API's form of media ids: ``"42,43"`` from a string, an int or ints."""
    if isinstance(value, str):
        return ",".join(_tokens(value))  # junk stays in: the server's 422 names it
    if isinstance(value, int):
        return str(value)
    return ",".join(str(int(i)) for i in value)


def _tokens(value: str | None) -> list[str]:
    return [t.strip() for t in (value or "").split(",") if t.strip()]


def media_id_list(value: str | None) -> list[int]:
    """``"42, 43"`` as ``[42, 43]``; tokens that are not ids are left out."""
    return [int(t) for t in _tokens(value) if t.isdigit()]


def stamp(value: When) -> str:
    """A ``schedule_date`` as the API takes it: ``YYYY-MM-DD HH:MM:SS`` in UTC. A naive
    datetime is taken as UTC already; an aware one is converted."""
    if isinstance(value, str):
        return value
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime(STAMP)


def same_time(a: str | None, b: str | None) -> bool:
    """Do two stamps name the same instant (``2026-03-28 14:00:00`` == ``2026-03-28T14:00``)?"""
    if a is None or b is None:
        return a == b
    try:
        return datetime.fromisoformat(a.strip()) == datetime.fromisoformat(b.strip())
    except (ValueError, TypeError):  # unparsable, or naive against aware
        return a.strip() == b.strip()


class PostsResource(Resource):
    """``/posts``: list, read, create, update and delete posts."""

    def list(self, *, status: str | None = None, account_id: int | None = None) -> AsyncIterator[Post]:
        """Every post of the key's user, newest first, optionally by ``status`` and ``account_id``."""
        return self._all("posts", {"status": status, "account_id": account_id}, Post)

    async def page(
        self, page: int = 1, per_page: int = 20, *, status: str | None = None, account_id: int | None = None
    ) -> Page[Post]:
        """One page of posts."""
        return await self._page("posts", {"status": status, "account_id": account_id}, page, per_page, Post)

    async def get(self, post_id: int) -> Post:
        """One post (NotFound for another user's)."""
        return await self._get(f"posts/{post_id}", model=Post)

    async def create(
        self,
        account_id: int,
        *,
        caption: str | None = None,
        type: str | None = None,
        media_ids: MediaIds | None = None,
        is_scheduled: bool | None = None,
        schedule_date: When | None = None,
        first_comment: str | None = None,
    ) -> Post:
        """Create a draft, or a scheduled post with ``is_scheduled=True`` and a future
        ``schedule_date``. The server does not deduplicate posts, so a create whose answer
        was lost is looked up among the account's newest posts before it is sent again."""
        body: dict[str, Any] = {"account_id": account_id}
        if caption is not None:
            body["caption"] = caption
        if first_comment is not None:
            body["first_comment"] = first_comment
        if type is not None:
            body["type"] = type
        if media_ids is not None:
            body["media_ids"] = media_ids_param(media_ids)
        if is_scheduled is not None:
            body["is_scheduled"] = is_scheduled
        if schedule_date is not None:
            body["schedule_date"] = stamp(schedule_date)
        result = await self._write(
            "POST", "posts", json=body, policy=Policy.CREATE_READBACK,
            readback=lambda: self.find_created(
                account_id, body.get("caption"), body.get("schedule_date"), body.get("media_ids")
            ),
        )
        return parse(Post, result.data)

    async def schedule(
        self, account_id: int, media_ids: MediaIds, schedule_date: When, *,
        caption: str | None = None, type: str | None = None,
    ) -> Post:
        """Create a post that publishes at ``schedule_date`` (UTC)."""
        return await self.create(
            account_id, caption=caption, type=type, media_ids=media_ids,
            is_scheduled=True, schedule_date=schedule_date,
        )

    async def update(self, post_id: int, **fields: Any) -> Post:
        """Change ``caption``, ``first_comment`` (``""`` clears it), ``type``, ``media_ids``,
        ``is_scheduled`` and/or ``schedule_date``.
        Setting values is idempotent; a published or publishing post answers Conflict."""
        body = dict(fields)
        if body.get("media_ids") is not None:
            body["media_ids"] = media_ids_param(body["media_ids"])
        if body.get("schedule_date") is not None:
            body["schedule_date"] = stamp(body["schedule_date"])
        result = await self._write("PATCH", f"posts/{post_id}", json=body, policy=Policy.IDEMPOTENT)
        return parse(Post, result.data)

    async def delete(self, post_id: int) -> dict[str, Any]:
        """Delete a post record (a published post stays on Instagram)."""
        return (await self._write("DELETE", f"posts/{post_id}", policy=Policy.IDEMPOTENT)).data

    async def find_created(
        self, account_id: int, caption: str | None, schedule_date: str | None, media_ids: str | None = None
    ) -> dict[str, Any] | None:
        """The readback of ``create``: the account's newest post with this caption and
        schedule date (and these media, when given), or None.

        Captions are compared trimmed (the server trims them); an identical post made
        earlier is indistinguishable from the lost one and counts as found.
        """
        want_caption = (caption or "").strip()
        want_media = _tokens(media_ids) if media_ids is not None else None
        data = await self._page_data("posts", {"account_id": account_id}, 1, READBACK_WINDOW)
        for item in checked_items(data["items"], dict, "posts", 1):  # newest first
            if (
                item.get("account_id") == account_id
                and (item.get("caption") or "").strip() == want_caption
                and same_time(item.get("schedule_date"), schedule_date)
                and (want_media is None or _tokens(item.get("media_ids")) == want_media)
            ):
                return item
        return None


# -- the mark a playbook's post carries ----------------------------------------------------------
#
# How a post is recognised as the copy of playbook post ``name`` on an account, whatever else
# about it changed, with no state database (the posts kind's identity: ``kinds/posts``). Here,
# beside the client, because whoever reads captions (the kind, ``import``) must read them
# without it.
#
# The API has no field for it, so the mark goes at the end of the caption, where Instagram and
# the server keep what they are given: a space, then U+2063 INVISIBLE SEPARATOR followed by
# eight variation selectors (U+FE00 to U+FE0F, the characters emoji carry to choose how they
# are drawn) that spell 32 bits of a hash of (post name, account id). All of it renders as
# nothing. The server trims a caption's ends, and none of these characters is whitespace, so
# the mark survives; a caption edited in the web panel may lose it (then the state database
# and the post's content still recognise it). Any mark says "made by a playbook".

MARK_START = "\u2063"
_SELECTORS = tuple(chr(0xFE00 + i) for i in range(16))
_MARK = re.compile(" ?\u2063([\ufe00-\ufe0f]{8})")
#: Characters a mark takes at the end of a caption (the playbook keeps room for them).
MARK_LENGTH = 10


def mark_of(name: str, account_id: int) -> str:
    """The eight selectors of playbook post ``name`` on account ``account_id``."""
    digest = hashlib.sha256(f"post\0{name}\0{account_id}".encode()).digest()[:4]
    return "".join(_SELECTORS[b >> 4] + _SELECTORS[b & 15] for b in digest)


def marked(caption: str, name: str, account_id: int) -> str:
    """``caption`` as sent: trimmed, then the mark (a space before it keeps a last hashtag whole)."""
    text = caption.strip()
    return (text + " " if text else "") + MARK_START + mark_of(name, account_id)


def read_caption(caption: str | None) -> tuple[str, str | None]:
    """A live caption as people read it (every mark taken out, trimmed), and its last mark
    (None: the post carries none)."""
    found = _MARK.findall(caption or "")
    return _MARK.sub("", caption or "").strip(), (found[-1] if found else None)


assert len(" " + MARK_START + mark_of("", 0)) == MARK_LENGTH
