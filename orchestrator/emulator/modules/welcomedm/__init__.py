"""Emulated Welcome DM module (``welcomedm``): greeting new followers by DM."""

from orchestrator.emulator.modules.welcomedm.models import tick
from orchestrator.emulator.modules.welcomedm.routes import router
from orchestrator.emulator.modules.welcomedm.seeding import seed_demo, seed_scale

__all__ = ["router", "seed_demo", "seed_scale", "tick"]
