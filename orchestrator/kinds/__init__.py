"""The managed kinds, one module each; a `KindRegistry` maps a `Kind` to its handler.

Adding a kind: write ``kinds/<name>.py`` with a `KindHandler` subclass (see ``kinds/base.py``),
add its `Kind` to ``contract/kinds.py`` and its handler to `KindRegistry.default`.
"""

from orchestrator.kinds.account import AccountKind
from orchestrator.kinds.base import (
    FleetReadFailed,
    KindHandler,
    LibraryReadFailed,
    Op,
    Operation,
    Problem,
    ReadContext,
    ReadResult,
)
from orchestrator.kinds.captions import CaptionsKind
from orchestrator.kinds.first_comment import FirstCommentKind
from orchestrator.kinds.leads import LeadsKind
from orchestrator.kinds.reactions import ReactionsKind
from orchestrator.kinds.registry import KindRegistry
from orchestrator.kinds.repost import RepostKind
from orchestrator.kinds.toggles import AiDmKind, WelcomeDmKind

__all__ = [
    "AccountKind", "AiDmKind", "CaptionsKind", "FirstCommentKind", "FleetReadFailed", "KindHandler", "KindRegistry",
    "LeadsKind", "LibraryReadFailed", "Op", "Operation", "Problem", "ReactionsKind", "ReadContext", "ReadResult",
    "RepostKind", "WelcomeDmKind",
]
