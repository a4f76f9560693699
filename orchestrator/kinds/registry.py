"""The kinds a plan or an apply knows: a `KindRegistry`, passed to the planner and the executor.

Passed in rather than imported as a module-level table, so a caller (an extension, a test)
can plan and apply with its own set of kinds without patching a global, and two runs with
different sets can share a process.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator

from orchestrator.contract import Kind
from orchestrator.kinds.account import AccountKind
from orchestrator.kinds.ai_dm import AiDmKind
from orchestrator.kinds.base import KindHandler, Memory
from orchestrator.kinds.captions import CaptionsKind
from orchestrator.kinds.first_comment import FirstCommentKind
from orchestrator.kinds.leads import LeadsKind
from orchestrator.kinds.posts import PostsKind
from orchestrator.kinds.reactions import ReactionsKind
from orchestrator.kinds.repost import RepostKind
from orchestrator.kinds.welcomedm import WelcomeDmKind


class KindRegistry:
    """Handlers by `Kind`, immutable once built."""

    def __init__(self, handlers: Iterable[KindHandler]) -> None:
        self._handlers: dict[Kind, KindHandler] = {}
        for handler in handlers:
            if handler.kind in self._handlers:
                raise ValueError(f"two handlers for kind {handler.kind}")
            self._handlers[handler.kind] = handler

    @classmethod
    def default(cls) -> KindRegistry:
        """Every kind the orchestrator manages."""
        return cls([AccountKind(), ReactionsKind(), RepostKind(), WelcomeDmKind(), AiDmKind(), LeadsKind(),
                    FirstCommentKind(), PostsKind(), CaptionsKind()])

    def __getitem__(self, kind: Kind) -> KindHandler:
        """The handler of ``kind``; `KeyError` for a kind this registry does not know."""
        return self._handlers[kind]

    def __contains__(self, kind: object) -> bool:
        return kind in self._handlers

    def __iter__(self) -> Iterator[Kind]:
        """The kinds known, in `Kind` order (the order plans report them)."""
        return iter(sorted(self._handlers, key=list(Kind).index))

    def __len__(self) -> int:
        return len(self._handlers)

    def remembering(self, memory: Memory) -> KindRegistry:
        """A copy whose handlers keep which server object is which in ``memory`` (the state
        database's, for an apply; a plan's read-only copy of it): see `KindHandler.memory`."""
        handlers = []
        for handler in self._handlers.values():
            handler = copy.copy(handler)
            handler.memory = memory
            handlers.append(handler)
        return KindRegistry(handlers)

    def with_handler(self, handler: KindHandler) -> KindRegistry:
        """A copy in which ``handler`` serves its kind (added, or replacing the one there was)."""
        return KindRegistry([*(h for k, h in self._handlers.items() if k != handler.kind), handler])
