"""The simulated automation engine: what the server's cron does when time passes.

Each module may define ``tick(state, now)``; a tick runs every module's, in one transaction.
Schedule-driven modules tick through the one scheduler (``scheduler.run_pass``), which holds
the open-source engine's rules: due items oldest ``last_action_date`` first, the next
``schedule_date`` set before acting (so a crash never acts twice), switch-offs with a log.
Speed sets the delay between actions (about 3600/n seconds for n actions an hour).
"""

from __future__ import annotations

from typing import Any

from orchestrator.emulator.state import EmulatorState

# Approximate actions per hour for speed 1..5, from the reference's speed table.
ACTIONS_PER_HOUR = {1: 8, 2: 25, 3: 60, 4: 115, 5: 200}
REPOST_SPEEDS = {"very_slow": 1, "slow": 2, "medium": 3, "fast": 4, "very_fast": 5}


def interval_seconds(speed: int | str) -> float:
    """Seconds between two actions at ``speed`` (1..5 or a Repost Pro speed name)."""
    level = REPOST_SPEEDS.get(speed, 2) if isinstance(speed, str) else int(speed)
    return 3600 / ACTIONS_PER_HOUR.get(level, 25)


def run_tick(state: EmulatorState) -> dict[str, Any]:
    """Run one engine pass over every module at the clock's current time."""
    from orchestrator.emulator.modules import MODULES  # late: modules use this file's helpers

    now = state.clock.now()
    report: dict[str, Any] = {}
    with state.store.transaction():
        for module in MODULES:
            tick = getattr(module, "tick", None)
            if tick is not None:
                done = tick(state, now)
                if done:
                    report[module.__name__.rsplit(".", 1)[-1]] = done
    return report
