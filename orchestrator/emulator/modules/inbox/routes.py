"""HTTP for InBox: parse, call the model, wrap in the envelope.

Lists page by cursor (``threads`` + ``next_cursor`` + ``total``), not by page number,
as the reference's example shows.
"""

from __future__ import annotations

from typing import Literal

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from orchestrator.emulator.context import Ctx, auth
from orchestrator.emulator.envelope import JSON, Open, created, ok, responds
from orchestrator.emulator.modules.inbox import models
from orchestrator.emulator.routing import ModuleRouter

router = ModuleRouter(module="inbox", tag="InBox")
inbox = Depends(auth("inbox"))


class InboxParticipant(Open):
    id: str
    username: str | None
    avatar: str | None


class InboxMessagePreview(Open):
    content_type: str
    content: str | None
    timestamp: str
    is_sent_by_us: bool


class InboxTagOut(Open):
    id: int
    name: str
    color: str


class InboxThreadOut(Open):
    thread_id: str
    account_id: int
    channel_type: str
    participants: list[InboxParticipant]
    unread_count: int
    last_message: InboxMessagePreview | None
    last_activity_at: str
    is_archived: bool
    status: str
    tags: list[InboxTagOut]


class InboxThreadPage(Open):
    threads: list[InboxThreadOut]
    next_cursor: str | None
    total: int


class InboxSender(Open):
    id: str
    username: str | None


class InboxMessageOut(InboxMessagePreview):
    id: int
    sender: InboxSender


class InboxThreadDetail(InboxThreadOut):
    messages: list[InboxMessageOut]


class InboxReplyOut(Open):
    thread_id: str
    sent: bool


class InboxArchiveOut(Open):
    thread_id: str
    is_archived: bool


class InboxTagList(Open):
    tags: list[InboxTagOut]
    total: int


class InboxTagRef(Open):
    id: int


class InboxThreadTags(Open):
    thread_id: str
    tags: list[InboxTagOut]


class InboxReplyBody(BaseModel):
    content: str = Field(..., max_length=models.MAX_REPLY_LENGTH, description="the reply text")


class InboxTagBody(BaseModel):
    name: str = Field(..., description=f"unique per user (any case), at most {models.MAX_TAG_NAME} characters")
    color: str | None = Field(None, description=f"#rgb or #rrggbb; {models.DEFAULT_TAG_COLOR} when omitted")


class InboxThreadTagsBody(BaseModel):
    add: list[int] = Field(default_factory=list, description="tag ids to attach")
    remove: list[int] = Field(default_factory=list, description="tag ids to detach")


@router.get("/inbox/threads", **responds(InboxThreadPage))
async def list_threads(
    account_id: int | None = None,
    channel_type: Literal["dm", "comment", "review"] | None = None,
    status: Literal["open", "closed", "pending"] | None = None,
    tag: str | None = Query(None, description="a tag id, or a tag name (case-insensitive)"),
    archived: bool = Query(False, description="false: the inbox (archived threads hidden); true: only archived"),
    cursor: str | None = Query(None, description="next_cursor of the previous page"),
    limit: int = Query(models.DEFAULT_LIMIT, description=f"threads per page (max {models.MAX_LIMIT})"),
    ctx: Ctx = inbox,
) -> JSON:
    return ok(models.list_threads(ctx, account_id=account_id, channel_type=channel_type, status=status,
                                  tag=tag, archived=archived, cursor=cursor, limit=limit))


@router.get("/inbox/threads/{id}", **responds(InboxThreadDetail))
async def get_thread(id: str, ctx: Ctx = inbox) -> JSON:
    return ok(models.thread_detail(ctx, models.get_thread(ctx, id)))


@router.post("/inbox/threads/{id}/reply", **responds(InboxReplyOut))
async def reply(id: str, body: InboxReplyBody, ctx: Ctx = inbox) -> JSON:
    doc = models.get_thread(ctx, id)
    models.reply(ctx, doc, body.content)
    return ok({"thread_id": doc["thread_id"], "sent": True}, "Reply sent.")


@router.post("/inbox/threads/{id}/archive", **responds(InboxArchiveOut))
async def archive(id: str, ctx: Ctx = inbox) -> JSON:
    doc = models.get_thread(ctx, id)
    models.set_archived(ctx, doc, True)
    return ok({"thread_id": doc["thread_id"], "is_archived": True}, "Thread archived.")


@router.post("/inbox/threads/{id}/unarchive", **responds(InboxArchiveOut))
async def unarchive(id: str, ctx: Ctx = inbox) -> JSON:
    doc = models.get_thread(ctx, id)
    models.set_archived(ctx, doc, False)
    return ok({"thread_id": doc["thread_id"], "is_archived": False}, "Thread unarchived.")


@router.post("/inbox/threads/{id}/tags", **responds(InboxThreadTags))
async def thread_tags(id: str, body: InboxThreadTagsBody, ctx: Ctx = inbox) -> JSON:
    doc = models.get_thread(ctx, id)
    tags = models.update_thread_tags(ctx, doc, body.add, body.remove)
    return ok({"thread_id": doc["thread_id"], "tags": tags}, "Tags updated.")


@router.get("/inbox/tags", **responds(InboxTagList))
async def list_tags(ctx: Ctx = inbox) -> JSON:
    items = [models.public_tag(t) for t in models.list_tags(ctx)]
    return ok({"tags": items, "total": len(items)})


@router.post("/inbox/tags", **responds(InboxTagOut, status=201))
async def create_tag(body: InboxTagBody, ctx: Ctx = inbox) -> JSON:
    return created(models.public_tag(models.create_tag(ctx, body.name, body.color)), "Tag created.")


@router.delete("/inbox/tags/{id}", **responds(InboxTagRef))
async def delete_tag(id: int, ctx: Ctx = inbox) -> JSON:
    models.delete_tag(ctx, id)
    return ok({"id": id}, "Tag deleted.")
