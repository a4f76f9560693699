"""A faithful local emulator of the Sharingtools REST API v1.

Layout follows moto: each API module under ``modules/`` splits into ``models``
(state and rules, no HTTP) and ``routes`` (parse, call, envelope). The core
(``store``, ``auth``, ``clock``, ``faults``, ``control``) is shared. The emulator
imports nothing from the orchestrator's own layers, so it can be lifted out.
"""

from orchestrator.emulator.app import create_app
from orchestrator.emulator.state import EmulatorState

__all__ = ["EmulatorState", "create_app"]
