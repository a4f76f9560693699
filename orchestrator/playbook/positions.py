"""Where a playbook value came from: the index that remembers the `Position` of every node.

Every value a playbook asks for must be able to answer "which line asked for this?", so a
plan can print `growth.yaml:14:9` next to `likes_speed 2 -> 4`. The loader turns YAML into
plain Python values (what pydantic validates) in which each mapping and list (`NodeMap`,
`NodeList`) also remembers where its children's values start: the models keep those positions
with the values (`orchestrator.playbook.sourcing`), so the merge gets `Sourced` values as they
were validated. Beside the data, a `PositionIndex` maps the path of each node
(``("entries", 0, "reactions", "settings", "likes_speed")``) to the place of its key and of its
value: what a diagnostic needs when all it has is a path (a pydantic error's location, a key).
`Position` and `Sourced` themselves are part of the engine's contract (`orchestrator.contract`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.contract.sourced import Position


#: A path into a YAML document: mapping keys and list indices, outermost first.
Path = tuple[str | int, ...]


class NodeMap(dict[Any, Any]):
    """A YAML mapping as a plain ``dict`` (what pydantic validates), with the position where
    each key's value starts: the models keep those positions with the values they validate
    (see `orchestrator.playbook.sourcing`)."""

    __slots__ = ("positions",)

    def __init__(self) -> None:
        super().__init__()
        self.positions: dict[Any, Position] = {}


class NodeList(list[Any]):
    """A YAML list as a plain ``list``, with the position where each item starts."""

    __slots__ = ("positions",)

    def __init__(self) -> None:
        super().__init__()
        self.positions: list[Position] = []


@dataclass(frozen=True)
class Place:
    """Where one node sits: its key (None for list items and the document) and its value."""

    key: Position | None
    value: Position


@dataclass
class PositionIndex:
    """Positions of every node of one YAML document, by path."""

    file: str
    places: dict[Path, Place] = field(default_factory=dict)

    def add(self, path: Path, key: Position | None, value: Position) -> None:
        self.places[path] = Place(key, value)

    def place(self, path: Path) -> Place:
        """The place of ``path``, or of its nearest ancestor that exists.

        Paths that validation invents (a short-form target normalised to ``type``/``value``)
        have no node of their own; their closest real ancestor is the honest answer.
        """
        while path not in self.places and path:
            path = path[:-1]
        return self.places.get(path) or Place(None, Position(self.file, 1, 1))

    def value_at(self, path: Path) -> Position:
        """Position of the value at ``path`` (falling back to the nearest ancestor)."""
        return self.place(path).value

    def key_at(self, path: Path) -> Position:
        """Position of the key at ``path``; the value's position for list items."""
        place = self.place(path)
        return place.key or place.value

    def exists(self, path: Path) -> bool:
        return path in self.places


@dataclass(frozen=True)
class Locator:
    """A view of a `PositionIndex` below one node, such as one entry of ``entries:``."""

    index: PositionIndex
    prefix: Path

    def at(self, *path: str | int) -> Position:
        """Position of the value at ``prefix + path``."""
        return self.index.value_at(self.prefix + path)

    def key_at(self, *path: str | int) -> Position:
        """Position of the key at ``prefix + path``."""
        return self.index.key_at(self.prefix + path)

    def child(self, *path: str | int) -> Locator:
        return Locator(self.index, self.prefix + path)


def format_path(path: Path) -> str:
    """``("groups", "fashion", "usernames", 0)`` -> ``groups.fashion.usernames[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def walk(data: object, path: Path = ()) -> Iterator[tuple[Path, object]]:
    """Every (path, value) below ``data`` (not ``data`` itself), depth first, in document order."""
    if isinstance(data, Mapping):
        children: Iterator[tuple[str | int, object]] = iter(data.items())
    elif isinstance(data, list):
        children = iter(enumerate(data))
    else:
        return
    for key, value in children:
        here = path + (key,)
        yield here, value
        yield from walk(value, here)
