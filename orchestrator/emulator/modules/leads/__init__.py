"""Emulated Leads Finder (module ``parser``): scraping schedules, their exported leads, logs and stats."""

from orchestrator.emulator.modules.leads.models import seed_demo, tick
from orchestrator.emulator.modules.leads.routes import router

__all__ = ["router", "seed_demo", "tick"]
