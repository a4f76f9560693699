"""Emulated First Comment module (``first-comment``): first comments on big accounts' posts."""

from orchestrator.emulator.modules.first_comment.models import tick
from orchestrator.emulator.modules.first_comment.routes import router
from orchestrator.emulator.modules.first_comment.seeding import seed_demo, seed_scale

__all__ = ["router", "seed_demo", "seed_scale", "tick"]
