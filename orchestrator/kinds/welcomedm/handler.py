"""Welcome DM: a greeting sent to new followers, one schedule per account, switched on or off."""

from orchestrator.contract import Kind
from orchestrator.kinds.toggles import ToggleKind


class WelcomeDmKind(ToggleKind):
    kind = Kind.WELCOMEDM
    resource = "welcomedm"
