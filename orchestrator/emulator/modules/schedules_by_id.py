"""Schedules addressed by their own id (AI-DM, Welcome DM): list, get, switch on or off."""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.emulator.context import Ctx, Paging
from orchestrator.emulator.store import Doc


@dataclass(frozen=True)
class SchedulesById:
    table: str

    def list(self, ctx: Ctx, paging: Paging) -> tuple[list[Doc], int]:
        return ctx.store.table(self.table).find(user_id=ctx.owner_scope, **paging.slice())

    def list_rendered(self, ctx: Ctx, paging: Paging, view: Callable[[Doc], Any]) -> tuple[builtins.list[bytes], int]:
        """A page of the caller's schedules, each as the JSON text of ``view`` (see find_rendered)."""
        return ctx.store.table(self.table).find_rendered(view, user_id=ctx.owner_scope, **paging.slice())

    def get(self, ctx: Ctx, schedule_id: int) -> Doc:
        return ctx.owned(self.table, schedule_id, "Schedule")

    def set_active(self, ctx: Ctx, schedule: Doc, active: bool) -> Doc:
        """Activate (is_active=1, schedule_date=now: runs at the next cron pass) or pause."""
        schedule["is_active"] = active
        if active:
            schedule["schedule_date"] = ctx.clock.stamp()
        return ctx.store.table(self.table).update(schedule)
