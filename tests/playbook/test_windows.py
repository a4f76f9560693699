"""Entry windows (``when:``): every mistake is one ``file:line:col`` diagnostic; evaluation is
checked against a brute-force reading of the rules (Hypothesis), across DST changes; the merge
leaves closed entries out and names what their windows add."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator.contract import Kind, ScheduleDesired
from orchestrator.playbook import Source, desired_state, validate_sources, window_events
from orchestrator.playbook.windows import EPSILON, Recurring, Span, Windows, build_window
from tests.playbook.conftest import DEMO_ACCOUNTS, book

HEAD = "groups:\n  fashion: {usernames: fashion_*}\nentries:\n  - name: Sale\n    groups: fashion\n"
BODY = "    reactions: {settings: {likes_speed: 4}}\n"


def problems(when: str, head: str = HEAD) -> list[str]:
    return [str(d) for d in validate_sources([Source("w.yaml", head + f"    when: {when}\n" + BODY)])]


@pytest.mark.parametrize(("when", "expected"), [
    ("{from: 2026-11-27T00:00, until: 2026-11-26T00:00}",
     "w.yaml:6:43: `until` (2026-11-26T00:00) is not after `from` (2026-11-27T00:00); "
     "a window runs from `from` up to `until`: swap them, or fix the date"),
    ("{cron: '0 0 30 2 *', duration: 1h}",
     "w.yaml:6:18: `when.cron`: `0 0 30 2 *` never fires; check the day of month against the month "
     "(there is no 30 February)"),
    ("{from: 2026-11-27T00:00, timezone: Europe/Pariss}",
     "w.yaml:6:46: `when.timezone`: unknown time zone `Europe/Pariss`; did you mean `Europe/Paris`?"),
    ("{cron: '0 9 * * MON-FRI', duration: 25h, timezone: Europe/Paris}",
     "w.yaml:6:47: `when.duration`: the duration 1d1h is longer than the 1d between two firings of "
     "`0 9 * * MON-FRI`; a window must close before the cron opens the next: shorten `duration`"),
    ("{from: 2026-03-29T02:30, timezone: Europe/Paris}",
     "w.yaml:6:18: `when.from`: `2026-03-29T02:30` does not exist in Europe/Paris: the clocks go from 02:00 to "
     "03:00 that day; write a time outside the change, such as `2026-03-29T03:00`, or give the offset "
     "(`2026-03-29T02:30+01:00` is 03:30 there)"),
    ("{until: 2026-11-01T01:30, timezone: America/New_York}",
     "w.yaml:6:19: `when.until`: `2026-11-01T01:30` happens twice in America/New_York: the clocks go back from "
     "02:00 to 01:00 that day; give the offset: `2026-11-01T01:30-04:00` for the first, "
     "`2026-11-01T01:30-05:00` for the second"),
    ("{cron: '61 * * * *', duration: 1h}",
     "w.yaml:6:18: `when.cron`: `61 * * * *` is not a valid cron expression: [61 * * * *] is not acceptable, "
     "out of range; minute hour day-of-month month day-of-week, such as `0 9 * * MON-FRI`"),
    ("{cron: '0 9 * *', duration: 1h}",
     "w.yaml:6:18: `when.cron`: `0 9 * *` is not a cron expression of five fields (it has 4); "
     "minute hour day-of-month month day-of-week, such as `0 9 * * MON-FRI`"),
    ("{cron: '0 9 * * *'}",
     "w.yaml:6:12: a `cron` window needs a `duration`; say how long it stays open, such as "
     "`duration: 9h`"),
    ("{cron: '0 9 * * *', duration: soon}",
     "w.yaml:6:41: `when.duration`: `soon` is not a duration; write it such as `9h`, `90m`, `1h30m` or `2d`"),
    ("{from: 2026-11-27T00:00, cron: '0 9 * * *', duration: 1h}",
     "w.yaml:6:12: a window is `from`/`until` or `cron` + `duration`, not both; this one has "
     "`cron` and `from`; give the cron window alone, or write the dated window as its own list item"),
    ("{from: next friday}",
     "w.yaml:6:18: `when.from`: `next friday` is not a date-time; write an ISO 8601 date-time such as "
     "`2026-11-27T00:00`, `2026-11-27T00:00Z` or `2026-11-27T00:00-05:00`"),
    ("{from: 2026-02-30}",
     "w.yaml:6:18: `when.from`: `2026-02-30` is not a valid date-time; write an ISO 8601 date-time such as "
     "`2026-11-27T00:00`, `2026-11-27T00:00Z` or `2026-11-27T00:00-05:00`"),
    ("{timezone: UTC}", "w.yaml:6:11: `when`: the window says nothing; give `from` and/or `until`, or `cron` "
                        "and `duration`"),
    ("[{from: 2026-11-27T00:00}, {untill: 2026-12-01}]",
     "w.yaml:6:39: unknown key `untill` in `when[1]`; did you mean `until`?"),
    ("[]", "w.yaml:6:5: `when` must not be empty"),
])
def test_each_mistake_is_one_diagnostic_at_its_place(when: str, expected: str) -> None:
    assert problems(when) == [expected]


def test_a_windowed_entry_needs_a_name_of_its_own() -> None:
    head = "groups:\n  fashion: {usernames: fashion_*}\nentries:\n"
    entry = "  - NAMEgroups: fashion\n    when: {from: 2026-11-27T00:00Z}\n" + BODY
    unnamed = [str(d) for d in validate_sources([Source("w.yaml", head + entry.replace("NAME", ""))])]
    assert unnamed == ["w.yaml:5:5: an entry with `when:` needs a `name`; its name is how the orchestrator "
                       "remembers what the window added, and how plans, history and metrics call it: add `name: ...`"]
    twice = head + entry.replace("NAME", "name: Sale\n    ") * 2
    assert [str(d) for d in validate_sources([Source("w.yaml", twice)])] == [
        "w.yaml:8:11: another entry with `when:` is named `Sale` (at w.yaml:4:11); give each windowed entry "
        "its own name"]


def test_offsets_name_instants_and_local_times_their_zone() -> None:
    ny = build_window("2026-11-27T00:00", "2026-12-01", None, None, "America/New_York")
    assert ny == Span(datetime(2026, 11, 27, 5, tzinfo=UTC), datetime(2026, 12, 1, 5, tzinfo=UTC), "America/New_York")
    fixed = build_window("2026-11-27T00:00+01:00", "2026-11-28T00:00Z", None, None, "America/New_York")
    assert fixed.start == datetime(2026, 11, 26, 23, tzinfo=UTC) and fixed.end == datetime(2026, 11, 28, tzinfo=UTC)
    # Half-open: open at `from`, closed at `until`.
    windows = Windows((ny,))
    assert windows.active(ny.start) and not windows.active(ny.start - EPSILON) and not windows.active(ny.end)


def test_cron_windows_follow_the_wall_clock_across_dst() -> None:
    office = Windows((Recurring("0 9 * * MON-FRI", timedelta(hours=9), "Europe/Paris"),))
    # Friday 27 March 2026 09:00 is 08:00 UTC (CET); Monday 30 March, after the change, 07:00 UTC (CEST).
    assert office.changes(datetime(2026, 3, 27, 7, tzinfo=UTC), 3) == [
        (datetime(2026, 3, 27, 8, tzinfo=UTC), True), (datetime(2026, 3, 27, 17, tzinfo=UTC), False),
        (datetime(2026, 3, 30, 7, tzinfo=UTC), True)]
    # A firing the clocks skip (02:30 on 29 March in Paris) happens late by the jump: 03:30 CEST.
    night = Windows((Recurring("30 2 * * *", timedelta(minutes=30), "Europe/Paris"),))
    assert night.next_change(datetime(2026, 3, 28, 12, tzinfo=UTC)) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # One in the hour that repeats (02:30 on 25 October) happens once, at its first occurrence.
    assert night.changes(datetime(2026, 10, 24, 12, tzinfo=UTC), 2) == [
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), True), (datetime(2026, 10, 25, 1, 0, tzinfo=UTC), False)]
    # Back-to-back windows are one: always open, never a change.
    always = Windows((Recurring("@hourly", timedelta(hours=1), "UTC"),))
    assert always.active(datetime(2026, 1, 1, 0, 30, tzinfo=UTC))
    assert always.next_change(datetime(2026, 1, 1, tzinfo=UTC)) is None


# -- properties -------------------------------------------------------------------------------

ZONES = ["UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]
CRONS = [("0 9 * * MON-FRI", timedelta(hours=9)), ("30 2 * * *", timedelta(hours=2)),
         ("0 */6 * * *", timedelta(hours=6)), ("15 1 * * SUN", timedelta(days=2)), ("0 0 1 * *", timedelta(days=3)),
         ("*/20 * * * *", timedelta(minutes=5))]
# Instants within a few days of 2026's DST changes (Europe, North America, Lord Howe) and elsewhere.
ANCHORS = [datetime(2026, 3, 8, tzinfo=UTC), datetime(2026, 3, 29, tzinfo=UTC), datetime(2026, 4, 5, tzinfo=UTC),
           datetime(2026, 10, 4, tzinfo=UTC), datetime(2026, 10, 25, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC),
           datetime(2026, 6, 15, tzinfo=UTC)]
instants = st.builds(lambda anchor, minutes: anchor + timedelta(minutes=minutes),
                     st.sampled_from(ANCHORS), st.integers(-4 * 24 * 60, 4 * 24 * 60))
recurring = st.builds(lambda c, z: Recurring(c[0], c[1], z), st.sampled_from(CRONS), st.sampled_from(ZONES))
spans = st.builds(lambda a, minutes, open_start, open_end: Span(None if open_start else a, None if open_end else
                                                                  a + timedelta(minutes=minutes)),
                  instants, st.integers(1, 3 * 24 * 60), st.booleans(), st.booleans())


def brute_force_active(window: Recurring, at: datetime) -> bool:
    """The rule read literally: some firing f (wall time in the zone, read with fold 0) has
    f <= at < f + duration; every firing from a day before at - duration is looked at."""
    zone = ZoneInfo(window.zone)
    start = (at - window.duration - timedelta(days=1)).astimezone(zone).replace(tzinfo=None)
    steps = croniter(window.cron, start)
    while True:
        wall = steps.get_next(datetime)
        fired = wall.replace(tzinfo=zone).astimezone(UTC)
        if fired <= at < fired + window.duration:
            return True
        if wall > at.astimezone(zone).replace(tzinfo=None) + timedelta(hours=3):
            return False


@settings(max_examples=150, deadline=None)
@given(window=recurring, at=instants)
def test_a_cron_window_is_open_exactly_when_a_firing_covers_the_instant(window: Recurring, at: datetime) -> None:
    assert window.active(at) == brute_force_active(window, at)


@settings(max_examples=80, deadline=None)
@given(items=st.lists(st.one_of(recurring, spans), min_size=1, max_size=3), at=instants,
       probes=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=5))
def test_the_next_change_is_the_first_instant_the_state_flips(items: list, at: datetime, probes: list[float]) -> None:
    windows = Windows(tuple(items))
    change = windows.next_change(at)
    if change is None:
        # Never changes again: the state now holds a week on (every window here repeats within days).
        assert all(windows.active(at + timedelta(days=7) * p) == windows.active(at) for p in probes)
        return
    assert change > at
    assert windows.active(change) != windows.active(change - EPSILON)
    # Nothing flips before it: the state just after `at` holds up to the change.
    for p in probes:
        probe = at + EPSILON + (change - EPSILON - at - EPSILON) * p
        assert windows.active(probe) == windows.active(at + EPSILON)


@settings(max_examples=40, deadline=None)
@given(items=st.lists(st.one_of(recurring, spans), min_size=1, max_size=3), at=instants)
def test_changes_alternate_and_move_forward(items: list, at: datetime) -> None:
    windows = Windows(tuple(items))
    changes = windows.changes(at, 4)
    times = [t for t, _ in changes]
    assert times == sorted(set(times)) and all(t > at for t in times)
    states = [windows.active(at)] + [opens for _, opens in changes]
    assert all(a != b for a, b in zip(states, states[1:], strict=False))


# -- the merge --------------------------------------------------------------------------------

CAMPAIGN = """\
    groups:
      fashion: {usernames: fashion_*}
      flagships: {accounts: [fashion_nova]}
    entries:
      - name: Baseline
        groups: fashion
        reactions: {state: active, settings: {likes_speed: 2}, targets: [{hashtag: ootd}]}
      - name: Black Friday push
        groups: fashion
        when: {from: 2026-11-27T00:00, until: 2026-12-01T00:00, timezone: America/New_York}
        reactions:
          settings: {likes_speed: 4}
          targets: [{hashtag: blackfriday}, {hashtag: ootd}]
      - name: Flagships keep theirs
        groups: flagships
        reactions: {targets: [{hashtag: blackfriday}]}
