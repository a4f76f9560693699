"""Resolving groups against the live account list (a pure function: the caller reads the list).

Selection rules, in order: ``all: true`` takes every account; each ``usernames`` pattern adds
the accounts it matches (``fashion_*``; a pattern without ``*``, ``?`` or ``[`` is an exact
username); each ``accounts`` item adds one account by username or numeric id; ``exclude``
then removes accounts by pattern, username or id. Usernames compare case-insensitively, as
Instagram's do.

An exact username or id that matches no live account is never skipped silently. A name close
to a live username (``accounts: [fashion_nvoa]``) that no earlier apply saw live is a typo, an
error in the playbook: it must not leave an account unmanaged, nor (in ``exclude``) manage one
meant to be left alone. Any other miss is an account that is gone (deleted in the panel):
`resolve_groups_lenient` reports it as a `GoneAccount`, a problem of that account alone, so
the fleet goes on. A
pattern that matches nothing is not an error (a niche may be empty today).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

from orchestrator.contract.accounts import Account, GoneAccount, accounts_of
from orchestrator.playbook.errors import Diagnostic, PlaybookError, closest
from orchestrator.playbook.model import Group
from orchestrator.playbook.positions import Position
from orchestrator.playbook.values import GLOB_CHARS


def resolve_groups(groups: Mapping[str, Group], accounts: Iterable[Any]) -> dict[str, list[Account]]:
    """The accounts each group selects, sorted by id.

    ``accounts`` is the live account list (API items, objects with ``id`` and ``username``, or
    `Account` values). Raises `PlaybookError` listing every explicit username or id, in every
    group, that matches no live account.
    """
    resolved, missing = _resolve(groups, accounts)
    problems = sorted((d for _, d in missing), key=lambda d: (d.file, d.line, d.col))
    if problems:
        raise PlaybookError(problems)
    return resolved


def resolve_groups_lenient(groups: Mapping[str, Group], accounts: Iterable[Any], known: Iterable[str] = ()
                           ) -> tuple[dict[str, list[Account]], list[GoneAccount], list[Diagnostic]]:
    """Like `resolve_groups`, but returns instead of raising: the members of each group, the
    accounts that are gone (per-account problems), and the typos (errors in the playbook).

    A name that matches no live account is a typo when it is close to a live username (and not
    in ``known``, the usernames an earlier apply saw live); otherwise the account is gone."""
    live = accounts_of(accounts)
    seen = {k.casefold() for k in known}
    resolved, missing = _resolve(groups, live)
    finder = _Finder(live)
    gone: list[GoneAccount] = []
    typos: list[Diagnostic] = []
    for (ref, group), diagnostic in missing:
        if isinstance(ref, int) or ref.casefold() in seen or finder.near(ref) is None:
            gone.append(GoneAccount(ref, group, str(diagnostic.position)))
        else:
            typos.append(diagnostic)
    return resolved, gone, typos


def _resolve(groups: Mapping[str, Group], accounts: Iterable[Any]
             ) -> tuple[dict[str, list[Account]], list[tuple[tuple[int | str, str], Diagnostic]]]:
    live = accounts_of(accounts)
    finder = _Finder(live)
    resolved: dict[str, list[Account]] = {}
    missing: list[tuple[tuple[int | str, str], Diagnostic]] = []
    for name, group in groups.items():
        members, found = _select(group, live, finder)
        resolved[name] = members
        missing += [((ref, name), diagnostic) for ref, diagnostic in found]
    return resolved, missing


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

