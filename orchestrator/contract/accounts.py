"""The live account as the engine sees it: an id and a username."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class Account:
    """A live account as selection and planning need it: ordered by id."""

    id: int
    username: str

    @classmethod
    def of(cls, value: Any) -> Account:
        """An `Account` from an API item (a mapping with ``id`` and ``username``), an object
        with those attributes, or an `Account`."""
        if isinstance(value, Account):
            return value
        if isinstance(value, Mapping):
            return cls(int(value["id"]), str(value["username"]))
        return cls(int(value.id), str(value.username))

    def __str__(self) -> str:
        return f"{self.username} ({self.id})"


def accounts_of(accounts: Iterable[Any]) -> list[Account]:
    """The live accounts as `Account` values, sorted by id."""
    return sorted({Account.of(a) for a in accounts})
