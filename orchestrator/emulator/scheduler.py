"""The engine's one scheduler: which schedules a cron pass runs, which it switches off, and in
which order a run happens. Every schedule-driven module runs through :func:`run_pass`.

The server's engine (api-gaps.md, "How the server's engine behaves", from the open-source
engine it grew from) treats every module's schedules alike, so the rules live here once:

1. **Due**: active schedules whose ``schedule_date`` has come and whose end date has not
   passed, oldest ``last_action_date`` first (never acted first, then by id), at most
   ``batch`` per pass ("a few per run"). A module may name a running flag: a schedule still
   marked running is locked by a run that never finished and is left alone.
2. **Switched off**: a schedule whose account is gone, whose account needs a new login
   (``login_required``), or whose owner's plan lost the module (or that the module itself
   cannot run, such as an AI-DM schedule without an OpenAI key) is switched off, with an
   ``error`` log entry "Schedule switched off: <why>.".
3. **Paused**: inside a daily pause window the run moves to the window's end without acting.
4. **Run**: otherwise the next ``schedule_date`` is set *before* the module acts, so a pass
   replayed after a crash never acts twice; then the module acts and ``last_action_date``
   becomes now.

A module describes itself with a :class:`ScheduledModule`: its tables, how it reads an end
date and a pause window, when it runs next, what one run does, and the shape of its log
entries. A module that is not installed has no cron: its pass does nothing.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from orchestrator.emulator.state import EmulatorState
from orchestrator.emulator.store import Doc, Table

#: The server's "never ends" end date (as the reference's leads example shows).
NO_END = "2200-12-12 23:59:59"
#: Schedules one pass handles per module ("a few per run"): bounds a tick in a 10,000-account world.
DEFAULT_BATCH = 200


class Pass:
    """One module's view of one engine pass: the time, and the accounts and plans it needs."""

    def __init__(self, state: EmulatorState, now: datetime, module: str) -> None:
        self.state = state
        self.now = now
        self.stamp = state.clock.stamp(now)
        self.module = module
        self._accounts: dict[int, Doc] = {}
        self._plans: dict[int, frozenset[str]] = {}

    def load(self, schedules: list[Doc]) -> None:
        """Fetch the accounts and owners of ``schedules`` in two queries."""
        accounts = self.state.store.table("accounts").all(id=[d["account_id"] for d in schedules])
        self._accounts = {a["id"]: a for a in accounts}
        users = self.state.users.all(id=list({d["user_id"] for d in schedules}))
        self._plans = {u["id"]: frozenset(u.get("modules") or ()) for u in users}

    def account(self, account_id: int) -> Doc | None:
        return self._accounts.get(account_id)

    def stop_reason(self, schedule: Doc) -> str | None:
        """Why the engine must switch ``schedule`` off, or None when it may run."""
        account = self.account(schedule["account_id"])
        if account is None:
            return "the account no longer exists"
        if account.get("login_required"):
            return "the account needs a new login (login_required)"
        if self.module not in self._plans.get(schedule["user_id"], frozenset()):
            return f"the owner's plan no longer includes the {self.module} module"
        return None

    def rng(self, schedule: Doc) -> random.Random:
        """A generator fixed by module, schedule and time: a replayed pass does the same thing."""
        return random.Random(f"{self.module}:{schedule['id']}:{self.stamp}")


class ScheduledModule(ABC):
    """What the scheduler needs to know about one module's schedules."""

    module: str  # as the plan's ``modules`` list spells it
    schedules_table: str
    logs_table: str
    batch: int = DEFAULT_BATCH
    running_flag: str | None = None  # a field that, while true, keeps the schedule out of a pass

    def ends_at(self, schedule: Doc) -> str | None:
        """When the schedule stops being picked (None: never)."""
        return schedule.get("end_date")

    def problem(self, schedule: Doc) -> str | None:
        """A reason of the module's own to switch the schedule off, or None."""
        return None

    def pauses(self, schedule: Doc) -> list[tuple[str, str]]:
        """Daily ``HH:MM`` windows (UTC) in which the schedule does not act."""
        return []

    @abstractmethod
    def next_run_at(self, schedule: Doc, now: datetime) -> datetime:
        """The next ``schedule_date`` of a schedule that runs at ``now``."""

    @abstractmethod
    def run_once(self, run: Pass, schedule: Doc, since: str, counts: Counter[str]) -> list[Doc]:
        """One run of ``schedule``; its log entries. ``since`` is when it last acted (or, never
        having acted, when it became due); ``counts`` takes what the pass reports."""

    @abstractmethod
    def switch_off_log(self, schedule: Doc, stamp: str, message: str) -> Doc:
        """The module's ``error`` log entry about a schedule the engine switched off."""

    def switch_off(self, schedule: Doc) -> None:
        """Switch ``schedule`` off (and release it, if a run held it)."""
        schedule["is_active"] = False
        if self.running_flag:
            schedule[self.running_flag] = False


