"""What Reactions Pro and Repost Pro share: one schedule per account, switched on and off,
with a flat settings object, a list of targets, bulk switches and activity logs.

The two modules have the same endpoints under their own prefix (``reactions/``,
``repost/``), so ``AutomationResource`` holds every method once; each module's resource
names its prefix and its schedule and log models, and adds what only it has.

The API cannot create or delete schedules (the web panel does): an account without one
answers NotFound.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, ClassVar

from pydantic import Field

from orchestrator.api.envelope import kind_of
from orchestrator.api.errors import NotFound, UnexpectedAnswer
from orchestrator.api.models import ApiModel, Page, parse
from orchestrator.api.pagination import checked_items
from orchestrator.api.resources.base import Resource
from orchestrator.api.retry import Policy
from orchestrator.api.transport import Transport

# Account ids per bulk call: larger lists are sent in chunks of this size.
BULK_CHUNK = 1000


class Target(ApiModel):
    """A schedule's target. ``id`` is the type's id (location id, user pk) or, for types
    that take none, the value itself; ``target_id`` is its row id, used to remove it."""

    target_id: int | None = None
    type: str
    id: str | None = None
    value: str | None = None


class DailyPause(ApiModel):
    enabled: bool | None = None
    from_: str | None = Field(None, alias="from")  # HH:MM, UTC
    to: str | None = None  # HH:MM, UTC


class Schedule(ApiModel):
    """A module's schedule for one account. ``status`` is running, active or inactive."""

    id: int | None = None
    account_id: int
    username: str | None = None
    status: str | None = None
    is_active: bool | None = None
    is_running: bool | None = None
    speed: int | str | None = None  # Reactions: 1-5; Repost: very_slow ... very_fast
    daily_pause: DailyPause | None = None
    target_count: int | None = None
    targets: list[Target] = []
    schedule_date: str | None = None  # the next run
    end_date: str | None = None
    last_action_date: str | None = None
    date: str | None = None


class TargetType(ApiModel):
    """A valid target type key, and what its ``value``/``id`` hold."""

    type: str
    value: str | None = None
    requires_id: bool | None = None
    requires_value: bool | None = None
    description: str | None = None
    revision: str | None = None  # "v1" (the reference) or the later revision's "2.0.0"


class SettingsUpdate(ApiModel):
    account_id: int | None = None
    updated_fields: list[str] = []


class TargetsRemoved(ApiModel):
    removed: int
    total: int | None = None  # targets left


class BulkResult(ApiModel):
    """What a bulk switch did: ``skipped`` are ids without a schedule of the caller's."""

    affected: int = 0
    account_ids: list[int] = []
    skipped: list[int] = []


class LogEntry(ApiModel):
    """An activity log entry; ``status`` is success, error or skipped."""

    id: int
    account_id: int | None = None
    username: str | None = None
    status: str | None = None
    message: str | None = None
    date: str | None = None


def _loose(value: Any) -> str:
    """A target value as servers store it: trimmed, without a leading ``#`` or ``@``."""
    return "" if value is None else str(value).strip().lstrip("#@")


