"""Emulated Media Upload (core: no module gate)."""

from orchestrator.emulator.modules.media.models import seed_demo
from orchestrator.emulator.modules.media.routes import router

__all__ = ["router", "seed_demo"]
