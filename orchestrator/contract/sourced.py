"""Where a desired value came from: `Position` and `Sourced`.

Every value a playbook asks for must be able to answer "which line asked for this?", so a
plan can print `growth.yaml:14:9` next to `likes_speed 2 -> 4`. The playbook package makes
these; the kinds read ``source`` to fill in a change's ``source``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

T_co = TypeVar("T_co", covariant=True)


@dataclass(frozen=True, order=True, slots=True)
class Position:
    """A place in a playbook file; ``line`` and ``col`` count from 1 (0 means "the whole file")."""

    file: str
    line: int
    col: int

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True, slots=True)
class Sourced(Generic[T_co]):
    """A desired value and the playbook position that asks for it (immutable, so a
    ``Sourced[str]`` is a ``Sourced[str | SecretRef]``: the type parameter is covariant)."""

    value: T_co
    source: Position

    @property
    def file(self) -> str:
        return self.source.file

    @property
    def line(self) -> int:
        return self.source.line

    @property
    def col(self) -> int:
        return self.source.col

    def __str__(self) -> str:
        return f"{self.value!r} ({self.source})"
