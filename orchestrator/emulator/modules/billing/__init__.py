"""Emulated billing of the later revision: packages, the user's subscription, the wallet (core)."""

from orchestrator.emulator.modules.billing.routes import router

__all__ = ["router"]
