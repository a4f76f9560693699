"""Emulated Repost Pro (module ``repost-pro``): repost schedules, their sources and logs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestrator.emulator.modules.repost.models import REPOST
from orchestrator.emulator.modules.repost.routes import router
from orchestrator.emulator.modules.repost.seeding import seed_demo, seed_scale
from orchestrator.emulator.scheduler import run_pass
from orchestrator.emulator.state import EmulatorState


def tick(state: EmulatorState, now: datetime) -> dict[str, Any] | None:
    """One engine pass over the Repost Pro schedules."""
    return run_pass(REPOST, state, now)


__all__ = ["router", "seed_demo", "seed_scale", "tick"]
