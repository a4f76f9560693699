"""InBox (module ``inbox``): one inbox for DMs, comments and reviews across accounts.

Threads are paged by cursor (``threads`` and ``next_cursor``), not by page number. A
thread id is a compound string (``{account_id}_{channel_type}_{base64url(remote id)}``):
always use the one a list returned, never build one.

A reply is a create the server does not deduplicate, so ``reply`` is retried with a
readback: after an answer that leaves it unknown whether the reply went out, the thread is
read, and a newest message sent by us with the same text counts as the reply.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

from orchestrator.api.envelope import kind_of
from orchestrator.api.errors import SharingtoolsError, UnexpectedAnswer
from orchestrator.api.models import ApiModel, parse
from orchestrator.api.resources.base import Resource
from orchestrator.api.retry import Policy

CHANNEL_TYPES = ("dm", "comment", "review")
THREAD_STATUSES = ("open", "closed", "pending")
MAX_REPLY_LENGTH = 2000
# Threads asked for per cursor page when reading a whole list (``limit``: the emulator's and
# the later revision's name; a server without it keeps its own page size).
LIST_LIMIT = 100


class Participant(ApiModel):
    id: str | int | None = None
    username: str | None = None
    avatar: str | None = None


class LastMessage(ApiModel):
    content_type: str | None = None
    content: Any = None
    timestamp: str | None = None
    is_sent_by_us: bool | None = None


class Tag(ApiModel):
    id: int
    name: str
    color: str | None = None


class InboxThread(ApiModel):
    thread_id: str
    account_id: int
    channel_type: str  # dm | comment | review
    participants: list[Participant] = []
    unread_count: int | None = None
    last_message: LastMessage | None = None
    last_activity_at: str | None = None
    is_archived: bool | None = None
    status: str | None = None  # open | closed | pending
    tags: list[Tag] = []


class InboxMessage(ApiModel):
    id: int | str | None = None
    content_type: str | None = None
    content: Any = None
    timestamp: str | None = None
    is_sent_by_us: bool | None = None
    sender: dict[str, Any] | None = None


class InboxThreadDetail(InboxThread):
    """A thread with its most recent messages, oldest first."""

    messages: list[InboxMessage] = []


class ThreadPage(ApiModel):
    """One cursor page of threads; ``next_cursor`` is None on the last page."""

    threads: list[InboxThread]
    next_cursor: str | None = None
    total: int | None = None


class ReplyResult(ApiModel):
    thread_id: str
    sent: bool = True


class ArchiveState(ApiModel):
    thread_id: str
    is_archived: bool | None = None


class InboxResource(Resource):
    """``/inbox/...``: threads (list, read, reply, archive, tag) and tags."""

    # -- threads ----------------------------------------------------------------------
    def list_threads(
        self,
        *,
        account_id: int | None = None,
        channel_type: str | None = None,
        status: str | None = None,
        tag: str | int | None = None,
        archived: bool | None = None,
    ) -> AsyncIterator[InboxThread]:
        """Every thread matching the filters, following ``next_cursor`` to the end.
        ``tag`` is a tag id or name; ``archived=True`` lists the archived threads."""
        params = _thread_filters(account_id, channel_type, status, tag, archived)
        params["limit"] = LIST_LIMIT
        return self._cursor("inbox/threads", "threads", params, InboxThread)

    async def list_threads_page(
        self,
        cursor: str | None = None,
        *,
        account_id: int | None = None,
        channel_type: str | None = None,
        status: str | None = None,
        tag: str | int | None = None,
        archived: bool | None = None,
        limit: int | None = None,
    ) -> ThreadPage:
        """One page of threads, from ``cursor`` (the first page when None), of ``limit``
        threads (the server's default when None)."""
        params = _thread_filters(account_id, channel_type, status, tag, archived)
        data = await self._get("inbox/threads", {**params, "cursor": cursor, "limit": limit})
        return parse(ThreadPage, data)

    async def get_thread(self, thread_id: str) -> InboxThreadDetail:
        """One thread with its recent messages (404 for another user's or a malformed id)."""
        return await self._get(f"inbox/threads/{thread_id}", model=InboxThreadDetail)

    async def reply(self, thread_id: str, content: str) -> ReplyResult:
        """Send ``content`` (at most 2,000 characters) in the thread as its account."""

        async def readback() -> dict[str, Any] | None:
            return await self.find_reply(thread_id, content)

        result = await self._write(
            "POST", f"inbox/threads/{thread_id}/reply", json={"content": content},
            policy=Policy.CREATE_READBACK, readback=readback,
        )
        return parse(ReplyResult, result.data)

    async def find_reply(self, thread_id: str, content: str) -> dict[str, Any] | None:
        """``{"thread_id", "sent": True}`` when the thread's newest message is ours with
        exactly ``content``, else None. It is the readback of ``reply``.

        Only the newest message counts, since an identical reply further back is an earlier
        send. Within a retry's few seconds it misjudges two rare cases: the other side
        writing in between (the reply is sent again), and the very text just sent being
        sent again on purpose (taken as already sent)."""
        thread = await self._expect(f"inbox/threads/{thread_id}", None, dict, "a thread (an object)")
        messages = thread.get("messages")
        if not isinstance(messages, list):  # unknown: a reply read as "not sent" would be sent twice
            raise UnexpectedAnswer(f'a thread whose "messages" is {kind_of(messages)}, not a list', method="GET",
                                   path=f"inbox/threads/{thread_id}", status=200)
        if messages:
            newest = messages[-1]
            if not isinstance(newest, dict):
                raise UnexpectedAnswer(f"a thread whose newest message is {kind_of(newest)}, not an object",
                                       method="GET", path=f"inbox/threads/{thread_id}", status=200)
            if newest.get("is_sent_by_us") and newest.get("content") == content:
                return {"thread_id": thread_id, "sent": True}
        return None

    async def archive(self, thread_id: str) -> ArchiveState:
        """Archive (hide) the thread; archiving an archived thread is not an error."""
        return await self._set_archived(thread_id, "archive")

    async def unarchive(self, thread_id: str) -> ArchiveState:
        """Bring an archived thread back to the inbox."""
        return await self._set_archived(thread_id, "unarchive")

    async def _set_archived(self, thread_id: str, action: str) -> ArchiveState:
        path = f"inbox/threads/{thread_id}/{action}"
        result = await self._write("POST", path, policy=Policy.IDEMPOTENT)
        return parse(ArchiveState, result.data)

    async def update_thread_tags(
        self, thread_id: str, *, add: Iterable[int] = (), remove: Iterable[int] = ()
    ) -> list[Tag]:
        """Attach the tag ids ``add`` and detach ``remove``; answers the thread's tags."""
        body = {"add": list(add), "remove": list(remove)}
        path = f"inbox/threads/{thread_id}/tags"
        result = await self._write("POST", path, json=body, policy=Policy.IDEMPOTENT)
        return _tags(result.data)

    async def add_tags(self, thread_id: str, tag_ids: Iterable[int]) -> list[Tag]:
        """Attach tags (by id) to the thread."""
        return await self.update_thread_tags(thread_id, add=tag_ids)

    async def remove_tags(self, thread_id: str, tag_ids: Iterable[int]) -> list[Tag]:
        """Detach tags (by id) from the thread."""
        return await self.update_thread_tags(thread_id, remove=tag_ids)

    # -- tags -------------------------------------------------------------------------------
    async def list_tags(self) -> list[Tag]:
        """Every tag of the key's user."""
        return _tags(await self._get("inbox/tags"))

    async def create_tag(self, name: str, color: str | None = None) -> Tag:
        """Create a tag. Raises ``Conflict`` when a tag of that name (any case) exists;
        a 409 on a retry means the lost first attempt made it, and that tag is returned."""
        body: dict[str, Any] = {"name": name}
        if color is not None:
            body["color"] = color
        result = await self._write(
            "POST", "inbox/tags", json=body, policy=Policy.CREATE_CONFLICT_OK
        )
        if result.data is None:  # made by the lost attempt: read it back by name
            return await self._tag_named(name)
        return parse(Tag, result.data)

    async def delete_tag(self, tag_id: int) -> None:
        """Delete a tag (the later revision's endpoint); it disappears from every thread.

        A second delete answers 404, so a retry after a lost answer would fail although the
        first attempt worked: the tags are read first, and a tag no longer listed is done."""

        async def readback() -> dict[str, Any] | None:
            listed = any(t.id == tag_id for t in await self.list_tags())
            return None if listed else {"id": tag_id}

        path = f"inbox/tags/{tag_id}"
        await self._write("DELETE", path, policy=Policy.CREATE_READBACK, readback=readback)

    async def _tag_named(self, name: str) -> Tag:
        wanted = name.strip().lower()
        for tag in await self.list_tags():
            if tag.name.strip().lower() == wanted:
                return tag
        # Deleted again between the 409 and this read: nothing sensible to return.
        raise SharingtoolsError(f"inbox tag {name!r} was reported as existing but is not listed")


def _thread_filters(
    account_id: int | None,
    channel_type: str | None,
    status: str | None,
    tag: str | int | None,
    archived: bool | None,
) -> dict[str, Any]:
    # None values are dropped by the transport; booleans go as the 0/1 a PHP server reads.
    return {
        "account_id": account_id, "channel_type": channel_type, "status": status, "tag": tag,
        "archived": None if archived is None else int(archived),
    }


def _tags(data: Any) -> list[Tag]:
    """Tags from an answer that is a bare list, ``{"tags": [...]}`` or a page of ``items``."""
    if isinstance(data, dict):
        data = data.get("tags", data.get("items", []))
    return [parse(Tag, t) for t in data or []]
