"""Cron helpers shared by the schedule-driven messaging modules (Welcome DM, AI-DM, First Comment).

Every one of these modules runs the same way in the server's engine (see ``engine.py`` and
api-gaps.md): pick the active schedules whose ``schedule_date`` has come and whose
``end_date`` has not passed, oldest ``last_action_date`` first, a bounded batch per run;
switch off the ones whose account or plan can no longer run them; respect the daily pause
window. The three modules import it from here.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from orchestrator.emulator.state import EmulatorState
from orchestrator.emulator.store import Doc, Table

# "A few per run": bounds the work of one tick in a 10,000-account world.
MAX_SCHEDULES_PER_TICK = 200


class CronRun:
    """One module's view of one engine pass: the time, and owner/account facts loaded once."""

    def __init__(self, state: EmulatorState, now: datetime, module: str) -> None:
        self.state = state
        self.now = now
        self.stamp = state.clock.stamp(now)
        self.module = module
        self._accounts: dict[int, Doc | None] = {}
        self._plans: dict[int, frozenset[str]] = {}

    def due(self, table: Table) -> list[Doc]:
        """Active schedules whose time has come, oldest ``last_action_date`` first, capped."""
        docs = [
            d for d in table.iter(is_active=True)
            if (d.get("schedule_date") or "") <= self.stamp and not self.ended(d)
        ]
        docs.sort(key=lambda d: (d.get("last_action_date") or "", d["id"]))
        return docs[:MAX_SCHEDULES_PER_TICK]

    def ended(self, schedule: Doc) -> bool:
        end = schedule.get("end_date")
        return bool(end) and end <= self.stamp

    def account(self, account_id: int) -> Doc | None:
        if account_id not in self._accounts:
            self._accounts[account_id] = self.state.store.table("accounts").get(account_id)
        return self._accounts[account_id]

    def stop_reason(self, schedule: Doc) -> str | None:
        """Why the engine must switch ``schedule`` off, or None when it may run."""
        account = self.account(schedule["account_id"])
        if account is None:
            return "the account no longer exists"
        if account.get("login_required"):
            return "the account needs a new login (login_required)"
        if self.module not in self._plan(schedule["user_id"]):
            return f"the owner's plan no longer includes the {self.module} module"
        return None

    def switch_off(self, table: Table, schedule: Doc) -> None:
        schedule["is_active"] = False
        schedule["last_action_date"] = self.stamp
        table.update(schedule)

    def rng(self, schedule: Doc) -> random.Random:
        """A generator fixed by module, schedule and time: a replayed tick does the same thing."""
        return random.Random(f"{self.module}:{schedule['id']}:{self.stamp}")

    def _plan(self, user_id: int) -> frozenset[str]:
        if user_id not in self._plans:
            user = self.state.users.get(user_id)
            self._plans[user_id] = frozenset(user["modules"] if user else ())
        return self._plans[user_id]


def switched_off_message(reason: str) -> str:
    return f"Schedule switched off: {reason}."


# -- daily pause --------------------------------------------------------------------
def no_pause() -> dict[str, Any]:
    return {"enabled": False, "from": None, "to": None}


def pause_window_end(pause: dict[str, Any] | None, now: datetime) -> datetime | None:
    """The end of the daily pause window ``now`` falls in, or None when not paused.

    Times are ``HH:MM`` in UTC; a window whose end is before its start runs past midnight.
    """
    if not pause or not pause.get("enabled") or not pause.get("from") or not pause.get("to"):
        return None
    start, end = _minutes(pause["from"]), _minutes(pause["to"])
    minute = now.hour * 60 + now.minute
    inside = start <= minute < end if start <= end else (minute >= start or minute < end)
    if not inside:
        return None
    resume = now.replace(hour=end // 60, minute=end % 60, second=0, microsecond=0)
    return resume if resume > now else resume + timedelta(days=1)


def _minutes(hhmm: str) -> int:
    hours, _, minutes = hhmm.partition(":")
    return int(hours) * 60 + int(minutes or 0)

