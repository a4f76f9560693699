"""Laying out an imported playbook: which entries say what, and the groups that select whom.

Pure: from the fragments ``live.read_fleet`` read to the groups and entries of a playbook.

* A **facet** is one thing an entry says about one kind: a Reactions Pro state, its settings,
  its targets, a first-comment schedule list... Each account has one value per facet.
* Accounts whose facets are all equal have an identical **configuration**: they always share
  every entry and, where one is needed, one group. Each facet value becomes part of one entry,
  selecting the accounts that have it; facets selecting the same accounts share an entry.
* Settings are patched field by field and a later entry overrides an earlier one, so the
  value most schedules have for each setting goes into one first entry, and an account's own
  entry lists only the fields where it differs. Entries are ordered from the most accounts to
  the fewest, which puts that shared entry before every entry that overrides it.
* A selection is written as ``all: true``, else a username pattern when one selects exactly
  those accounts and no other (``fashion_*``), else the configurations' groups, else a list of
  usernames.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from orchestrator.importer.live import LiveAccount, LiveFleet
from orchestrator.contract import KINDS, Kind, Shape
from orchestrator.contract.kinds import info, of_shape

SETTINGS_KINDS = of_shape(Shape.SCHEDULE)
LABELS = {i.kind: "account" if i.shape is Shape.ACCOUNT else i.label for i in KINDS}
# The order of keys inside one kind, as the README writes them.
PARTS = ("proxy", "state", "settings", "targets", "schedules")
SHARED_SETTINGS = "shared settings"  # the part name of the most common settings


@dataclass(frozen=True)
class Facet:
    kind: Kind
    part: str  # one of PARTS, SHARED_SETTINGS, or "" for a whole fragment (leads)
    value: str  # canonical JSON
    account: int | None = None  # set when the facet belongs to one account only

    @property
    def data(self) -> Any:
        return json.loads(self.value)


@dataclass
class Group:
    name: str
    selection: dict[str, Any]  # {"all": True} | {"usernames": pattern} | {"accounts": [usernames]}
    size: int
    comment: str | None = None


@dataclass
class Entry:
    name: str
    groups: list[str]
    kinds: dict[Kind, Any]
    size: int
    comment: str | None = None


@dataclass
class Layout:
    """The playbook to write, before it is YAML."""

    groups: list[Group] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    captions: dict[str, str] | None = None
    accounts: int = 0  # accounts the playbook manages
    configurations: int = 0  # distinct configurations among them
    secrets: list[str] = field(default_factory=list)  # environment variables to fill in


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def lay_out(fleet: LiveFleet, *, per_account: bool = False) -> Layout:
    """Groups and entries saying what ``fleet`` holds; ``per_account`` writes one entry per
    account instead, sharing nothing (long, for comparing accounts side by side)."""
    shared = {} if per_account else _shared_settings(fleet)
    facets: dict[int, list[Facet]] = {}
    for account_id, fragments in fleet.fragments.items():
        own = account_id if per_account else None
        found: list[Facet] = []
        for kind, fragment in fragments.items():
            found += _facets(kind, fragment, shared.get(kind), own)
        if found:
            facets[account_id] = found
    layout = Layout(captions=fleet.captions, accounts=len(facets))
    by_id = {a.id: a for a in fleet.accounts}
    namer = _Groups(fleet.accounts, layout)

    # Configurations: accounts with equal facets. Facets that only ever belong to one account
    # (an exact proxy, a secret reference) do not split them.
    configurations: dict[tuple[Facet, ...], set[int]] = {}
    for account_id, found in facets.items():
        signature = tuple(sorted((replace(f, account=None) for f in found if not _personal(f)), key=_facet_order))
        configurations.setdefault(signature, set()).add(account_id)
    layout.configurations = len(configurations)
    atom_of = {a: frozenset(ids) for ids in configurations.values() for a in ids}
    namer.atoms = sorted({frozenset(ids) for ids in configurations.values()},
                         key=lambda ids: min(by_id[a].username.casefold() for a in ids))

    # Each facet value selects the accounts that have it; facets selecting the same accounts share an entry.
    selects: dict[Facet, set[int]] = {}
    for account_id, found in facets.items():
        for facet in found:
            selects.setdefault(facet, set()).add(account_id)
    if shared:
        for kind, fields in shared.items():
            with_kind = {a for a, fragments in fleet.fragments.items() if kind in fragments and a in facets}
            selects[Facet(kind, SHARED_SETTINGS, _json(fields))] = with_kind
    together: dict[frozenset[int], list[Facet]] = {}
    for facet, selected in selects.items():
        together.setdefault(frozenset(selected), []).append(facet)

    order = sorted(together, key=lambda ids: (-len(ids), min(by_id[a].username.casefold() for a in ids)))
    for chosen in order:
        names = namer.select(chosen, atom_of, _hint(together[chosen]))
        kinds: dict[Kind, Any] = {}
        has_shared = False
        for facet in sorted(together[chosen], key=_facet_order):
            has_shared = has_shared or facet.part == SHARED_SETTINGS
            _merge(kinds, facet)
            proxy = facet.data.get("proxy") if facet.kind is Kind.ACCOUNT else None
            if isinstance(proxy, dict) and "env" in proxy:
                layout.secrets.append(proxy["env"])
        comment = None
        if has_shared:
            which = " and ".join(LABELS[k] for k in SETTINGS_KINDS if k in shared and k in kinds)
            comment = (f"The value most {which} schedules have for each setting; later entries change "
                       "it where an account differs (a later entry overrides an earlier one field by field).")
        layout.entries.append(Entry(_entry_name(names, kinds, has_shared), names, kinds, len(chosen), comment))
    layout.secrets.sort()
    return layout


def _facet_order(facet: Facet) -> tuple[int, int, str]:
    kinds = list(Kind)
    part = PARTS.index(facet.part) if facet.part in PARTS else (2 if facet.part == SHARED_SETTINGS else 9)
    return kinds.index(facet.kind), part, facet.value


def _personal(facet: Facet) -> bool:
    """An exact proxy or a secret reference: one account's own, whatever the rest of its configuration."""
    return facet.kind is Kind.ACCOUNT and facet.data != {"proxy": "auto"}


