"""HTTP for Direct Basic: parse, call the model, wrap in the envelope.

Lists page by cursor (``threads``/``messages`` + ``next_cursor``), as the reference shows.
"""

from __future__ import annotations

from fastapi import Depends, Query

from orchestrator.emulator.context import Ctx, auth
from orchestrator.emulator.envelope import JSON, Open, ok, responds
from orchestrator.emulator.modules.direct import models
from orchestrator.emulator.routing import ModuleRouter

router = ModuleRouter(module="direct-basic", tag="Direct Basic")
direct = Depends(auth("direct-basic"))
CURSOR = Query(None, description="next_cursor of the previous page")
OLDER = Query(None, description="next_cursor of the previous page: older messages")


class DirectParticipant(Open):
    id: str
    username: str


class DirectLastMessage(Open):
    type: str
    timestamp: int
    text: str | None


class DirectThreadOut(Open):
    thread_id: str
    thread_title: str
    is_group: bool
    unread_count: int
    participants: list[DirectParticipant]
    last_message: DirectLastMessage | None
    last_activity: int
    pending: bool
    archived: bool


class DirectInboxPage(Open):
    threads: list[DirectThreadOut]
    next_cursor: str | None
    pending_count: int


class DirectPendingPage(Open):
    threads: list[DirectThreadOut]
    next_cursor: str | None


class DirectMessageOut(Open):
    id: str
    type: str
    timestamp: int
    user_id: str
    text: str | None
    is_sent_by_me: bool


class DirectMessagePage(Open):
    thread_id: str
    messages: list[DirectMessageOut]
    next_cursor: str | None


class DirectThreadRef(Open):
    thread_id: str


@router.get("/direct/{account_id}/inbox", **responds(DirectInboxPage))
async def inbox(
    account_id: int,
    folder: int = Query(0, description="0 primary, 1 general"),
    cursor: str | None = CURSOR,
    ctx: Ctx = direct,
) -> JSON:
    return ok(models.inbox(ctx, account_id, folder, cursor))


@router.get("/direct/{account_id}/pending", **responds(DirectPendingPage))
async def pending(account_id: int, cursor: str | None = CURSOR, ctx: Ctx = direct) -> JSON:
    return ok(models.pending(ctx, account_id, cursor))


@router.get("/direct/{account_id}/threads/{thread_id}/messages", **responds(DirectMessagePage))
async def thread_messages(account_id: int, thread_id: str, cursor: str | None = OLDER, ctx: Ctx = direct) -> JSON:
    return ok(models.thread_messages(ctx, models.get_thread(ctx, account_id, thread_id), cursor))


@router.post("/direct/{account_id}/threads/{thread_id}/accept", **responds(DirectThreadRef))
async def accept(account_id: int, thread_id: str, ctx: Ctx = direct) -> JSON:
    models.accept(ctx, models.get_thread(ctx, account_id, thread_id))
    return ok({"thread_id": thread_id}, "Thread accepted.")


@router.post("/direct/{account_id}/threads/{thread_id}/decline", **responds(DirectThreadRef))
async def decline(account_id: int, thread_id: str, ctx: Ctx = direct) -> JSON:
    models.decline(ctx, models.get_thread(ctx, account_id, thread_id))
    return ok({"thread_id": thread_id}, "Thread declined.")


@router.post("/direct/{account_id}/threads/{thread_id}/delete", **responds(DirectThreadRef))
async def delete(account_id: int, thread_id: str, ctx: Ctx = direct) -> JSON:
    models.delete(ctx, models.get_thread(ctx, account_id, thread_id))
    return ok({"thread_id": thread_id}, "Thread deleted.")
