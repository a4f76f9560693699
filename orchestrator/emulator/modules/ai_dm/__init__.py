"""Emulated AI-DM module (``ai-dm``): OpenAI-written replies to an account's DM threads."""

from orchestrator.emulator.modules.ai_dm.models import tick
from orchestrator.emulator.modules.ai_dm.routes import router
from orchestrator.emulator.modules.ai_dm.seeding import seed_demo

__all__ = ["router", "seed_demo", "tick"]
