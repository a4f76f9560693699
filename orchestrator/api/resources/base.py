"""``Resource``: what every module's resource class builds on."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar

from orchestrator.api import pagination
from orchestrator.api.models import Page, parse
from orchestrator.api.retry import Policy
from orchestrator.api.transport import Readback, Result, Transport

M = TypeVar("M")


class Resource:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def _get(self, path: str, params: dict[str, Any] | None = None, model: type[M] | None = None) -> Any:
        return parse(model, (await self._t.call("GET", path, params=params)).data)

    async def _write(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        files: Any = None,
        policy: Policy,
        readback: Readback | None = None,
    ) -> Result:
        return await self._t.call(method, path, json=json, files=files, policy=policy, readback=readback)

    async def _page(
        self, path: str, params: dict[str, Any] | None, page: int, per_page: int, model: type[M]
    ) -> Page[M]:
        data = await self._get(path, {**(params or {}), "page": page, "per_page": per_page})
        return Page[model](  # type: ignore[valid-type]
            items=[parse(model, i) for i in data.get("items", [])],
            total=data.get("total", 0), page=data.get("page", page), per_page=data.get("per_page", per_page),
        )

    def _all(self, path: str, params: dict[str, Any] | None = None, model: type[M] | None = None) -> AsyncIterator[M]:
        return pagination.items(self._t, path, params, model=model)

    def _cursor(
        self, path: str, key: str, params: dict[str, Any] | None = None, model: type[M] | None = None
    ) -> AsyncIterator[M]:
        return pagination.cursor_items(self._t, path, key, params, model=model)
