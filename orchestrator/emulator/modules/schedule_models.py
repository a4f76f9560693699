"""Wire shapes of the schedule routes Reactions Pro and Repost Pro share: request bodies and the
documented answers. No rules here (``automation``, ``settings_rules``) and no HTTP (``schedule_routes``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from orchestrator.emulator.envelope import Open

MAX_BULK = 1000  # account ids per bulk call, as for the accounts bulk endpoints


class BulkBody(BaseModel):
    account_ids: list[int] | None = Field(
        None, max_length=MAX_BULK,
        description=f"accounts whose schedules to switch (at most {MAX_BULK}); omitted: all yours",
    )


class TargetBody(BaseModel):
    type: str = Field(..., description="a key from GET .../targets/types")
    value: str | int | None = Field(
        None, description="hashtag, username, URL...; for id types a display name"
    )
    id: str | int | None = Field(None, description="numeric id, required by the types that say so")


class TargetMatch(BaseModel):
    type: str = Field(..., description="remove targets of this type...")
    value: str | int | None = Field(
        None, description="...with this value (omitted: every target of the type)"
    )
    id: str | int | None = Field(None, description="...or with this id")


class TargetOut(Open):
    target_id: int
    type: str
    id: str
    value: str


class DailyPauseOut(Open):
    enabled: bool
    from_: str = Field(alias="from")
    to: str


class TargetsOut(Open):
    targets: list[TargetOut]
    total: int


class RemovedOut(Open):
    removed: int
    total: int


class TargetTypeOut(Open):
    type: str
    value: str
    requires_id: bool
    requires_value: bool
    description: str
    revision: str


class TargetTypesOut(Open):
    types: list[TargetTypeOut]
    total: int


class SettingsUpdatedOut(Open):
    account_id: int
    updated_fields: list[str]


class BulkOut(Open):
    affected: int
    account_ids: list[int]
    skipped: list[int]


def as_text(value: str | int | None) -> str | None:
    """A body value that may come as a number (ids, location ids) as the string it is stored as."""
    return None if value is None else str(value)
