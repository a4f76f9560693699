"""Emulated Caption Library (core: no module gate)."""

from orchestrator.emulator.modules.captions.models import seed_demo
from orchestrator.emulator.modules.captions.routes import router

__all__ = ["router", "seed_demo"]
