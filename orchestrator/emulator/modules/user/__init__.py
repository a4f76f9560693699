"""Emulated user profile, dashboard and statistics of the later revision (core: no module gate)."""

from orchestrator.emulator.modules.user.routes import router

__all__ = ["router"]
