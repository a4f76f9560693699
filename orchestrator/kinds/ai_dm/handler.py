"""AI-DM: replies written by a model, one schedule per account, switched on or off."""

from orchestrator.contract import Kind
from orchestrator.kinds.toggles import ToggleKind


class AiDmKind(ToggleKind):
    kind = Kind.AI_DM
    resource = "ai_dm"
