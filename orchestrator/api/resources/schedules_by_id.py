"""What the modules whose schedules are addressed by schedule id share (Welcome DM, AI-DM,
Leads Finder): list, one page, get one, and switch on or off with a POST to ``{id}/{action}``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

from orchestrator.api.models import Page, parse
from orchestrator.api.resources.base import Resource
from orchestrator.api.retry import Policy


class SchedulesById(Resource):
    prefix: ClassVar[str]  # e.g. "welcomedm/schedules"
    schedule_model: ClassVar[type[Any]]

    def list_schedules(self, **filters: Any) -> AsyncIterator[Any]:
        """Every schedule of the key's user (filters as the module accepts them)."""
        return self._all(self.prefix, filters or None, self.schedule_model)

    async def list_schedules_page(self, page: int = 1, per_page: int = 20, **filters: Any) -> Page[Any]:
        """One page of schedules."""
        return await self._page(self.prefix, filters or None, page, per_page, self.schedule_model)

    async def get_schedule(self, schedule_id: int) -> Any:
        """One schedule by its id (404 for another user's)."""
        return await self._get(f"{self.prefix}/{schedule_id}", model=self.schedule_model)

    async def _switch(self, schedule_id: int, action: str) -> Any:
        # Setting a flag to a fixed value (a repeated start only moves schedule_date to "now"
        # again): a repeat is harmless, so it is retried as an idempotent write.
        result = await self._write("POST", f"{self.prefix}/{schedule_id}/{action}", policy=Policy.IDEMPOTENT)
        return parse(self.schedule_model, result.data)
