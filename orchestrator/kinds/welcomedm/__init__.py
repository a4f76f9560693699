"""The welcomedm kind: Welcome DM. ``handler``: read, diff, operations, execute."""

from orchestrator.kinds.welcomedm.handler import WelcomeDmKind

__all__ = ["WelcomeDmKind"]
