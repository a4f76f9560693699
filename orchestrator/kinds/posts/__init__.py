"""The posts kind: Posts, a content calendar. ``handler``: read, diff, operations, execute, and
how a post on the server is recognised as the playbook's."""

from orchestrator.kinds.posts.handler import PostsKind

__all__ = ["PostsKind"]
