"""The reactions kind: Reactions Pro. ``handler``: read, diff, operations, execute."""

from orchestrator.kinds.reactions.handler import ReactionsKind

__all__ = ["ReactionsKind"]
