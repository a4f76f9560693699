"""Bounds on what loading one playbook may cost, whatever the file holds.

A playbook comes from a pull request, so its author may be hostile or simply wrong. Three
shapes of YAML cost far more than their size suggests, and each is refused before it does:

- a large file: read at most `MAX_FILE_BYTES` per file and `MAX_TOTAL_BYTES` in all (a real
  playbook is a few KiB);
- deep nesting (``[[[[...]]]]`` 10,000 levels): the YAML composer and our conversion recurse
  once per level, so a depth past `MAX_DEPTH` is refused before Python's recursion limit is met;
- aliases ("billion laughs": each level repeats the one before nine times): ruamel shares an
  aliased node, but every consumer of the document walks it once per reference, so the size
  that counts is the *expanded* one. `BoundedComposer` keeps, for every node it composes, its
  expanded size (itself, its children, and what its aliases stand for) and refuses a document
  past `MAX_EXPANDED_NODES` or `MAX_ALIASES` as soon as the running total passes it, without
  ever expanding anything.

ruamel has a ``max_depth`` of its own, but no bound on aliases; the composer below does both
with one message style.
"""

from __future__ import annotations

from typing import Any

from ruamel.yaml.composer import Composer
from ruamel.yaml.events import AliasEvent

#: Largest playbook file read, in bytes (1 MiB: about 25,000 lines; ruamel parses ~150 KB/s on a
#: busy machine, so this keeps an answer within seconds), and the most all files given together hold.
MAX_FILE_BYTES = 1024 * 1024
MAX_TOTAL_BYTES = 2 * MAX_FILE_BYTES
#: Deepest nesting of mappings and lists (a real playbook nests about 6 levels).
MAX_DEPTH = 64
#: Most alias references (``*name``, ``<<: *name``) in one file.
MAX_ALIASES = 10_000
#: Most nodes in one file once every alias is expanded.
MAX_EXPANDED_NODES = 250_000


class LimitExceeded(Exception):
    """A playbook passed one of the bounds above; ``line``/``col`` count from 1."""

    def __init__(self, line: int, col: int, message: str, hint: str) -> None:
        super().__init__(message)
        self.line, self.col, self.message, self.hint = line, col, message, hint


def _where(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


class BoundedComposer(Composer):
    """ruamel's composer, counting depth, aliases and the expanded size as it goes."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        # YAML lets an anchor be defined again (the later one counts); ruamel would warn on
        # stderr, which is not a diagnostic.
        self.warn_double_anchors = False
        self._level = 0
        self._aliases = 0
        self._expanded = 0
        self._sizes: dict[int, int] = {}  # id(node) -> expanded size; nodes live as long as the document

    def compose_document(self) -> Any:
        self._level, self._aliases, self._expanded, self._sizes = 0, 0, 0, {}
        return super().compose_document()

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.parser.check_event(AliasEvent):
            mark = self.parser.peek_event().start_mark
            node = super().compose_node(parent, index)
            self._aliases += 1
            if self._aliases > MAX_ALIASES:
                raise LimitExceeded(*_where(mark), f"more than {MAX_ALIASES:,} aliases in one playbook",
                                    "write the values out, or split the playbook into several files")
            size = self._sizes.get(id(node))
            if size is None:  # the anchored node is still being composed: it would contain itself
                raise LimitExceeded(*_where(mark), "an alias refers to a mapping or list that contains it",
                                    "a value cannot contain itself; repeat the values instead")
            self._grow(size, mark)
            return node
        mark = self.parser.peek_event().start_mark
        self._level += 1
        if self._level > MAX_DEPTH:
            raise LimitExceeded(*_where(mark), f"nesting deeper than {MAX_DEPTH} levels",
                                "a playbook nests a few levels; flatten the structure")
        before = self._expanded
        try:
            node = super().compose_node(parent, index)
        finally:
            self._level -= 1
        self._grow(1, mark)
        self._sizes[id(node)] = self._expanded - before
        return node

    def _grow(self, size: int, mark: Any) -> None:
        self._expanded += size
        if self._expanded > MAX_EXPANDED_NODES:
            raise LimitExceeded(*_where(mark),
                                f"the playbook expands to more than {MAX_EXPANDED_NODES:,} values (aliases included)",
                                "aliases repeat what they name: write the values out, or split the playbook")
