"""Direct Basic: an account's native Instagram DM threads and messages. State and rules, no HTTP.

Each thread is in one place (``box``): ``inbox`` (in folder 0 primary or 1 general),
``pending`` (a message request), ``declined`` or ``deleted``. Declined and deleted threads
are kept for the record but are gone for the API (404), as Instagram hides them.
Lists page by opaque cursor, newest first, like Instagram's own ``direct_v2`` answers.
"""

from __future__ import annotations

from typing import Any

from orchestrator.emulator.context import Ctx
from orchestrator.emulator.errors import Conflict, NotFound, ValidationFailed
from orchestrator.emulator.modules.inbox.cursors import decode_cursor, encode_cursor, keyset_page, storable_id
from orchestrator.emulator.store import Doc, Table

THREADS = "direct_threads"
MESSAGES = "direct_messages"

FOLDERS = {0: "primary", 1: "general"}
THREADS_PER_PAGE = 10
MESSAGES_PER_PAGE = 20
VISIBLE = ("inbox", "pending")

THREAD_FIELDS = ("thread_id", "thread_title", "is_group", "unread_count", "participants",
                 "last_message", "last_activity")


def threads(ctx: Ctx) -> Table:
    return ctx.store.table(THREADS, key="thread_id")


def messages(ctx: Ctx) -> Table:
    return ctx.store.table(MESSAGES, key="thread_id")


def account_pk(account_id: int) -> str:
    """The Instagram user pk the emulator gives a local account (its messages' ``user_id``)."""
    return str(4_000_000_000 + account_id * 7_919)


# -- rendering -------------------------------------------------------------------
def public_thread(doc: Doc) -> dict[str, Any]:
    out = {k: doc[k] for k in THREAD_FIELDS}
    out["pending"] = doc["box"] == "pending"
    out["archived"] = doc["archived"]
    return out


def public_message(doc: Doc) -> dict[str, Any]:
    return {
        "id": doc["item_id"],
        "type": doc["type"],
        "timestamp": doc["timestamp"],
        # The sender's pk; stored under another name because ``user_id`` is the owner column.
        "user_id": doc["sender_pk"],
        "text": doc["text"],
        "is_sent_by_me": doc["is_sent_by_me"],
    }


def preview(message: Doc) -> dict[str, Any]:
    """A thread's ``last_message``: ``{type, timestamp, text}``."""
    return {"type": message["type"], "timestamp": message["timestamp"], "text": message["text"]}


# -- lookups ------------------------------------------------------------------------
def account(ctx: Ctx, account_id: int) -> Doc:
    """The caller's account; 404 for an unknown or another user's (also for ids past SQLite's range)."""
    if not storable_id(account_id):
        raise NotFound("Account not found")
    return ctx.account(account_id)


def get_thread(ctx: Ctx, account_id: int, thread_id: str) -> Doc:
    """A visible thread of the caller's account; 404 when unknown, in another account, or hidden."""
    account(ctx, account_id)
    doc = threads(ctx).find_one(account_id=account_id, key=thread_id)
    if doc is None or doc["box"] not in VISIBLE:
        raise NotFound("Thread not found")
    return doc


# -- lists ----------------------------------------------------------------------------
def inbox(ctx: Ctx, account_id: int, folder: int, cursor: str | None) -> dict[str, Any]:
    """One page of the account's accepted threads in ``folder``, plus its ``pending_count``."""
    if folder not in FOLDERS:
        raise ValidationFailed({"folder": "Folder must be 0 (primary) or 1 (general)."})
    account(ctx, account_id)
    page = _thread_page(threads(ctx).all(account_id=account_id, box="inbox", folder=folder), "inbox", cursor)
    page["pending_count"] = threads(ctx).count(account_id=account_id, box="pending")
    return page


def pending(ctx: Ctx, account_id: int, cursor: str | None) -> dict[str, Any]:
    """One page of the account's message requests."""
    account(ctx, account_id)
    return _thread_page(threads(ctx).all(account_id=account_id, box="pending"), "pending", cursor)


def _thread_page(docs: list[Doc], kind: str, cursor: str | None) -> dict[str, Any]:
    after = decode_cursor(cursor, kind, (int, int)) if cursor else None
    docs.sort(key=_thread_key, reverse=True)
    page, last = keyset_page(docs, _thread_key, after, THREADS_PER_PAGE)
    return {"threads": [public_thread(d) for d in page],
            "next_cursor": encode_cursor(kind, last) if last else None}


def _thread_key(doc: Doc) -> tuple[int, int]:
    return (doc["last_activity"], doc["id"])


def thread_messages(ctx: Ctx, doc: Doc, cursor: str | None) -> dict[str, Any]:
    """One page of a thread's messages, newest first; ``next_cursor`` leads to older ones."""
    after = decode_cursor(cursor, "messages", (int, int)) if cursor else None
    items = messages(ctx).all(account_id=doc["account_id"], key=doc["thread_id"])
    items.sort(key=_message_key, reverse=True)
    page, last = keyset_page(items, _message_key, after, MESSAGES_PER_PAGE)
    return {"thread_id": doc["thread_id"], "messages": [public_message(m) for m in page],
            "next_cursor": encode_cursor("messages", last) if last else None}


def _message_key(doc: Doc) -> tuple[int, int]:
    # Messages of one second keep the order they were stored in.
    return (doc["timestamp"], doc["id"])


# -- actions ----------------------------------------------------------------------------
def accept(ctx: Ctx, doc: Doc) -> None:
    """Move a message request into the primary folder of the inbox; 409 when not pending."""
    _require_pending(doc, "accepted")
    doc["box"] = "inbox"
    doc["folder"] = 0
    threads(ctx).update(doc)


def decline(ctx: Ctx, doc: Doc) -> None:
    """Hide a message request; 409 when not pending."""
    _require_pending(doc, "declined")
    doc["box"] = "declined"
    threads(ctx).update(doc)


def delete(ctx: Ctx, doc: Doc) -> None:
    """Remove a thread (accepted or a request) from the account's inbox."""
    doc["box"] = "deleted"
    threads(ctx).update(doc)


def _require_pending(doc: Doc, verb: str) -> None:
    if doc["box"] != "pending":
        raise Conflict(f"Thread is not a pending request and cannot be {verb}.")
