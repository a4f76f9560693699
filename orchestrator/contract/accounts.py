"""The live account as the engine sees it (an id and a username), and the caption library.

The caption library belongs to the API key's user, not to an account; plans, policy and the
executor treat it as one more "account" whose id is `LIBRARY_ID`, so that it needs no special
case of its own in a lane, a wave or a saved plan (where it is written as ``account_id: 0``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


class LiveAccount(Protocol):
    """What the planner knows of a live account beyond its name, as the API's account list gives
    it (``orchestrator.api.resources.accounts.Account`` is one): the facts the blocker rules
    and the account kind read. ``None`` is "the server did not say"."""

    @property
    def id(self) -> int: ...
    @property
    def username(self) -> str: ...
    @property
    def login_required(self) -> bool | None: ...
    @property
    def is_active(self) -> bool | None: ...
    @property
    def proxy(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """A live account as the planner keeps it: the `LiveAccount` facts only. The API's account
    item (a pydantic model with every field the server sent) is about 1.7 KB; a fleet's list
    of them was a fifth of a 100,000-account plan's memory."""

    id: int
    username: str
    login_required: bool | None = None
    is_active: bool | None = None
    proxy: str | None = None

    @classmethod
    def of(cls, item: Any) -> AccountRecord:
        """The record of an API account item (or of anything with those attributes)."""
        if isinstance(item, AccountRecord):
            return item
        return cls(item.id, item.username, getattr(item, "login_required", None),
                   getattr(item, "is_active", None), getattr(item, "proxy", None))


@dataclass(frozen=True, order=True, slots=True)
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


@dataclass(frozen=True)
class GoneAccount:
    """An account a group names (``ref``, a username or an id) that the live list no longer
    has, and that is no typo of one: deleted in the panel, most likely. A problem of that
    account alone; ``named_at`` is the ``file:line:col`` where the group names it."""

    ref: int | str
    group: str
    named_at: str

    @property
    def label(self) -> str:
        return f"account id {self.ref}" if isinstance(self.ref, int) else str(self.ref)

    @property
    def problem(self) -> str:
        """What is wrong and what to do."""
        return (f"no such account on the server any more (named in group `{self.group}` at {self.named_at}): "
                "if it was deleted, remove it from the group")

    def __str__(self) -> str:
        return f"{self.label}: {self.problem}"


def accounts_of(accounts: Iterable[Any]) -> list[Account]:
    """The live accounts as `Account` values, sorted by id."""
    return sorted({Account.of(a) for a in accounts})


#: The account id that stands for the API key's user's own resources (the caption library).
LIBRARY_ID = 0
#: The caption library, as an `Account`: what the captions kind's changes belong to.
LIBRARY = Account(LIBRARY_ID, "(caption library)")
