"""``Resource``: what every module's resource class builds on.

Reads check what they turn into objects: a model's fields (``_get`` with a model), a list
page's shape (``_page``, ``pagination``), and, in the resources that read raw ``data``, the
type it must have (``_expect``). An answer that is not so is `UnexpectedAnswer`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar

from pydantic import ValidationError

from orchestrator.api import pagination
from orchestrator.api.envelope import kind_of
from orchestrator.api.errors import UnexpectedAnswer
from orchestrator.api.models import Page
from orchestrator.api.retry import Policy
from orchestrator.api.transport import Readback, Result, Transport

M = TypeVar("M")


class Resource:
    def __init__(self, transport: Transport) -> None:
        self._t = transport

    async def _get(self, path: str, params: dict[str, Any] | None = None, model: type[M] | None = None) -> Any:
        result = await self._t.call("GET", path, params=params)
        if model is None:
            return result.data
        if not isinstance(result.data, dict):  # said as every other read says a shape it did not expect
            raise UnexpectedAnswer(
                f"data that is {kind_of(result.data)} where {pagination.article(model.__name__)} belongs",
                method="GET", path=path, status=result.status)
        try:
            return model.model_validate(result.data)  # type: ignore[attr-defined]
        except ValidationError as exc:
            raise UnexpectedAnswer(
                f"data that is not {pagination.article(model.__name__)} ({pagination.describe(exc)})",
                method="GET", path=path, status=result.status) from None

    async def _expect(self, path: str, params: dict[str, Any] | None, types: type | tuple[type, ...],
                      shape: str) -> Any:
        """``data`` of a GET, which must be of ``types`` (``shape`` says what, in words)."""
        result = await self._t.call("GET", path, params=params)
        if not isinstance(result.data, types):
            raise UnexpectedAnswer(f"data that is {kind_of(result.data)} where {shape} belongs",
                                   method="GET", path=path, status=result.status)
        return result.data

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
        data = await self._page_data(path, params, page, per_page)
        return Page[model](  # type: ignore[valid-type]
            items=pagination.checked_items(data["items"], model, path, page),
            total=data["total"], page=data["page"], per_page=data["per_page"],
        )

    async def _page_data(self, path: str, params: dict[str, Any] | None, page: int, per_page: int) -> dict[str, Any]:
        """One page of a list, checked as ``pagination.page_data`` checks every page."""
        result = await self._t.call("GET", path, params={**(params or {}), "page": page, "per_page": per_page})
        return pagination.page_data(result, path, page)

    def _all(self, path: str, params: dict[str, Any] | None = None, model: type[M] | None = None) -> AsyncIterator[M]:
        return pagination.items(self._t, path, params, model=model)

    def _cursor(
        self, path: str, key: str, params: dict[str, Any] | None = None, model: type[M] | None = None
    ) -> AsyncIterator[M]:
        return pagination.cursor_items(self._t, path, key, params, model=model)
