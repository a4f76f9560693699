"""The captions kind: The caption library. ``handler``: read, diff, operations, execute."""

from orchestrator.kinds.captions.handler import CaptionsKind

__all__ = ["CaptionsKind"]
