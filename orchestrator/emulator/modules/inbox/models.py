"""InBox: unified threads (DMs, comments, reviews), their messages, and tags. State and rules, no HTTP.

A thread's public id is the reference's compound string
``{account_id}_{channel_type}_{base64url(remote_thread_id)}``; it is stored as the
thread's natural key, so a lookup is one indexed read. Messages are their own collection,
keyed by that id. Tags belong to a user and are attached to threads by id (``tag_ids``);
a thread renders its tags from the caller's tag collection, so a deleted tag simply
disappears from every thread.
"""

from __future__ import annotations

import re
from typing import Any

from orchestrator.emulator.context import Ctx
from orchestrator.emulator.errors import Conflict, NotFound, ValidationFailed
from orchestrator.emulator.modules.inbox.cursors import (
    b64url_decode,
    b64url_encode,
    decode_cursor,
    encode_cursor,
    keyset_page,
    storable_id,
)
from orchestrator.emulator.store import Doc, Table

THREADS = "inbox_threads"
MESSAGES = "inbox_messages"
TAGS = "inbox_tags"

CHANNEL_TYPES = ("dm", "comment", "review")
STATUSES = ("open", "closed", "pending")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
RECENT_MESSAGES = 20
MAX_REPLY_LENGTH = 2000
MAX_TAG_NAME = 50
DEFAULT_TAG_COLOR = "#64748b"
_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_CURSOR_KIND = "inbox"

THREAD_FIELDS = ("thread_id", "account_id", "channel_type", "participants", "unread_count",
                 "last_message", "last_activity_at", "is_archived", "status")


def threads(ctx: Ctx) -> Table:
    return ctx.store.table(THREADS, key="thread_id")


def messages(ctx: Ctx) -> Table:
    return ctx.store.table(MESSAGES, key="thread_id")


def tags(ctx: Ctx) -> Table:
    return ctx.store.table(TAGS, key="name_key")


# -- thread ids ------------------------------------------------------------------
def make_thread_id(account_id: int, channel_type: str, remote_id: str) -> str:
    """The compound id ``{account_id}_{channel_type}_{base64url(remote_id)}`` (unpadded)."""
    return f"{account_id}_{channel_type}_{b64url_encode(remote_id.encode())}"


def parse_thread_id(thread_id: str) -> tuple[int, str, str] | None:
    """``(account_id, channel_type, remote_id)`` of a well-formed compound id, else None."""
    account, _, rest = thread_id.partition("_")
    channel, _, encoded = rest.partition("_")  # base64url may itself contain "_"
    if not _is_number(account) or str(int(account)) != account or channel not in CHANNEL_TYPES:
        return None
    raw = b64url_decode(encoded)
    try:
        remote = raw.decode() if raw else None
    except UnicodeDecodeError:
        remote = None
    return (int(account), channel, remote) if remote else None


def _is_number(text: str) -> bool:
    # str.isdigit alone accepts digits such as "²" that int() refuses.
    return text.isascii() and text.isdigit()


# -- rendering -------------------------------------------------------------------
def public_tag(doc: Doc) -> dict[str, Any]:
    return {"id": doc["id"], "name": doc["name"], "color": doc["color"]}


def tag_map(ctx: Ctx, user_id: int | None) -> dict[int, Doc]:
    """The tags of ``user_id`` (everyone's for None) by id, for rendering threads."""
    return {t["id"]: t for t in tags(ctx).all(user_id=user_id)}


def public_thread(doc: Doc, tags_by_id: dict[int, Doc]) -> dict[str, Any]:
    out = {k: doc[k] for k in THREAD_FIELDS}
    out["tags"] = [public_tag(tags_by_id[i]) for i in doc["tag_ids"] if i in tags_by_id]
    return out


def public_message(doc: Doc) -> dict[str, Any]:
    return {k: doc[k] for k in ("id", "content_type", "content", "timestamp", "is_sent_by_us", "sender")}


def preview(message: Doc) -> dict[str, Any]:
    """A thread's ``last_message``: the reference's four fields."""
    return {k: message[k] for k in ("content_type", "content", "timestamp", "is_sent_by_us")}


# -- threads ------------------------------------------------------------------------
def get_thread(ctx: Ctx, thread_id: str) -> Doc:
    """The caller's thread ``thread_id``; 404 for a malformed, unknown or another user's id."""
    doc = threads(ctx).find_one(key=thread_id) if parse_thread_id(thread_id) else None
    if doc is None or not ctx.user.owns(doc):
        raise NotFound("Thread not found")
    return doc


