"""First Comment (module ``first-comment``): be first to comment on watched accounts' posts.

Unlike most modules, schedules are created and deleted through the API. The server does
not deduplicate creates, so ``create_schedule`` is retried with a readback: after an answer
that leaves it unknown whether the schedule was made, the account's schedules are searched
for one with the same targets and comments before anything is resent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any

from orchestrator.api.errors import NotFound
from orchestrator.api.models import ApiModel, Page, parse
from orchestrator.api.resources.base import Resource
from orchestrator.api.retry import Policy

SCHEDULES = "first-comment/schedules"
LOGS = "first-comment/logs"
COMMENT_MODES = ("random", "sequential")


class FirstCommentTarget(ApiModel):
    """An account whose new posts are watched."""

    username: str
    user_pk: str | None = None


class FirstCommentSchedule(ApiModel):
    id: int
    account_id: int
    is_active: bool
    running: bool | None = None
    comment_mode: str | None = None  # random | sequential
    targets: list[FirstCommentTarget] = []
    comments: list[str] = []
    schedule_date: str | None = None
    last_action_date: str | None = None


class FirstCommentLog(ApiModel):
    id: int
    account_id: int | None = None
    schedule_id: int | None = None
    status: str | None = None
    target_username: str | None = None
    post_code: str | None = None
    comment_text: str | None = None
    message: str | None = None  # why a comment failed or was skipped
    date: str | None = None


TargetSpec = Mapping[str, Any] | FirstCommentTarget | str


class FirstCommentResource(Resource):
    """``/first-comment/...``: schedules (full CRUD, activate, pause) and comment logs."""

    # -- schedules ----------------------------------------------------------------
    def list_schedules(
        self, *, account_id: int | None = None
    ) -> AsyncIterator[FirstCommentSchedule]:
        """Every schedule of the key's user, optionally of one account."""
        return self._all(SCHEDULES, {"account_id": account_id}, FirstCommentSchedule)

    async def list_schedules_page(
        self, page: int = 1, per_page: int = 20, *, account_id: int | None = None
    ) -> Page[FirstCommentSchedule]:
        """One page of schedules."""
        params = {"account_id": account_id}
        return await self._page(SCHEDULES, params, page, per_page, FirstCommentSchedule)

    async def get_schedule(self, schedule_id: int) -> FirstCommentSchedule:
        """One schedule by its id (404 for another user's)."""
        return await self._get(f"{SCHEDULES}/{schedule_id}", model=FirstCommentSchedule)

    async def create_schedule(
        self,
        account_id: int,
        targets: Iterable[TargetSpec],
        comments: Iterable[str],
        *,
        comment_mode: str | None = None,
        is_active: bool | None = None,
    ) -> FirstCommentSchedule:
        """Create a schedule: ``account_id`` comments one of ``comments`` on new posts of
        ``targets`` (``{"username", "user_pk"}`` dicts, models, or bare usernames).

        ``comment_mode`` defaults to ``random`` and ``is_active`` to true on the server."""
        body: dict[str, Any] = {
            "account_id": account_id,
            "targets": [_target_body(t) for t in targets],
            "comments": list(comments),
        }
        if comment_mode is not None:
            body["comment_mode"] = comment_mode
        if is_active is not None:
            body["is_active"] = is_active

        async def readback() -> dict[str, Any] | None:
            return await self.find_schedule(account_id, body["targets"], body["comments"])

        result = await self._write(
            "POST", SCHEDULES, json=body, policy=Policy.CREATE_READBACK, readback=readback
        )
        return parse(FirstCommentSchedule, result.data)

    async def find_schedule(
        self, account_id: int, targets: Iterable[TargetSpec], comments: Iterable[str]
    ) -> dict[str, Any] | None:
        """The newest of ``account_id``'s schedules with exactly these targets and comments
        (the raw data), or None. It is the readback of ``create_schedule``.

        All of the account's schedules are read (an account has few), so the answer does
        not depend on the order the server lists them in. Targets and comments compare as
        the server stores them (see ``_targets_match``; comments stripped)."""
        wanted_targets = [_target_body(t) for t in targets]
        wanted_comments = [c.strip() for c in comments]
        found: dict[str, Any] | None = None
        item: dict[str, Any]
        async for item in self._all(SCHEDULES, {"account_id": account_id}, dict):
            if (
                item.get("account_id") == account_id
                and [str(c).strip() for c in _list(item.get("comments"))] == wanted_comments
                and _targets_match(wanted_targets, item.get("targets") or [])
                and (found is None or item.get("id", 0) > found.get("id", 0))
            ):
                found = item
        return found

    async def update_schedule(self, schedule_id: int, **fields: Any) -> FirstCommentSchedule:
        """Change ``targets``, ``comments``, ``comment_mode`` and/or ``is_active`` (any
        other field is a ``ValidationFailed``); answers the schedule."""
        if "targets" in fields:
            fields["targets"] = [_target_body(t) for t in fields["targets"]]
        path = f"{SCHEDULES}/{schedule_id}"
        result = await self._write("PATCH", path, json=fields, policy=Policy.IDEMPOTENT)
        return parse(FirstCommentSchedule, result.data)

    async def delete_schedule(self, schedule_id: int) -> None:
        """Delete the schedule permanently.

        A second delete answers 404, so a retry after a lost answer would fail although
        the first attempt worked: the schedule is looked up first, and gone means done."""

        async def readback() -> dict[str, Any] | None:
            try:
                await self._get(f"{SCHEDULES}/{schedule_id}")
            except NotFound:
                return {"id": schedule_id}
            return None

        path = f"{SCHEDULES}/{schedule_id}"
        await self._write("DELETE", path, policy=Policy.CREATE_READBACK, readback=readback)

    async def activate(self, schedule_id: int) -> FirstCommentSchedule:
        """Switch the schedule on (is_active=1)."""
        return await self._switch(schedule_id, "activate")

    async def pause(self, schedule_id: int) -> FirstCommentSchedule:
        """Switch the schedule off (is_active=0)."""
        return await self._switch(schedule_id, "pause")

    async def _switch(self, schedule_id: int, action: str) -> FirstCommentSchedule:
        # Setting a flag to a fixed value: a repeat is harmless.
        path = f"{SCHEDULES}/{schedule_id}/{action}"
        result = await self._write("POST", path, policy=Policy.IDEMPOTENT)
        return parse(FirstCommentSchedule, result.data)

    # -- logs -----------------------------------------------------------------------
    def logs(self, *, status: str | None = None) -> AsyncIterator[FirstCommentLog]:
        """Every comment log entry of the user's accounts, newest first, optionally of one
        status."""
        return self._all(LOGS, {"status": status}, FirstCommentLog)

    async def logs_page(
        self, page: int = 1, per_page: int = 20, *, status: str | None = None
    ) -> Page[FirstCommentLog]:
        """One page of comment logs."""
        return await self._page(LOGS, {"status": status}, page, per_page, FirstCommentLog)

    def account_logs(
        self, account_id: int, *, status: str | None = None
    ) -> AsyncIterator[FirstCommentLog]:
        """Every comment log entry of one account (404 for another user's account)."""
        return self._all(f"{LOGS}/{account_id}", {"status": status}, FirstCommentLog)

    async def account_logs_page(
        self, account_id: int, page: int = 1, per_page: int = 20, *, status: str | None = None
    ) -> Page[FirstCommentLog]:
        """One page of one account's comment logs."""
        path = f"{LOGS}/{account_id}"
        return await self._page(path, {"status": status}, page, per_page, FirstCommentLog)


def _target_body(target: TargetSpec) -> dict[str, Any]:
    """A target as the request body wants it: ``{"username", "user_pk"}``."""
    if isinstance(target, str):
        return {"username": target}
    if isinstance(target, FirstCommentTarget):
        return target.model_dump(exclude_none=True, include={"username", "user_pk"})
    return dict(target)


def _targets_match(wanted: Sequence[Mapping[str, Any]], got: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a stored target list is the one requested, in order. Usernames compare as
    Instagram (and the server) treat them: case-insensitive, without a leading ``@``; a
    ``user_pk`` the request left out matches whatever the server looked up."""
    if len(wanted) != len(got):
        return False
    for w, g in zip(wanted, got, strict=True):
        if _username(w.get("username")) != _username(g.get("username")):
            return False
        if w.get("user_pk") is not None and str(w["user_pk"]).strip() != str(g.get("user_pk")):
            return False
    return True


def _username(value: Any) -> str:
    return str(value or "").strip().lstrip("@").lower()


def _list(value: Any) -> list[Any]:
    """A list field of a raw answer, empty when absent or null."""
    return list(value) if value else []
