"""Emulated Reactions Pro (module ``reactions``): like/follow/unfollow engagement schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestrator.emulator.modules.reactions.models import REACTIONS
from orchestrator.emulator.modules.reactions.routes import router
from orchestrator.emulator.modules.reactions.seeding import seed_demo, seed_scale
from orchestrator.emulator.scheduler import run_pass
from orchestrator.emulator.state import EmulatorState


def tick(state: EmulatorState, now: datetime) -> dict[str, Any] | None:
    """One engine pass over the Reactions Pro schedules."""
    return run_pass(REACTIONS, state, now)


__all__ = ["router", "seed_demo", "seed_scale", "tick"]
