"""Direct Basic (module ``direct-basic``): an account's native Instagram DM inbox.

Every path names the account, and lists page by cursor: threads under ``threads``,
messages under ``messages``, each page with ``next_cursor`` (None on the last page).

Accept, decline and delete each leave a state a repeat would not change, but the server
refuses the repeat (accepting or declining a thread that is no longer a request answers
409; a declined or deleted thread answers 404). So a retry after a lost answer reads the
thread's state back first, and only resends when the first attempt did not take effect.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Literal

from orchestrator.api.errors import NotFound
from orchestrator.api.models import ApiModel, parse
from orchestrator.api.resources.base import Resource
from orchestrator.api.retry import Policy

PRIMARY = 0
GENERAL = 1
ThreadState = Literal["pending", "accepted", "gone"]


class DirectParticipant(ApiModel):
    id: str | int | None = None
    username: str | None = None


class DirectLastMessage(ApiModel):
    type: str | None = None
    timestamp: int | str | None = None  # microseconds
    text: str | None = None


class DirectThread(ApiModel):
    thread_id: str
    thread_title: str | None = None
    is_group: bool | None = None
    unread_count: int | None = None
    participants: list[DirectParticipant] = []
    last_message: DirectLastMessage | None = None
    last_activity: int | None = None  # Unix time in microseconds
    pending: bool | None = None
    archived: bool | None = None


class DirectMessage(ApiModel):
    id: str
    type: str | None = None
    timestamp: int | str | None = None  # microseconds
    user_id: str | int | None = None
    text: str | None = None
    is_sent_by_me: bool | None = None


class DirectInboxPage(ApiModel):
    """One cursor page of an inbox (or of the pending requests)."""

    threads: list[DirectThread]
    next_cursor: str | None = None
    pending_count: int | None = None


class DirectMessagePage(ApiModel):
    """One cursor page of a thread's messages; the cursor leads to older ones."""

    thread_id: str | None = None
    messages: list[DirectMessage]
    next_cursor: str | None = None


class DirectResource(Resource):
    """``/direct/{account_id}/...``: inbox, pending requests, messages, accept/decline/delete."""

    # -- inbox and pending ----------------------------------------------------------
    def inbox(self, account_id: int, *, folder: int = PRIMARY) -> AsyncIterator[DirectThread]:
        """Every thread of the account's inbox folder (0 primary, 1 general), by cursor."""
        path = f"direct/{account_id}/inbox"
        return self._cursor(path, "threads", {"folder": folder}, DirectThread)

    async def inbox_page(
        self, account_id: int, cursor: str | None = None, *, folder: int = PRIMARY
    ) -> DirectInboxPage:
        """One page of the inbox, with the count of pending requests."""
        data = await self._get(f"direct/{account_id}/inbox", {"folder": folder, "cursor": cursor})
        return parse(DirectInboxPage, data)

    def pending(self, account_id: int) -> AsyncIterator[DirectThread]:
        """Every pending (not yet accepted) DM request, by cursor."""
        return self._cursor(f"direct/{account_id}/pending", "threads", None, DirectThread)

    async def pending_page(self, account_id: int, cursor: str | None = None) -> DirectInboxPage:
        """One page of pending requests."""
        data = await self._get(f"direct/{account_id}/pending", {"cursor": cursor})
        return parse(DirectInboxPage, data)

    # -- messages ---------------------------------------------------------------------
    def messages(self, account_id: int, thread_id: str) -> AsyncIterator[DirectMessage]:
        """Every message of a thread, newest page first, following the cursor to older ones."""
        path = f"direct/{account_id}/threads/{thread_id}/messages"
        return self._cursor(path, "messages", None, DirectMessage)

    async def messages_page(
        self, account_id: int, thread_id: str, cursor: str | None = None
    ) -> DirectMessagePage:
        """One page of a thread's messages, newest first."""
        path = f"direct/{account_id}/threads/{thread_id}/messages"
        data = await self._get(path, {"cursor": cursor})
        return parse(DirectMessagePage, data)

    # -- pending requests and threads -----------------------------------------------
    async def accept(self, account_id: int, thread_id: str) -> dict[str, Any]:
        """Accept a pending request: the thread moves to the primary inbox (``Conflict``
        when it is not a pending request)."""
        return await self._act(account_id, thread_id, "accept", done_when="accepted")

    async def decline(self, account_id: int, thread_id: str) -> dict[str, Any]:
        """Decline (hide) a pending request (``Conflict`` when it is not one)."""
        return await self._act(account_id, thread_id, "decline", done_when="gone")

    async def delete(self, account_id: int, thread_id: str) -> dict[str, Any]:
        """Delete a thread, accepted or pending, from the inbox."""
        return await self._act(account_id, thread_id, "delete", done_when="gone")

    async def thread_state(self, account_id: int, thread_id: str) -> ThreadState:
        """``pending``, ``accepted`` or ``gone`` (declined, deleted or never there): what
        the readbacks of accept, decline and delete look at."""
        try:
            await self._get(f"direct/{account_id}/threads/{thread_id}/messages")
        except NotFound:
            return "gone"
        async for thread in self.pending(account_id):
            if thread.thread_id == thread_id:
                return "pending"
        return "accepted"

    async def _act(
        self, account_id: int, thread_id: str, action: str, *, done_when: ThreadState
    ) -> dict[str, Any]:
        async def readback() -> dict[str, Any] | None:
            done = await self.thread_state(account_id, thread_id) == done_when
            return {"thread_id": thread_id} if done else None

        path = f"direct/{account_id}/threads/{thread_id}/{action}"
        result = await self._write("POST", path, policy=Policy.CREATE_READBACK, readback=readback)
        return result.data