def due(module: ScheduledModule, table: Table, stamp: str) -> list[Doc]:
    """The schedules a pass at ``stamp`` runs, in order, at most ``module.batch``."""
    flag = module.running_flag
    docs = [
        d for d in table.iter(is_active=True)
        if (d.get("schedule_date") or "") <= stamp
        and not (flag and d.get(flag))
        and (module.ends_at(d) or NO_END) > stamp
    ]
    docs.sort(key=lambda d: (d.get("last_action_date") or "", d["id"]))
    return docs[:module.batch]


def run_pass(module: ScheduledModule, state: EmulatorState, now: datetime) -> dict[str, int] | None:
    """One cron pass of ``module`` at ``now``; what it did (None: nothing)."""
    if module.module not in state.installed:
        return None  # no plugin, no cron
    run = Pass(state, now, module.module)
    table = state.store.table(module.schedules_table)
    schedules = due(module, table, run.stamp)
    if not schedules:
        return None
    run.load(schedules)
    counts: Counter[str] = Counter()
    logs: list[Doc] = []
    for schedule in schedules:
        reason = run.stop_reason(schedule) or module.problem(schedule)
        if reason is not None:
            module.switch_off(schedule)
            logs.append(module.switch_off_log(schedule, run.stamp, f"Schedule switched off: {reason}."))
            counts["switched_off"] += 1
        else:
            resume = paused_until(module.pauses(schedule), now)
            if resume is not None:
                schedule["schedule_date"] = state.clock.stamp(resume)
                counts["paused"] += 1
            else:
                since = schedule.get("last_action_date") or schedule.get("schedule_date") or run.stamp
                schedule["schedule_date"] = state.clock.stamp(module.next_run_at(schedule, now))
                logs += module.run_once(run, schedule, since, counts)
                schedule["last_action_date"] = run.stamp
        table.update(schedule)
    if logs:
        state.store.table(module.logs_table).insert_many(logs)
    return {k: v for k, v in counts.items() if v} or None


# -- daily pause windows -------------------------------------------------------------------
def paused_until(windows: list[tuple[str, str]], at: datetime) -> datetime | None:
    """When ``at`` falls in one of the daily ``windows``: the moment the schedule may act again."""
    moved = at
    for _ in range(len(windows) + 1):  # leaving one window may land in another
        ends = [e for e in (window_end(moved, s, t) for s, t in windows) if e is not None]
        if not ends:
            break
        moved = max(ends)
    return moved if moved != at else None


def window_end(at: datetime, start: str, end: str) -> datetime | None:
    """The end of the daily window [start, end) (UTC ``HH:MM``) that contains ``at``, if any.

    A window whose end is before its start runs past midnight; equal ends are no window.
    """
    s, e = _seconds(start), _seconds(end)
    if s == e:
        return None
    t = at.hour * 3600 + at.minute * 60 + at.second
    midnight = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if s < e:
        return midnight + timedelta(seconds=e) if s <= t < e else None
    if t >= s:
        return midnight + timedelta(days=1, seconds=e)
    return midnight + timedelta(seconds=e) if t < e else None


def _seconds(hh_mm: str) -> int:
    hours, _, minutes = hh_mm.partition(":")
    return int(hours) * 3600 + int(minutes or 0) * 60


def no_pause() -> dict[str, Any]:
    """The ``daily_pause`` object of a schedule without one (AI-DM, Welcome DM)."""
    return {"enabled": False, "from": None, "to": None}


def pause_object_windows(pause: dict[str, Any] | None) -> list[tuple[str, str]]:
    """The window of a ``daily_pause`` object (``enabled``, ``from``, ``to``), if it is on."""
    if not pause or not pause.get("enabled") or not pause.get("from") or not pause.get("to"):
        return []
    return [(pause["from"], pause["to"])]


def count_statuses(counts: Counter[str], logs: Iterable[Doc]) -> None:
    """Report each log entry under its status."""
    counts.update(log["status"] for log in logs)
