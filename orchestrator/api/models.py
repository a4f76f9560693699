"""Base types for response objects.

Models declare the documented fields and keep unknown ones (``extra="allow"``), so a server
that adds fields never breaks the client, and the raw answer stays reachable.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Page(BaseModel, Generic[T]):
    """One page of a page-numbered list."""

    items: list[T]
    total: int
    page: int
    per_page: int


def parse(model: type[Any] | None, value: Any) -> Any:
    """``value`` as ``model`` (a dict stays a dict when no model is given)."""
    if model is None or value is None:
        return value
    return model.model_validate(value)
