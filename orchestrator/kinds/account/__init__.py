"""The account kind: The account itself (proxy, password). ``handler``: read, diff, operations, execute."""

from orchestrator.kinds.account.handler import AccountKind

__all__ = ["AccountKind"]
