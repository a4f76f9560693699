"""The one scheduler's rules, on a probe module over the demo world's accounts and plans.

Demo world: alice owns accounts 1-25 (account 9 needs a new login), bob owns 26-29 and his plan
lacks ``ai-dm``. The clock is fixed at noon (``tests.conftest.world``).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest

from orchestrator.emulator.scheduler import Pass, ScheduledModule, run_pass
from orchestrator.emulator.store import Doc
from tests.conftest import world

NOON = "2026-03-15 12:00:00"


class Probe(ScheduledModule):
    """Records what it is asked to do; its runs act once an hour."""

    module, schedules_table, logs_table = "ai-dm", "probe_schedules", "probe_logs"
    batch = 3
    running_flag = "busy"

    def __init__(self) -> None:
        self.ran: list[tuple[int, str, str]] = []  # (account, schedule_date while acting, since)
        self.windows: list[tuple[str, str]] = []

    def pauses(self, schedule: Doc) -> list[tuple[str, str]]:
        return self.windows

    def next_run_at(self, schedule: Doc, now: datetime) -> datetime:
        return now + timedelta(hours=1)

    def run_once(self, run: Pass, schedule: Doc, since: str, counts: Counter[str]) -> list[Doc]:
        self.ran.append((schedule["account_id"], schedule["schedule_date"], since))
        counts["ran"] += 1
        return [{"schedule_id": schedule["id"], "status": "success", "message": "acted", "date": run.stamp}]

    def switch_off_log(self, schedule: Doc, stamp: str, message: str) -> Doc:
        return {"schedule_id": schedule["id"], "status": "error", "message": message, "date": stamp}


@pytest.fixture
def emu():
    return world()


def add(emu, account_id: int, user_id: int = 1, **fields) -> Doc:
    doc = {"user_id": user_id, "account_id": account_id, "is_active": True, "busy": False,
           "schedule_date": "2026-03-15 11:00:00", "last_action_date": None, **fields}
    return emu.state.store.table(Probe.schedules_table).insert(doc)


def tick(emu, probe: Probe) -> dict[str, int] | None:
    return run_pass(probe, emu.state, emu.state.clock.now())


def stored(emu, doc: Doc) -> Doc:
    return emu.state.store.table(Probe.schedules_table).get(doc["id"])


def test_due_schedules_run_oldest_action_first_a_batch_at_a_time(emu):
    probe = Probe()
    add(emu, 1, last_action_date="2026-03-15 10:00:00")
    add(emu, 2, last_action_date="2026-03-15 09:00:00")
    add(emu, 3)  # never acted: first
    add(emu, 4, last_action_date="2026-03-14 09:00:00")
    add(emu, 5, schedule_date="2026-03-15 12:30:00")  # not due yet
    add(emu, 6, is_active=False)
    add(emu, 7, busy=True)  # held by a run that never finished
    add(emu, 8, end_date="2026-03-15 12:00:00")  # ended now
    assert tick(emu, probe) == {"ran": 3}
    assert [account for account, _, _ in probe.ran] == [3, 4, 2]
    assert tick(emu, probe) == {"ran": 1}  # the rest of the due ones
    assert probe.ran[-1][0] == 1


def test_the_next_run_is_set_before_acting_and_the_action_dated(emu):
    probe = Probe()
    doc = add(emu, 1, last_action_date="2026-03-15 10:00:00")
    tick(emu, probe)
    assert probe.ran == [(1, "2026-03-15 13:00:00", "2026-03-15 10:00:00")]
    after = stored(emu, doc)
    assert (after["schedule_date"], after["last_action_date"]) == ("2026-03-15 13:00:00", NOON)
    assert [log["message"] for log in emu.state.store.table("probe_logs").all()] == ["acted"]
    assert tick(emu, probe) is None  # not due again before one


@pytest.mark.parametrize(("account_id", "user_id", "why"), [
    (9, 1, "Schedule switched off: the account needs a new login (login_required)."),
    (999, 1, "Schedule switched off: the account no longer exists."),
    (26, 2, "Schedule switched off: the owner's plan no longer includes the ai-dm module."),
])
def test_what_cannot_run_is_switched_off_with_a_log(emu, account_id, user_id, why):
    probe = Probe()
    doc = add(emu, account_id, user_id, busy=False, last_action_date="2026-03-15 10:00:00")
    assert tick(emu, probe) == {"switched_off": 1}
    after = stored(emu, doc)
    assert after["is_active"] is False and after["last_action_date"] == "2026-03-15 10:00:00"
    assert [(log["status"], log["message"]) for log in emu.state.store.table("probe_logs").all()] == [("error", why)]
    assert probe.ran == []


def test_a_daily_pause_moves_the_run_to_its_end(emu):
    probe = Probe()
    probe.windows = [("11:30", "12:15"), ("12:10", "13:00")]  # leaving one lands in the next
    doc = add(emu, 1)
    assert tick(emu, probe) == {"paused": 1}
    assert stored(emu, doc)["schedule_date"] == "2026-03-15 13:00:00" and probe.ran == []


def test_a_module_that_is_not_installed_has_no_cron(emu):
    probe = Probe()
    add(emu, 1)
    emu.state.installed.discard("ai-dm")
    assert tick(emu, probe) is None and probe.ran == []
