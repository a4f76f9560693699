"""What a renderer knows beyond the plan: the playbook's group and entry names, the live
usernames, drift, and the per-account problems, so that a change on 412 accounts reads
``fashion, fitness`` and says which entry asked for it.
"""

from __future__ import annotations

import bisect
import fnmatch
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

SHOWN_NAMES = 5  # usernames listed before "and N more"
EXCEPT_AT_MOST = 3  # "fashion except fashion_nova": for a group missing at most this many


@dataclass(frozen=True)
class Legend:
    """Names for sets of accounts and for sources.

    ``groups``: group name -> the usernames it selects live; ``entry_groups``: entry name -> the
    groups it selects (tried first when naming that entry's changes); ``entries``: file -> sorted
    (first line, entry name or None) of every entry and other top-level section, so a value's
    ``file:line`` tells which entry it came from; ``drift``: (account id, kind, path) of changes
    that undo drift; ``problems``: per-account problems, one line each.
    """

    groups: Mapping[str, frozenset[str]] = field(default_factory=dict)
    usernames: frozenset[str] = frozenset()
    entries: Mapping[str, Sequence[tuple[int, str | None, tuple[str, ...]]]] = field(default_factory=dict)
    drift: frozenset[tuple[int, str, str]] = frozenset()
    problems: tuple[str, ...] = ()

    @classmethod
    def of(cls, desired: Any = None, playbook: Any = None, *, drift: Iterable[tuple[int, str, str]] = (),
           problems: Iterable[Any] = ()) -> Legend:
        """A legend from a `DesiredState` (groups, live accounts) and a `Playbook` (entries)."""
        groups: dict[str, frozenset[str]] = {}
        usernames: frozenset[str] = frozenset()
        if desired is not None:
            groups = {name: frozenset(a.username for a in members) for name, members in desired.groups.items()}
            usernames = frozenset(a.username for a in desired.accounts.values())
        entries: dict[str, list[tuple[int, str | None, tuple[str, ...]]]] = {}
        if playbook is not None:
            for entry in playbook.entries:
                entries.setdefault(entry.source.file, []).append((entry.source.line, entry.spec.name, entry.groups))
            for block in playbook.captions:  # a top-level section after the entries belongs to none
                at = block.locator.at()
                entries.setdefault(at.file, []).append((at.line, None, ()))
            for marks in entries.values():
                marks.sort(key=lambda m: m[0])
        return cls(groups, usernames, entries, frozenset(drift), tuple(str(p) for p in problems))

    def entry_of(self, source: str | None) -> tuple[str | None, tuple[str, ...]]:
        """The name (or None) and groups of the entry a ``file:line:col`` source lies in."""
        if not source:
            return None, ()
        file, _, rest = source.rpartition(":")
        file, _, line_text = file.rpartition(":")
        marks = self.entries.get(file)
        if not marks or not line_text.isdigit():
            return None, ()
        i = bisect.bisect_right([m[0] for m in marks], int(line_text)) - 1
        if i < 0:
            return None, ()
        return marks[i][1], marks[i][2]

    def entry_name(self, source: str | None) -> str | None:
        return self.entry_of(source)[0]

    def name_accounts(self, names: Collection[str], source: str | None = None, shown: int = SHOWN_NAMES) -> str:
        """The accounts ``names``, compactly: the groups (the asking entry's first) and username
        globs that cover exactly some of them, then the first few of the rest and "and N more"."""
        target = set(names)
        if len(target) <= 1:
            return ", ".join(sorted(target))
        preferred = self.entry_of(source)[1]
        almost = self._all_but(target, preferred)
        if almost is not None:
            return almost
        parts: list[str] = []
        remaining = set(target)
        ranked = sorted(self.groups.items(), key=lambda g: (g[0] not in preferred, -len(g[1]), g[0]))
        for name, members in ranked:
            if len(members) > 1 and members <= target and members & remaining:
                parts.append(name)
                remaining -= members
            if not remaining:
                return ", ".join(parts)
        for glob in _globs(sorted(remaining)) if self.usernames else ():
            matched = {u for u in self.usernames if fnmatch.fnmatchcase(u, glob)}
            covered = {u for u in remaining if fnmatch.fnmatchcase(u, glob)}
            if len(covered) > 1 and matched <= target:
                parts.append(glob)
                remaining -= covered
        rest = sorted(remaining)
        parts += rest[:shown]
        if len(rest) > shown:
            parts[-1] += f" and {len(rest) - shown} more"
        return ", ".join(parts)


    def _all_but(self, target: set[str], preferred: Sequence[str]) -> str | None:
        """``everyone except a, b``: the smallest group holding every one of ``target`` and at
        most `EXCEPT_AT_MOST` others, fewer than half as many (the asking entry's groups first,
        on a tie)."""
        best: tuple[int, bool, str] | None = None
        for name, members in self.groups.items():
            extra = len(members) - len(target)
            # Only where it is shorter than naming the accounts: 5 accounts as "fitness except
            # fitness_burn, fitness_yoga", but 2 accounts by their names.
            if 0 < extra <= EXCEPT_AT_MOST and len(target) > max(SHOWN_NAMES - 2, 2 * extra) and target <= members:
                key = (len(members), name not in preferred, name)
                best = key if best is None or key < best else best
        if best is None:
            return None
        name = best[2]
        return f"{name} except " + ", ".join(sorted(self.groups[name] - target))


def _globs(usernames: Sequence[str]) -> list[str]:
    """``prefix_*`` for each prefix (before the first ``_``) the usernames share."""
    seen: dict[str, int] = {}
    for u in usernames:
        head, sep, _ = u.partition("_")
        if sep:
            seen[f"{head}_*"] = seen.get(f"{head}_*", 0) + 1
    return [g for g, n in seen.items() if n > 1]
