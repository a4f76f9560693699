"""Emulated Accounts and Account Actions (core: no module gate)."""

from orchestrator.emulator.modules.accounts.models import seed_demo
from orchestrator.emulator.modules.accounts.routes import router

__all__ = ["router", "seed_demo"]