def list_threads(
    ctx: Ctx,
    *,
    account_id: int | None,
    channel_type: str | None,
    status: str | None,
    tag: str | None,
    archived: bool,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    """One page of the caller's threads, most recent activity first, with ``next_cursor`` and ``total``."""
    after = decode_cursor(cursor, _CURSOR_KIND, (str, int)) if cursor else None
    if account_id is not None and not storable_id(account_id):
        return {"threads": [], "next_cursor": None, "total": 0}
    docs = threads(ctx).all(user_id=ctx.owner_scope, account_id=account_id, channel_type=channel_type,
                            status=status, is_archived=archived)
    if tag is not None:
        wanted = _tag_filter(ctx, tag)
        docs = [d for d in docs if wanted.intersection(d["tag_ids"])]
    docs.sort(key=_order_key, reverse=True)
    page, last = keyset_page(docs, _order_key, after, min(max(1, limit), MAX_LIMIT))
    tags_by_id = tag_map(ctx, ctx.owner_scope)
    return {
        "threads": [public_thread(d, tags_by_id) for d in page],
        "next_cursor": encode_cursor(_CURSOR_KIND, last) if last else None,
        "total": len(docs),
    }


def _order_key(doc: Doc) -> tuple[str, int]:
    # ISO timestamps sort as strings; the row id breaks ties so every position is unique.
    return (doc["last_activity_at"], doc["id"])


def _tag_filter(ctx: Ctx, tag: str) -> set[int]:
    """Tag ids a ``?tag=`` value names: a numeric value is a tag id, anything else a tag name
    (case-insensitive). Only the caller's tags count; an unknown tag matches no thread."""
    if _is_number(tag):
        return {int(tag)}
    return {t["id"] for t in tags(ctx).all(user_id=ctx.owner_scope, key=tag.strip().lower())}


def thread_detail(ctx: Ctx, doc: Doc) -> dict[str, Any]:
    """The thread object plus its most recent messages, oldest first."""
    # Messages are stored in the order they happened; row order breaks same-second ties.
    recent, _ = messages(ctx).find(key=doc["thread_id"], order="id", descending=True,
                                   page=1, per_page=RECENT_MESSAGES)
    return {
        **public_thread(doc, tag_map(ctx, doc["user_id"])),
        "messages": [public_message(m) for m in reversed(recent)],
    }


def reply(ctx: Ctx, doc: Doc, content: str) -> None:
    """Send ``content`` as the account in thread ``doc``: a reply also marks the thread read."""
    if not content.strip():
        raise ValidationFailed({"content": "Reply content must not be empty."})
    if len(content) > MAX_REPLY_LENGTH:
        raise ValidationFailed({"content": f"Reply content must be at most {MAX_REPLY_LENGTH} characters."})
    account = ctx.store.table("accounts").get(doc["account_id"]) or {}
    message = add_message(ctx, doc, content, sent_by_us=True,
                          sender={"id": str(doc["account_id"]), "username": account.get("username")})
    doc["unread_count"] = 0
    doc["last_message"] = preview(message)
    doc["last_activity_at"] = message["timestamp"]
    threads(ctx).update(doc)


def add_message(ctx: Ctx, thread: Doc, content: str, *, sent_by_us: bool, sender: dict[str, Any],
                content_type: str = "text") -> Doc:
    return messages(ctx).insert({
        "user_id": thread["user_id"],
        "account_id": thread["account_id"],
        "thread_id": thread["thread_id"],
        "content_type": content_type,
        "content": content,
        "timestamp": ctx.clock.iso(),
        "is_sent_by_us": sent_by_us,
        "sender": sender,
    })


def set_archived(ctx: Ctx, doc: Doc, archived: bool) -> None:
    """Archive or unarchive; doing it twice is not an error (the state is what was asked)."""
    doc["is_archived"] = archived
    threads(ctx).update(doc)


# -- tags ---------------------------------------------------------------------------------
def list_tags(ctx: Ctx) -> list[Doc]:
    return tags(ctx).all(user_id=ctx.owner_scope)


def create_tag(ctx: Ctx, name: str, color: str | None) -> Doc:
    """A new tag for the caller; 422 for a bad name or color, 409 when the name exists (any case)."""
    name = name.strip()
    color = DEFAULT_TAG_COLOR if color is None else color
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Tag name must not be empty."
    elif len(name) > MAX_TAG_NAME:
        errors["name"] = f"Tag name must be at most {MAX_TAG_NAME} characters."
    if not _HEX_COLOR.match(color):
        errors["color"] = "Color must be a hex color such as #f59e0b."
    if errors:
        raise ValidationFailed(errors)
    if tags(ctx).find_one(user_id=ctx.user.id, key=name.lower()):
        raise Conflict("Tag already exists")
    return tags(ctx).insert(new_tag(ctx.user.id, name, color))


def new_tag(user_id: int, name: str, color: str) -> Doc:
    return {"user_id": user_id, "name": name, "name_key": name.lower(), "color": color.lower()}


def delete_tag(ctx: Ctx, tag_id: int) -> None:
    """Delete the caller's tag and detach it from every thread that carries it."""
    if not storable_id(tag_id):
        raise NotFound("Tag not found")
    tag = ctx.owned(tags(ctx), tag_id, "Tag")
    table = threads(ctx)
    with ctx.store.transaction():
        for doc in table.all(user_id=tag["user_id"]):
            if tag_id in doc["tag_ids"]:
                doc["tag_ids"] = [i for i in doc["tag_ids"] if i != tag_id]
                table.update(doc)
        tags(ctx).delete(tag_id)


def update_thread_tags(ctx: Ctx, doc: Doc, add: list[int], remove: list[int]) -> list[dict[str, Any]]:
    """Attach ``add`` and detach ``remove`` (tag ids of the thread's owner); answers the thread's tags.

    All ids are checked before anything changes, so a bad request changes nothing.
    """
    owner_tags = tag_map(ctx, doc["user_id"])
    errors: dict[str, str] = {}
    if not add and not remove:
        errors["add"] = "Give at least one tag id in add or remove."
    for field, ids in (("add", add), ("remove", remove)):
        unknown = [i for i in dict.fromkeys(ids) if i not in owner_tags]
        if unknown:
            errors[field] = "Unknown tag id(s): " + ", ".join(map(str, unknown))
    if set(add) & set(remove):
        errors.setdefault("remove", "A tag cannot be added and removed at once.")
    if errors:
        raise ValidationFailed(errors)
    kept = [i for i in doc["tag_ids"] if i not in remove]
    doc["tag_ids"] = list(dict.fromkeys(kept + add))
    threads(ctx).update(doc)
    return [public_tag(owner_tags[i]) for i in doc["tag_ids"] if i in owner_tags]
