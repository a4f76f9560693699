"""Resolving groups against the live account list (a pure function: the caller reads the list).

Selection rules, in order: ``all: true`` takes every account; each ``usernames`` pattern adds
the accounts it matches (``fashion_*``; a pattern without ``*``, ``?`` or ``[`` is an exact
username); each ``accounts`` item adds one account by username or numeric id; ``exclude``
then removes accounts by pattern, username or id. Usernames compare case-insensitively, as
Instagram's do.

An exact username or id that matches no live account is never skipped silently. A name one
typo away from a live account (``accounts: [fashion_nvoa]``) is an error in the playbook: it
must not leave an account unmanaged, nor (in ``exclude``) manage one meant to be left alone.
Any other miss is an account that is gone (deleted in the panel): `resolve_groups_lenient`
reports it as a `GoneAccount`, a problem of that account alone, so the fleet goes on. A
pattern that matches nothing is not an error (a niche may be empty today).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.playbook.errors import Diagnostic, PlaybookError, closest
from orchestrator.playbook.model import Group
from orchestrator.playbook.positions import Position
from orchestrator.playbook.schema import GLOB_CHARS


@dataclass(frozen=True, order=True)
class Account:
    """A live account as selection needs it: ordered by id."""

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


@dataclass(frozen=True)
class GoneAccount:
    """An explicit username or id a group names that no live account has, and that is no
    typo of one: most likely deleted in the panel. ``diagnostic`` says where it is named."""

    ref: int | str
    group: str
    diagnostic: Diagnostic

    @property
    def label(self) -> str:
        return f"account id {self.ref}" if isinstance(self.ref, int) else str(self.ref)

    @property
    def problem(self) -> str:
        """What is wrong and what to do, for the account's line in a plan."""
        return (f"no such account on the server any more (named in group `{self.group}` at "
                f"{self.diagnostic.position}): if it was deleted, remove it from the group")

    def __str__(self) -> str:
        return f"{self.label}: {self.problem}"


def resolve_groups(groups: Mapping[str, Group], accounts: Iterable[Any]) -> dict[str, list[Account]]:
    """The accounts each group selects, sorted by id.

    ``accounts`` is the live account list (API items, objects with ``id`` and ``username``, or
    `Account` values). Raises `PlaybookError` listing every explicit username or id, in every
    group, that matches no live account.
    """
    resolved, gone, problems = resolve_groups_lenient(groups, accounts)
    problems = sorted([*problems, *(g.diagnostic for g in gone)], key=lambda d: (d.file, d.line, d.col))
    if problems:
        raise PlaybookError(problems)
    return resolved


def resolve_groups_lenient(groups: Mapping[str, Group], accounts: Iterable[Any]
                           ) -> tuple[dict[str, list[Account]], list[GoneAccount], list[Diagnostic]]:
    """Like `resolve_groups`, but returns instead of raising: the members of each group, the
    accounts that are gone (per-account problems), and the typos (errors in the playbook)."""
    live = accounts_of(accounts)
    finder = _Finder(live)
    resolved: dict[str, list[Account]] = {}
    problems: list[Diagnostic] = []
    gone: list[GoneAccount] = []
    for name, group in groups.items():
        members, found = _select(group, live, finder)
        resolved[name] = members
        for ref, diagnostic in found:
            if finder.near(ref) is None:
                gone.append(GoneAccount(ref, name, diagnostic))
            else:
                problems.append(diagnostic)
    return resolved, gone, problems


class _Finder:
    def __init__(self, live: list[Account]) -> None:
        self.live = live
        self.by_name = {a.username.casefold(): a for a in live}
        self.by_id = {a.id: a for a in live}

    def find(self, ref: int | str) -> Account | None:
        if isinstance(ref, int):
            return self.by_id.get(ref)
        return self.by_name.get(ref.casefold())

    def near(self, ref: int | str) -> str | None:
        """The live username ``ref`` is a likely typo of (ids have none)."""
        if isinstance(ref, int):
            return None
        return closest(ref.casefold(), self.by_name, cutoff=0.8)

    def missing(self, ref: int | str, where: Position, path: str, group: str) -> tuple[int | str, Diagnostic]:
        if isinstance(ref, int):
            ids = sorted(self.by_id)
            known = (f"the accounts' ids run from {ids[0]} to {ids[-1]}" if ids
                     else "the API key's user has no accounts")
            return ref, Diagnostic.at(where, f"no account has id {ref} (group `{group}`)", known, path=path)
        near = self.near(ref)
        hint = (f"did you mean `{self.by_name[near].username}`?" if near
                else "the API key's user has no account by that name")
        return ref, Diagnostic.at(where, f"account `{ref}` does not exist (group `{group}`)", hint, path=path)


def _is_glob(text: str) -> bool:
    return any(c in GLOB_CHARS for c in text)


def _matches(pattern: str, account: Account) -> bool:
    return fnmatch.fnmatchcase(account.username.casefold(), pattern.casefold())


def _select(group: Group, live: list[Account], finder: _Finder
            ) -> tuple[list[Account], list[tuple[int | str, Diagnostic]]]:
    spec = group.spec
    chosen: set[Account] = set(live) if spec.all else set()
    problems: list[tuple[int | str, Diagnostic]] = []

    def where(key: str, i: int) -> tuple[Position, str]:
        index, prefix = group.locator.index, group.locator.prefix
        listed = index.exists(prefix + (key, i))
        position = group.locator.at(key, i) if listed else group.locator.at(key)
        return position, f"groups.{group.name}.{key}" + (f"[{i}]" if listed else "")

    for key, refs in (("usernames", spec.usernames or ()), ("accounts", spec.accounts or ())):
        for i, ref in enumerate(refs):
            if isinstance(ref, str) and _is_glob(ref):
                chosen.update(a for a in live if _matches(ref, a))
                continue
            account = finder.find(ref)
            if account is None:
                problems.append(finder.missing(ref, *where(key, i), group.name))
            else:
                chosen.add(account)
    for i, ref in enumerate(spec.exclude or ()):
        if isinstance(ref, str) and _is_glob(ref):
            chosen.difference_update([a for a in chosen if _matches(ref, a)])
            continue
        account = finder.find(ref)
        if account is None:
            problems.append(finder.missing(ref, *where("exclude", i), group.name))
        else:
            chosen.discard(account)
    return sorted(chosen), problems