"""
INSIDE = datetime(2026, 11, 28, 10, tzinfo=UTC)
AFTER = datetime(2026, 12, 2, 10, tzinfo=UTC)


def test_inside_the_window_the_entry_applies_by_the_same_precedence() -> None:
    state = desired_state(book(CAMPAIGN), DEMO_ACCOUNTS, at=INSIDE)
    luxe = state.get(2, Kind.REACTIONS)
    assert isinstance(luxe, ScheduleDesired) and luxe.settings["likes_speed"].value == 4
    assert luxe.added_by == {("hashtag", "blackfriday"): "Black Friday push"}  # #ootd: the baseline wants it
    nova = state.get(1, Kind.REACTIONS)
    assert isinstance(nova, ScheduleDesired) and nova.added_by == {}  # a timeless entry wants #blackfriday
    assert state.open_windows == {"Black Friday push"}


def test_outside_it_the_entry_says_nothing_but_what_to_take_back() -> None:
    state = desired_state(book(CAMPAIGN), DEMO_ACCOUNTS, at=AFTER)
    luxe = state.get(2, Kind.REACTIONS)
    assert isinstance(luxe, ScheduleDesired) and luxe.settings["likes_speed"].value == 2
    assert [(w.value.value, w.window) for w in luxe.withdraw] == [("blackfriday", "Black Friday push")]
    nova = state.get(1, Kind.REACTIONS)
    assert isinstance(nova, ScheduleDesired) and nova.withdraw == ()  # still wanted there


def test_events_ahead_name_the_entry_and_its_zone() -> None:
    [opens, closes] = window_events(book(CAMPAIGN), datetime(2026, 11, 1, tzinfo=UTC))
    assert (opens.at, opens.entry, opens.opens, opens.timezone) == (
        datetime(2026, 11, 27, 5, tzinfo=UTC), "Black Friday push", True, "America/New_York")
    assert (closes.at, closes.opens, str(closes.source)) == (datetime(2026, 12, 1, 5, tzinfo=UTC), False, "a.yaml:10:5")
