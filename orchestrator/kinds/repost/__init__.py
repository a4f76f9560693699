"""The repost kind: Repost Pro. ``handler``: read, diff, operations, execute."""

from orchestrator.kinds.repost.handler import RepostKind

__all__ = ["RepostKind"]
