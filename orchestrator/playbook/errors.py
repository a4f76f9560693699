"""Diagnostics and the one exception of the playbook layer.

    Exception
     └── PlaybookError          a playbook cannot be used; carries every Diagnostic found
    Diagnostic                  one problem at file:line:col, with a hint (a value, not raised)

Diagnostics are the user interface of ``orchestrator validate`` and of a failed ``plan``: each
says where (``file:line:col``), what (naming the offending key), and, where one exists, how to
fix it ("did you mean `speed`?"). They never quote a secret's value.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from orchestrator.playbook.positions import Position


@dataclass(frozen=True)
class Diagnostic:
    """One problem in a playbook.

    ``line`` and ``col`` count from 1; 0 means the problem concerns the whole file (a file that
    does not exist, a directory without playbooks). ``path`` is the dotted key path of the
    offending node (``entries[0].reactions.settings.speed``) for machine-readable output.
    """

    file: str
    line: int
    col: int
    message: str
    hint: str | None = None
    path: str = ""

    @classmethod
    def at(cls, position: Position, message: str, hint: str | None = None, path: str = "") -> Diagnostic:
        return cls(position.file, position.line, position.col, message, hint, path)

    @property
    def position(self) -> Position:
        return Position(self.file, self.line, self.col)

    def __str__(self) -> str:
        text = f"{self.position}: {self.message}"
        return f"{text}; {self.hint}" if self.hint else text


class PlaybookError(Exception):
    """A playbook is invalid, or does not fit the live accounts; ``diagnostics`` says why."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics: tuple[Diagnostic, ...] = tuple(diagnostics)
        count = len(self.diagnostics)
        head = f"{count} problem{'s' if count != 1 else ''} in the playbook"
        super().__init__("\n".join([head, *(str(d) for d in self.diagnostics)]))


def did_you_mean(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """``"did you mean `speed`?"`` for the closest choice, or None when nothing is close."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return f"did you mean `{matches[0]}`?" if matches else None


def closest(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice closest to ``word``, or None."""
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=cutoff)
    return matches[0] if matches else None


def one_edit_apart(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with one character inserted, deleted, replaced, or two adjacent
    characters swapped: the typos a person makes, as opposed to a different word."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next((i for i in range(len(short)) if short[i] != long[i]), len(short))
    return short[i:] == long[i + 1:]


def one_of(choices: Iterable[object]) -> str:
    """```a`, `b` or `c``` for messages."""
    items = [f"`{c}`" for c in choices]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def sort_diagnostics(diagnostics: Iterable[Diagnostic], file_order: Iterable[str] = ()) -> list[Diagnostic]:
    """Deduplicated, in file order (as loaded), then line, then column."""
    rank = {name: i for i, name in enumerate(file_order)}
    unique = dict.fromkeys(diagnostics)
    return sorted(unique, key=lambda d: (rank.get(d.file, len(rank)), d.file, d.line, d.col, d.message))
