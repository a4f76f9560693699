"""Emulated InBox (module ``inbox``): unified threads across DMs, comments and reviews, replies, tags."""

from orchestrator.emulator.modules.inbox.demo import seed_demo
from orchestrator.emulator.modules.inbox.routes import router

__all__ = ["router", "seed_demo"]
