"""Emulated Post Actions (module ``post-actions-api``): like / comment / follow jobs run by the engine."""

from orchestrator.emulator.modules.post_actions.models import seed_demo, tick
from orchestrator.emulator.modules.post_actions.routes import router

__all__ = ["router", "seed_demo", "tick"]