def _facets(kind: Kind, fragment: Any, shared: Mapping[str, Any] | None, own: int | None) -> list[Facet]:
    def facet(part: str, value: Any) -> Facet:
        return Facet(kind, part, _json(value), own)

    if kind is Kind.ACCOUNT:
        return [facet("proxy", fragment)]
    if kind in SETTINGS_KINDS:
        out = [facet("state", fragment["state"])]
        settings = {k: v for k, v in fragment["settings"].items()
                    if shared is None or k not in shared or _json(shared[k]) != _json(v)}
        if settings:
            out.append(facet("settings", settings))
        if fragment["targets"]:
            out.append(facet("targets", fragment["targets"]))
        return out
    if info(kind).shape is Shape.TOGGLE:
        return [facet("state", fragment["state"])]
    if kind is Kind.FIRST_COMMENT:
        return [facet("schedules", fragment["schedules"])]
    return [facet("", fragment)]  # leads: its whole value


def _shared_settings(fleet: LiveFleet) -> dict[Kind, dict[str, Any]]:
    """Per settings kind: each field every schedule has, at its most common value."""
    out: dict[Kind, dict[str, Any]] = {}
    for kind in SETTINGS_KINDS:
        all_settings = [kinds[kind]["settings"] for kinds in fleet.fragments.values() if kind in kinds]
        if len(all_settings) < 2:
            continue
        common = set.intersection(*(set(s) for s in all_settings))
        fields: dict[str, Any] = {}
        for name in sorted(common):
            counts = Counter(_json(s[name]) for s in all_settings)
            best = max(sorted(counts), key=lambda v: counts[v])  # ties: the first in a stable order
            fields[name] = json.loads(best)
        if fields:
            out[kind] = fields
    return out


def _merge(kinds: dict[Kind, Any], facet: Facet) -> None:
    value = facet.data
    if facet.kind is Kind.ACCOUNT or facet.part == "":
        kinds[facet.kind] = value
        return
    body = kinds.setdefault(facet.kind, {})
    if facet.part in ("state", "targets"):
        body[facet.part] = value
    elif facet.part == "schedules":
        body["schedules"] = value
    else:  # settings, shared or an account's own
        body.setdefault("settings", {}).update(value)


def _hint(facets: list[Facet]) -> str:
    """A group name saying what its entry sets: ``reactions-active``, ``proxy-auto``, ``repost-settings``."""
    first = min(facets, key=_facet_order)
    value = first.data
    if first.part == "state" or (first.kind is Kind.LEADS and isinstance(value, dict)):
        return f"{first.kind.value}-{value if isinstance(value, str) else value['state']}"
    if first.kind is Kind.ACCOUNT and value == {"proxy": "auto"}:
        return "proxy-auto"
    whole = "tasks" if info(first.kind).shape is Shape.TASKS else "calendar"  # a fragment said as one (leads, posts)
    return f"{first.kind.value}-{first.part or whole}".replace(" ", "-")


def _entry_name(groups: list[str], kinds: Mapping[Kind, Any], shared: bool) -> str:
    if shared:
        return "Settings most schedules share"
    who = ", ".join(groups[:3]) + (f" and {len(groups) - 3} more" if len(groups) > 3 else "")
    return f"{who}: {', '.join(LABELS[k] for k in kinds)}"


# -- groups --------------------------------------------------------------------------------
_NAME_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


_STEM = re.compile(r"^(.+?[_.-])")  # a username's first word and its separator: `fashion_`
_MAX_LISTED_GROUPS = 4  # an entry lists at most this many groups; more get a group of their own
_MAX_EXCLUDED = 10


