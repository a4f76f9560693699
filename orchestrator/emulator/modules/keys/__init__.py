"""Emulated API key management of the later revision (core: no module gate)."""

from orchestrator.emulator.modules.keys.routes import router

__all__ = ["router"]
