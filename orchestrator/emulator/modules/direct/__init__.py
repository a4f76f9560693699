"""Emulated Direct Basic (module ``direct-basic``): native Instagram DM inbox, requests and messages."""

from orchestrator.emulator.modules.direct.demo import seed_demo
from orchestrator.emulator.modules.direct.routes import router

__all__ = ["router", "seed_demo"]
