"""The first_comment kind: First Comment. ``handler``: read, diff, operations, execute."""

from orchestrator.kinds.first_comment.handler import FirstCommentKind

__all__ = ["FirstCommentKind"]
