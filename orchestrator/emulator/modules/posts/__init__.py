"""Emulated Posts and the publishing engine (core: no module gate)."""

from orchestrator.emulator.modules.posts.models import seed_demo, tick
from orchestrator.emulator.modules.posts.routes import router

__all__ = ["router", "seed_demo", "tick"]
