"""What reconcile records for the status page: where every account stands after each cycle,
what the playbook wants of it (and from which line), and each cycle's counts."""

from __future__ import annotations

import json

from orchestrator.contract.vocabulary import AccountState
from tests.status.conftest import BLOCKED, Fleet, rows


def states(db) -> dict[str, str]:
    return dict(rows(db, "SELECT username, state FROM status_accounts"))


def test_every_cycle_has_a_line_with_its_counts(fleet: Fleet) -> None:
    lines = rows(fleet.db, "SELECT run_id, mode, result, counts FROM status_cycles ORDER BY run_id")
    assert [r[1] for r in lines] == ["report", "fix", "fix", "fix", "fix"]
    assert [r[0] for r in lines] == [r.run_id for r in fleet.reports]
    assert [r[2] for r in lines] == [r.result for r in fleet.reports]
    for (_, _, _, counts), report in zip(lines, fleet.reports, strict=True):
        counts = json.loads(counts)
        assert counts["outcomes"] == report.by_outcome()
        assert sum(counts["states"].values()) == counts["accounts"] == 25
        assert counts["blocked"] == {"ai_key_missing": 1, "login_required": 1}


def test_the_states_follow_what_each_cycle_did(fleet: Fleet) -> None:
    first, failing, waiting = fleet.reports[:3]
    mid = states(fleet.mid)
    failed = {r.username for r in failing.drift if r.outcome == "failed"}
    backed_off = {r.username for r in waiting.drift if r.outcome == "backed_off"}
    assert failed and backed_off == failed - set(BLOCKED)
    assert {u for u, s in mid.items() if s == AccountState.BACKED_OFF} == backed_off
    assert {u for u, s in mid.items() if s == AccountState.BLOCKED} == set(BLOCKED)
    # the last cycle: all in sync but the two that wait on a person
    final = states(fleet.db)
    assert {u for u, s in final.items() if s != AccountState.IN_SYNC} == set(BLOCKED)
    assert {u: s for u, s in final.items() if u in BLOCKED} == dict.fromkeys(BLOCKED, AccountState.BLOCKED)
    assert first.result == "drift_reported"


def test_since_is_kept_while_the_state_holds(fleet: Fleet) -> None:
    at = dict(rows(fleet.db, "SELECT run_id, at FROM status_cycles"))
    since = dict(rows(fleet.db, "SELECT username, since FROM status_accounts"))
    first, last_fix = fleet.reports[0].run_id, fleet.reports[3].run_id
    assert since["food_vegan"] == at[first]  # blocked since the first cycle
    assert since["fashion_nova"] == at[last_fix]  # in sync since the server was fixed (cycle 5 fixed it again)


def test_what_the_playbook_wants_is_kept_with_its_source_once_per_shape(fleet: Fleet) -> None:
    (body,) = rows(fleet.db, "SELECT d.body FROM status_accounts s JOIN status_desired d ON d.digest = s.desired"
                             " WHERE s.username = 'fashion_nova'")[0]
    desired = json.loads(body)
    assert set(desired) >= {"account", "reactions", "repost", "welcomedm"}
    fields = {path: (value, source) for path, value, source in desired["reactions"]}
    value, source = fields["settings.likes_speed"]
    assert value == 4 and "playbooks/growth.yaml:" in source
    assert fields["state"][0] == "active"
    assert any(p.startswith("targets[") and v == "present" for p, (v, _) in fields.items())
    shapes, accounts = rows(fleet.db, "SELECT COUNT(*), (SELECT COUNT(*) FROM status_accounts) FROM status_desired")[0]
    assert shapes < accounts  # accounts of one group share one body


def test_blocked_accounts_say_why_and_what_to_do(fleet: Fleet) -> None:
    found = {u: (r, json.loads(n)) for u, r, n in rows(
        fleet.db, "SELECT username, reasons, notes FROM status_accounts WHERE state = 'blocked'")}
    assert set(found) == set(BLOCKED)
    for username, reason in BLOCKED.items():
        reasons, notes = found[username]
        assert reasons == f",{reason},"
        assert any(r == reason and username in message and "panel" in message for _, r, message in notes)


def test_what_comes_back_after_a_fix_is_counted_as_the_cycles_go(fleet: Fleet) -> None:
    # fashion_nova's speed: put back by cycle 4, changed in the panel, found changed by cycle 5.
    # The settings that failed (2), waited (3) and were fixed (4) were put back once: not again.
    assert rows(fleet.db, "SELECT username, kind, path, came_back, last_run FROM status_recurring"
                          " WHERE came_back > 0") == [
        ("fashion_nova", "reactions", "settings.likes_speed", 1, fleet.reports[-1].run_id)]
    fixed_by = dict(rows(fleet.db, "SELECT path, fixed_run FROM status_recurring WHERE username = 'fashion_nova'"
                                   " AND kind = 'reactions'"))
    assert fixed_by["settings.likes_speed"] == fleet.reports[-1].run_id