class _Groups:
    """Names and selections of the groups the entries need, each made once."""

    def __init__(self, accounts: Iterable[LiveAccount], layout: Layout) -> None:
        self.accounts = sorted(accounts, key=lambda a: a.id)
        self.all_ids = frozenset(a.id for a in self.accounts)
        self.by_id = {a.id: a for a in self.accounts}
        self.layout = layout
        self.made: dict[frozenset[int], str] = {}
        self.names: set[str] = set()
        self.atoms: list[frozenset[int]] = []

    def select(self, ids: frozenset[int], atom_of: Mapping[int, frozenset[int]], hint: str = "accounts") -> list[str]:
        """The group names an entry for ``ids`` lists: one group, or the groups of the
        configurations it covers when they are few and cheaper to list than a new selection."""
        if ids in self.made:
            return [self.made[ids]]
        name, selection, cost = self.selection(ids, hint)
        atoms = sorted({atom_of[a] for a in ids}, key=self.atoms.index)
        if (1 < len(atoms) <= _MAX_LISTED_GROUPS and frozenset().union(*atoms) == ids
                and all(atom in self.made for atom in atoms) and cost > len(atoms)):
            return [self.made[atom] for atom in atoms]
        return [self._make(ids, name, selection)]

    def selection(self, ids: frozenset[int], hint: str) -> tuple[str, dict[str, Any], int]:
        """(name, selection, cost) of the shortest exact way to select ``ids``; the cost is
        the number of usernames and patterns it lists. A selection that is neither every
        account, one account nor one pattern is named after a configuration or ``hint``."""
        usernames = sorted((self.by_id[a].username for a in ids), key=str.casefold)
        if ids == self.all_ids:
            return "everyone", {"all": True}, 0
        if len(ids) == 1:
            return usernames[0], {"accounts": usernames}, 1
        pattern = self.pattern(ids)
        if pattern is not None:
            return _name_of(pattern), {"usernames": pattern}, 1
        options: list[tuple[int, str, dict[str, Any]]] = []
        # One pattern per username stem where it selects only accounts of ids: `fashion_*`.
        patterns: list[str] = []
        covered: set[int] = set()
        for stem in sorted({m[1] for u in usernames if (m := _STEM.match(u.casefold()))}):
            found = self.matching(stem + "*")
            if len(found) > 1 and found <= ids:
                patterns.append(stem + "*")
                covered |= found
        if patterns:
            rest = [self.by_id[a].username
                    for a in sorted(ids - covered, key=lambda a: self.by_id[a].username.casefold())]
            selection: dict[str, Any] = {"usernames": patterns[0] if len(patterns) == 1 else patterns}
            if rest:
                selection["accounts"] = rest
            options.append((len(patterns) + len(rest), "", selection))
        others = sorted((a.username for a in self.accounts if a.id not in ids), key=str.casefold)
        if len(others) <= _MAX_EXCLUDED:
            options.append((1 + len(others), "", {"all": True, "exclude": others}))
        options.append((len(ids), "", {"accounts": usernames}))
        cost, _, selection = min(options, key=lambda o: o[0])
        name = f"config-{self.atoms.index(ids) + 1:02d}" if ids in self.atoms else hint
        return name, selection, cost

    def matching(self, pattern: str) -> frozenset[int]:
        match = re.compile(fnmatch.translate(pattern.casefold())).match
        return frozenset(a.id for a in self.accounts if match(a.username.casefold()))

    def pattern(self, ids: frozenset[int]) -> str | None:
        """A username pattern that selects exactly ``ids`` among every account, if one does."""
        names = [self.by_id[a].username.casefold() for a in ids]
        prefix = os.path.commonprefix(names)
        suffix = os.path.commonprefix([n[::-1] for n in names])[::-1]
        shortest = min(len(n) for n in names)
        candidates = [prefix + "*"] if prefix else []
        if suffix:
            candidates.append("*" + suffix)
        if prefix and suffix and len(prefix) + len(suffix) <= shortest:
            candidates.append(prefix + "*" + suffix)
        for candidate in candidates:
            if any(c in "?[]" for c in candidate):
                continue  # a username with pattern characters cannot be a literal part of a pattern
            if self.matching(candidate) == ids:
                return candidate
        return None

    def _make(self, ids: frozenset[int], name: str, selection: dict[str, Any]) -> str:
        base = _NAME_CHARS.sub("_", name).strip("_.-") or "accounts"
        unique, n = base, 2
        while unique in self.names:
            unique, n = f"{base}-{n}", n + 1
        self.names.add(unique)
        self.made[ids] = unique
        same = ids in self.atoms and len(ids) > 1
        self.layout.groups.append(Group(unique, selection, len(ids),
                                        f"{len(ids)} accounts with the same configuration" if same else None))
        return unique


def _name_of(pattern: str) -> str:
    return pattern.replace("*", "_").strip("_.-")
