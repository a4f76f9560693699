"""Emulated proxy listing of the later revision (core: no module gate)."""

from orchestrator.emulator.modules.proxies.routes import router

__all__ = ["router"]
