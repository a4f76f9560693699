"""The ai_dm kind: AI-DM. ``handler``: read, diff, operations, execute."""

from orchestrator.kinds.ai_dm.handler import AiDmKind

__all__ = ["AiDmKind"]