class AutomationResource(Resource):
    """The endpoints Reactions Pro and Repost Pro share, under ``prefix``."""

    prefix: ClassVar[str]
    schedule_model: ClassVar[type[Schedule]] = Schedule
    log_model: ClassVar[type[LogEntry]] = LogEntry

    def __init__(self, transport: Transport) -> None:
        super().__init__(transport)
        # Bulk paths to try in order: the reference's, then the later revision's. The first
        # that answers is kept, so a server of either revision costs one 404 at most.
        self._bulk_bases = [f"{self.prefix}/bulk", f"{self.prefix}/schedules/bulk"]

    # -- schedules ------------------------------------------------------------------------
    def list_schedules(self, *, is_active: bool | None = None) -> AsyncIterator[Schedule]:
        """Every schedule of the key's user (only active or paused ones with ``is_active``)."""
        return self._all(f"{self.prefix}/schedules", {"is_active": _flag(is_active)}, self.schedule_model)

    async def list_schedules_page(
        self, page: int = 1, per_page: int = 20, *, is_active: bool | None = None
    ) -> Page[Schedule]:
        """One page of schedules."""
        params = {"is_active": _flag(is_active)}
        return await self._page(f"{self.prefix}/schedules", params, page, per_page, self.schedule_model)

    async def get_schedule(self, account_id: int) -> Schedule:
        """The schedule of one account (NotFound for another user's account or none)."""
        return await self._get(f"{self.prefix}/schedules/{account_id}", model=self.schedule_model)

    async def activate(self, account_id: int) -> Schedule:
        """Activate (resume) the schedule; activating an active one changes nothing."""
        return await self._switch(account_id, "activate")

    async def pause(self, account_id: int) -> Schedule:
        """Pause the schedule; pausing a paused one changes nothing."""
        return await self._switch(account_id, "pause")

    async def _switch(self, account_id: int, op: str) -> Schedule:
        path = f"{self.prefix}/schedules/{account_id}/{op}"
        return parse(self.schedule_model, (await self._write("POST", path, policy=Policy.IDEMPOTENT)).data)

    # -- settings -------------------------------------------------------------------------
    async def get_settings(self, account_id: int) -> dict[str, Any]:
        """Every configurable setting of the account's schedule, as a flat dict."""
        data = await self._expect(f"{self.prefix}/schedules/{account_id}/settings", None, dict,
                                  "the schedule's settings (an object)")
        # The emulator wraps them as {"account_id", "settings"}; a server answering the flat
        # object itself is read the same way.
        settings = data.get("settings", data)
        if not isinstance(settings, dict):
            raise UnexpectedAnswer(f'settings that are {kind_of(settings)}, not an object', method="GET",
                                   path=f"{self.prefix}/schedules/{account_id}/settings", status=200)
        return settings

    async def update_settings(
        self, account_id: int, changes: Mapping[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Change only the given settings (``changes`` for names that are not identifiers,
        such as ``data.photo``). An unknown or read-only field fails validation; ``is_active``
        changes only through ``activate``/``pause``. Answers ``{account_id, updated_fields}``."""
        body = {**(changes or {}), **fields}
        path = f"{self.prefix}/schedules/{account_id}/settings"
        return (await self._write("PATCH", path, json=body, policy=Policy.IDEMPOTENT)).data

    # -- targets --------------------------------------------------------------------------
    async def target_types(self) -> list[TargetType]:
        """Every valid target type key of the module."""
        data = await self._get(f"{self.prefix}/targets/types")
        items = data.get("types", []) if isinstance(data, dict) else data
        # The reference calls them "keys": a server may answer bare strings.
        return [TargetType(type=i) if isinstance(i, str) else parse(TargetType, i) for i in items or []]

    async def list_targets(self, account_id: int) -> list[Target]:
        """The targets of the account's schedule."""
        path = f"{self.prefix}/schedules/{account_id}/targets"
        data = await self._expect(path, None, (dict, list), "the schedule's targets (a list)")
        items = data.get("targets") if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise UnexpectedAnswer(f'"targets" that are {kind_of(items)}, not a list', method="GET", path=path,
                                   status=200)
        return checked_items(items, Target, path)

    async def add_target(
        self, account_id: int, type: str, value: str | int | None = None, id: str | int | None = None
    ) -> Target:
        """Add a target. ``id`` is required by the types that say so (see ``target_types``);
        for those ``value`` is a display name. A target already there raises Conflict, except
        when a retry meets the target its own lost first attempt added: then the stored
        target is read back and returned."""
        body: dict[str, Any] = {"type": type}
        if value is not None:
            body["value"] = value
        if id is not None:
            body["id"] = id
        path = f"{self.prefix}/schedules/{account_id}/targets"
        result = await self._write("POST", path, json=body, policy=Policy.CREATE_CONFLICT_OK)
        if not result.recovered:
            return parse(Target, result.data)
        found = await self._find_target(account_id, type, value, id)
        return found or Target(type=type, value=_loose(value) or None, id=None if id is None else str(id))

    async def _find_target(
        self, account_id: int, type: str, value: str | int | None, id: str | int | None
    ) -> Target | None:
        for target in await self.list_targets(account_id):
            if target.type != type:
                continue
            if id is not None and target.id == str(id).strip():
                return target
            if value is not None and _loose(target.value) == _loose(value):
                return target
        return None

    async def remove_target(self, account_id: int, target_id: int) -> TargetsRemoved:
        """Remove one target by its ``target_id`` (the reference's form).

        A retry after a lost answer may meet NotFound for the target its first attempt
        removed; ``remove_targets_by_value`` has no such ambiguity (it answers removed: 0)."""
        path = f"{self.prefix}/schedules/{account_id}/targets/{target_id}"
        return parse(TargetsRemoved, (await self._write("DELETE", path, policy=Policy.IDEMPOTENT)).data)

    async def remove_targets_by_value(
        self, account_id: int, type: str, value: str | int | None = None, *, id: str | int | None = None
    ) -> TargetsRemoved:
        """Remove the targets of ``type`` with this ``value`` (or ``id``), or every target of
        the type when both are omitted (the later revision's DELETE with a body)."""
        body: dict[str, Any] = {"type": type}
        if value is not None:
            body["value"] = value
        if id is not None:
            body["id"] = id
        path = f"{self.prefix}/schedules/{account_id}/targets"
        result = await self._write("DELETE", path, json=body, policy=Policy.IDEMPOTENT)
        return parse(TargetsRemoved, result.data)

    # -- logs -----------------------------------------------------------------------------
    def logs(
        self, account_id: int | None = None, *, status: str | None = None, **filters: Any
    ) -> AsyncIterator[Any]:
        """Every activity log entry, newest first: all accounts', or one account's."""
        return self._all(self._logs_path(account_id), {"status": status, **filters}, self.log_model)

    async def logs_page(
        self, account_id: int | None = None, page: int = 1, per_page: int = 20, *,
        status: str | None = None, **filters: Any,
    ) -> Page[Any]:
        """One page of activity log entries."""
        params = {"status": status, **filters}
        return await self._page(self._logs_path(account_id), params, page, per_page, self.log_model)

    def _logs_path(self, account_id: int | None) -> str:
        return f"{self.prefix}/logs" if account_id is None else f"{self.prefix}/logs/{account_id}"

    # -- bulk -----------------------------------------------------------------------------
    async def bulk_activate(self, account_ids: Iterable[int] | None = None) -> BulkResult:
        """Activate the schedules of ``account_ids`` (None: every schedule of the user)."""
        return await self._bulk("activate", account_ids)

    async def bulk_pause(self, account_ids: Iterable[int] | None = None) -> BulkResult:
        """Pause the schedules of ``account_ids`` (None: every schedule of the user)."""
        return await self._bulk("pause", account_ids)

    async def _bulk(self, op: str, account_ids: Iterable[int] | None) -> BulkResult:
        if account_ids is None:
            return await self._bulk_call(op, None)
        ids = list(dict.fromkeys(account_ids))
        total = BulkResult()
        # An empty list switches nothing and sends nothing: a server reading an empty body
        # as "all schedules" must never turn "none" into "every".
        for start in range(0, len(ids), BULK_CHUNK):
            part = await self._bulk_call(op, {"account_ids": ids[start : start + BULK_CHUNK]})
            total = BulkResult(
                affected=total.affected + part.affected,
                account_ids=total.account_ids + part.account_ids,
                skipped=total.skipped + part.skipped,
            )
        return total

    async def _bulk_call(self, op: str, body: dict[str, Any] | None) -> BulkResult:
        """One bulk request, at the first bulk path this server answers."""
        for i, base in enumerate(self._bulk_bases):
            try:
                result = await self._write("POST", f"{base}/{op}", json=body, policy=Policy.IDEMPOTENT)
            except NotFound:
                # Bulk never answers 404 for ids (unknown ones are skipped): the path is missing.
                if i == len(self._bulk_bases) - 1:
                    raise
                continue
            if i:
                self._bulk_bases = self._bulk_bases[i:] + self._bulk_bases[:i]
            return parse(BulkResult, result.data)
        raise AssertionError("unreachable")  # pragma: no cover


def _flag(value: bool | None) -> str | None:
    """A boolean query parameter as PHP reads it (``true``/``false``)."""
    return None if value is None else ("true" if value else "false")
