"""The query parameters of the status page: parsed, checked, and written back as URLs.

Every view is a URL that can be shared, so every parameter is checked, and a wrong one is a
400 that says what is accepted (a typo in a bookmarked link, a hand-edited page number),
never a 500 or a silently ignored filter. An empty value means "any": the filter form,
which works without JavaScript, sends every field, the unused ones empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from urllib.parse import urlencode

from orchestrator.contract import ACCOUNT_KINDS
from orchestrator.contract.vocabulary import AccountState
from orchestrator.plan.blocked import REASONS
from orchestrator.status.queries import SORTS, AccountFilter

ACCOUNT_PARAMS = ("state", "kind", "group", "reason", "q", "sort", "page", "per_page")
PAGE_PARAMS = ("page", "per_page")
MAX_PER_PAGE = 200
MAX_QUERY = 100
DEFAULT = AccountFilter()


class BadRequest(Exception):
    """A parameter the page cannot take: ``str(exc)`` says which and what it accepts."""


def _or(values: Iterable[str]) -> str:
    items = list(values)
    return ", ".join(items[:-1]) + " or " + items[-1] if len(items) > 1 else "".join(items)


def _single(params: Mapping[str, list[str]], allowed: tuple[str, ...]) -> dict[str, str]:
    """One value per parameter, unknown parameters refused; empty values dropped."""
    out: dict[str, str] = {}
    for name, values in params.items():
        if name not in allowed:
            raise BadRequest(f"unknown parameter {name!r}: use {_or(allowed)}")
        if len(values) > 1:
            raise BadRequest(f"give {name!r} once (it was given {len(values)} times)")
        if values[0].strip():
            out[name] = values[0].strip()
    return out


def _number(name: str, text: str, low: int, high: int | None = None) -> int:
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name} {text!r} is not a whole number") from None
    if value < low or (high is not None and value > high):
        bounds = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise BadRequest(f"{name} {value} is out of range: {bounds}")
    return value


def _one_of(name: str, text: str, choices: Iterable[str]) -> str:
    options = list(choices)
    if text not in options:
        raise BadRequest(f"{name} {text!r} is not one of: {', '.join(options)}")
    return text


def page_of(params: Mapping[str, list[str]], per_page: int = 25) -> tuple[int, int]:
    """``page`` and ``per_page`` of a list that takes nothing else (the runs)."""
    given = _single(params, PAGE_PARAMS)
    return (_number("page", given.get("page", "1"), 1),
            _number("per_page", given.get("per_page", str(per_page)), 1, MAX_PER_PAGE))


def account_filter(params: Mapping[str, list[str]], groups: Callable[[], list[str]]) -> AccountFilter:
    """The accounts table's filter from a query string's parameters (name -> values);
    ``groups`` gives the known group names (read only when a group is asked for)."""
    given = _single(params, ACCOUNT_PARAMS)
    f = DEFAULT
    if "state" in given:
        f = replace(f, state=_one_of("state", given["state"], [s.value for s in AccountState]))
    if "kind" in given:
        f = replace(f, kind=_one_of("kind", given["kind"], [k.value for k in ACCOUNT_KINDS]))
    if "reason" in given:
        f = replace(f, reason=_one_of("reason", given["reason"], REASONS))
    if "group" in given:
        known = groups()
        if given["group"] not in known:
            shown = ", ".join(known[:30]) + (f" (and {len(known) - 30} more)" if len(known) > 30 else "")
            raise BadRequest(f"no account is in a group {given['group']!r}: the groups are {shown or '(none yet)'}")
        f = replace(f, group=given["group"])
    if "q" in given:
        if len(given["q"]) > MAX_QUERY:
            raise BadRequest(f"q is {len(given['q'])} characters long: {MAX_QUERY} at most")
        f = replace(f, q=given["q"])
    if "sort" in given:
        name = given["sort"]
        key = name.removeprefix("-")
        if key not in SORTS:
            raise BadRequest(f"sort {name!r}: use {_or(SORTS)}, with - before it for descending (sort=-since)")
        f = replace(f, sort=key, descending=name.startswith("-"))
    if "page" in given:
        f = replace(f, page=_number("page", given["page"], 1))
    if "per_page" in given:
        f = replace(f, per_page=_number("per_page", given["per_page"], 1, MAX_PER_PAGE))
    return f


def query_of(f: AccountFilter, **changes: object) -> str:
    """The query string of ``f`` with ``changes`` (``page=2``, ``state=None``), defaults left
    out, so that links stay short and one view has one URL."""
    values: dict[str, object] = {"state": f.state, "kind": f.kind, "group": f.group, "reason": f.reason, "q": f.q,
              "sort": ("-" if f.descending else "") + f.sort, "page": f.page, "per_page": f.per_page}
    values.update(changes)
    defaults = {"sort": DEFAULT.sort, "page": DEFAULT.page, "per_page": DEFAULT.per_page}
    kept = [(k, str(v)) for k, v in values.items() if v not in (None, "") and defaults.get(k) != v]
    return urlencode(kept)
