"""Entry windows (``when:``): when an entry applies. Parsing, checks and evaluation; pure.

An entry with ``when:`` applies only inside its windows; outside them its values are not
desired (the merge skips it, see ``merge.py``). A window is one of

* ``{from: 2026-11-27T00:00, until: 2026-12-01T00:00, timezone: America/New_York}``: from one
  instant up to another (either may be left out: open since, or open until);
* ``{cron: "0 9 * * MON-FRI", duration: 9h, timezone: Europe/Paris}``: opens each time the cron
  expression fires, for ``duration``;

and ``when:`` may be a list of them: the entry applies while any of them is open.

Decisions (the README's "Windows" says the same):

* A window is half-open, ``[from, until)``: open at ``from`` itself, closed at ``until``; a cron
  window is open from a firing up to the firing plus ``duration``.
* ``from``/``until`` are ISO 8601 date-times (``2026-11-27T00:00``, seconds optional, a bare
  date is its midnight). With an offset or ``Z`` they name that instant; without, they are wall
  time in ``timezone`` (default UTC). A wall time the clocks skip (spring forward) or repeat
  (fall back) is refused: it names no instant, or two; the message says which offsets exist.
* A cron expression has the five standard fields (names such as ``MON-FRI`` and ``JAN`` allowed;
  day of month and day of week combine as in Vixie cron: either matches), or ``@hourly``,
  ``@daily``, ``@weekly``, ``@monthly``, ``@yearly``. It fires on the wall clock of ``timezone``.
  A firing the clocks skip happens as Python's ``zoneinfo`` reads that wall time (fold 0): late
  by the jump (02:30 on a spring-forward night at 02:00 becomes 03:30); a firing in the hour
  that repeats happens once, at its first occurrence. Recurring schedules are rules for every
  day, so one odd day a year is given a documented meaning rather than refused.
* ``duration`` (``9h``, ``90m``, ``1h30m``, ``2d``, ``45s``) is elapsed time, and at most the
  shortest time between two firings of the cron: a window never overlaps the next one of the
  same cron (that would be one longer window; write it so).

Evaluation takes aware datetimes and works in UTC; nothing here reads the clock.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import ConfigDict, Discriminator, Field, PrivateAttr, StrictStr, Tag, model_validator

from orchestrator.playbook.errors import closest
from orchestrator.playbook.sourcing import SourcedModel
from orchestrator.playbook.values import fail

if TYPE_CHECKING:
    # Imported where a cron window is checked or evaluated: most playbooks have none, and
    # `validate` should not pay for croniter (and dateutil) at start-up.
    from croniter import croniter

#: A little less than the smallest step of time: what "just before an instant" means.
EPSILON = timedelta(microseconds=1)
#: More than any change of a zone's UTC offset (2 hours at most in the IANA database): how far
#: wall time and UTC order may disagree around a change, so searches look that far beyond.
MARGIN = timedelta(hours=3)
#: Bounds on every search, so no expression can make one run away (a minutely cron searched
#: across the margin on both sides takes about 400 steps).
SEARCH_STEPS = 5000
TRANSITION_STEPS = 200
#: The shortest time between firings is measured over this many firings, within this span.
PERIOD_FIRINGS = 1000
PERIOD_SPAN = timedelta(days=366 * 8)
PERIOD_FROM = datetime(2000, 1, 1)

MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
_DATETIME = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})(?:[T ](?P<time>\d{2}:\d{2}(?::\d{2})?))?\s*(?P<offset>Z|[+-]\d{2}:?\d{2})?$")
_DURATION = re.compile(r"^(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?$")
_DATETIME_HINT = ("write an ISO 8601 date-time such as `2026-11-27T00:00`, `2026-11-27T00:00Z` "
                  "or `2026-11-27T00:00-05:00`")


# -- the windows ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Span:
    """Open from ``start`` (None: always was) up to ``end`` (None: never closes); UTC."""

    start: datetime | None
    end: datetime | None
    zone: str = "UTC"

    def active(self, at: datetime) -> bool:
        return (self.start is None or self.start <= at) and (self.end is None or at < self.end)

    def boundaries_after(self, at: datetime) -> tuple[list[datetime], datetime | None]:
        """The instants after ``at`` where this window may open or close, and up to when that
        list is complete (None: for ever)."""
        return [b for b in (self.start, self.end) if b is not None and b > at], None


@dataclass(frozen=True)
class Recurring:
    """Open for ``duration`` from each firing of ``cron`` on the wall clock of ``zone``."""

    cron: str
    duration: timedelta
    zone: str = "UTC"

    def active(self, at: datetime) -> bool:
        # The latest firing is enough: an earlier one's window ends no later than its own.
        last = self.last_firing(at)
        return last is not None and at < last + self.duration

    def boundaries_after(self, at: datetime) -> tuple[list[datetime], datetime | None]:
        out: list[datetime] = []
        last = self.last_firing(at)
        if last is not None and last + self.duration > at:
            out.append(last + self.duration)
        upcoming = self.next_firing(at)
        if upcoming is None:
            return out, None  # fires no more: the list is complete
        # No firing lies between the next one and its close (the duration is at most the period).
        out += [upcoming, upcoming + self.duration]
        return out, upcoming + self.duration

    def last_firing(self, at: datetime) -> datetime | None:
        """The latest firing at or before ``at``."""
        from croniter import CroniterBadDateError, croniter

        zone = _zone(self.zone)
        steps = croniter(self.cron, _wall(at, zone) + MARGIN + timedelta(minutes=1))
        best: datetime | None = None
        for _ in range(SEARCH_STEPS):
            try:
                wall = steps.get_prev(datetime)
            except CroniterBadDateError:
                break
            instant = _instant(wall, zone)
            if instant <= at and (best is None or instant > best):
                best = instant
            if best is not None and wall < _wall(best, zone) - MARGIN:
                break
        return best

    def next_firing(self, after: datetime) -> datetime | None:
        """The first firing strictly after ``after``."""
        from croniter import CroniterBadDateError, croniter

        zone = _zone(self.zone)
        steps = croniter(self.cron, _wall(after, zone) - MARGIN - timedelta(minutes=1))
        best: datetime | None = None
        for _ in range(SEARCH_STEPS):
            try:
                wall = steps.get_next(datetime)
            except CroniterBadDateError:
                break
            instant = _instant(wall, zone)
            if instant > after and (best is None or instant < best):
                best = instant
            if best is not None and wall > _wall(best, zone) + MARGIN:
                break
        return best


Window = Span | Recurring


@dataclass(frozen=True)
class Windows:
    """An entry's windows: it applies while any of them is open."""

    items: tuple[Window, ...]

    def active(self, at: datetime) -> bool:
        at = _utc(at)
        return any(w.active(at) for w in self.items)

    def next_change(self, after: datetime) -> datetime | None:
        """The first instant after ``after`` at which the entry starts or stops applying
        (windows that touch or overlap make one: no change where one ends as another begins)."""
        t = _utc(after)
        for _ in range(TRANSITION_STEPS):
            candidates: set[datetime] = set()
            horizon: datetime | None = None
            for window in self.items:
                found, complete_until = window.boundaries_after(t)
                candidates.update(found)
                if complete_until is not None:
                    horizon = complete_until if horizon is None else min(horizon, complete_until)
            in_reach = sorted(c for c in candidates if horizon is None or c <= horizon)
            for c in in_reach:
                if self.active(c) != self.active(c - EPSILON):
                    return c
            if horizon is None:
                return None  # every boundary ahead was looked at: it never changes again
            t = horizon
        return None

    def changes(self, after: datetime, count: int) -> list[tuple[datetime, bool]]:
        """The next ``count`` changes after ``after``: (instant, whether it opens)."""
        out: list[tuple[datetime, bool]] = []
        t = _utc(after)
        while len(out) < count:
            change = self.next_change(t)
            if change is None:
                break
            out.append((change, self.active(change)))
            t = change
        return out

    @property
    def zone(self) -> str:
        """The zone of the first window (what plans show local times in)."""
        return self.items[0].zone if self.items else "UTC"


# -- the playbook's form ----------------------------------------------------------------------

class WindowSpec(SourcedModel):
    """One window as written: ``from``/``until``, or ``cron`` + ``duration``; ``timezone``."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)

    start: StrictStr | None = Field(default=None, alias="from",
                                    description="ISO 8601 date-time the window opens at (local to `timezone` "
                                                "unless it has an offset)")
    until: StrictStr | None = Field(default=None, description="ISO 8601 date-time the window closes at")
    cron: StrictStr | None = Field(default=None, description="five-field cron expression: when the window opens")
    duration: StrictStr | None = Field(default=None, description="how long each cron window stays open: 9h, 90m")
    timezone: StrictStr | None = Field(default=None, description="IANA time zone (default UTC)")
    _window: Window | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _locate(cls, data: Any) -> Any:
        return cls.locate_fields(data)

    @model_validator(mode="after")
    def _check(self) -> WindowSpec:
        self._window = build_window(self.start, self.until, self.cron, self.duration, self.timezone)
        return self

    @property
    def window(self) -> Window:
        assert self._window is not None, "set by validation"
        return self._window


When = Annotated[
    Annotated[Annotated[list[WindowSpec], Field(min_length=1)], Tag("§list")] | Annotated[WindowSpec, Tag("§one")],
    Discriminator(lambda v: "§list" if isinstance(v, list) else "§one"),
]


def windows_of(when: Sequence[WindowSpec] | WindowSpec) -> Windows:
    """The `Windows` of a validated ``when:`` value, whichever form it was written in."""
    specs = when if isinstance(when, Sequence) else (when,)
    return Windows(tuple(spec.window for spec in specs))


def build_window(start: str | None, until: str | None, cron: str | None, duration: str | None,
                 timezone: str | None) -> Window:
    """A window from its fields as written; every problem is one `fail` at the field at fault."""
    zone = timezone if timezone is not None else "UTC"
    _check_zone(zone)
    if cron is not None:
        if start is not None or until is not None:
            extra = "from" if start is not None else "until"
            fail(f"a window is `from`/`until` or `cron` + `duration`, not both; this one has `cron` and `{extra}`",
                 "give the cron window alone, or write the dated window as its own list item",
                 at=(extra,), on_key=True)
        if duration is None:
            fail("a `cron` window needs a `duration`", "say how long it stays open, such as `duration: 9h`",
                 at=("cron",), on_key=True)
        length = parse_duration(duration, at=("duration",))
        _check_cron(cron, length)
        return Recurring(" ".join(cron.split()), length, zone)
    if duration is not None:
        fail("`duration` goes with `cron`", "for a one-off window give `from` and `until`",
             at=("duration",), on_key=True)
    if start is None and until is None:
        fail("the window says nothing", "give `from` and/or `until`, or `cron` and `duration`")
    begins = local_instant(start, zone, at=("from",)) if start is not None else None
    ends = local_instant(until, zone, at=("until",)) if until is not None else None
    if begins is not None and ends is not None and ends <= begins:
        fail(f"`until` ({until}) is not after `from` ({start})",
             "a window runs from `from` up to `until`: swap them, or fix the date", at=("until",))
    return Span(begins, ends, zone)


def parse_duration(text: str, at: tuple[str, ...] = ()) -> timedelta:
    """``9h``, ``90m``, ``1h30m``, ``2d``, ``45s``: more than zero."""
    match = _DURATION.match(text.strip())
    if not text.strip() or match is None:
        fail(f"`{text}` is not a duration", "write it such as `9h`, `90m`, `1h30m` or `2d`", at=at)
    d, h, m, s = (int(g) if g else 0 for g in match.groups())
    length = timedelta(days=d, hours=h, minutes=m, seconds=s)
    if length <= timedelta(0):
        fail("the duration must be more than zero", "such as `9h`", at=at)
    return length


def local_instant(text: str, zone: str, at: tuple[str, ...] = ()) -> datetime:
    """The instant (UTC) an ISO 8601 date-time names: with an offset, that one; else the wall
    time in ``zone``, which must exist exactly once there."""
    match = _DATETIME.match(text.strip())
    if match is None:
        fail(f"`{text}` is not a date-time", _DATETIME_HINT, at=at)
    written = match["date"] + "T" + (match["time"] or "00:00") + (match["offset"] or "")
    try:
        parsed = datetime.fromisoformat(written)
    except ValueError:
        fail(f"`{text}` is not a valid date-time", _DATETIME_HINT, at=at)
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    tz = _zone(zone)
    first, second = parsed.replace(tzinfo=tz, fold=0), parsed.replace(tzinfo=tz, fold=1)
    if _wall(first, tz) != parsed:
        before, after = _jump(first.astimezone(UTC), tz)
        fail(f"`{text}` does not exist in {zone}: the clocks go from {before} to {after} that day",
             f"write a time outside the change, such as `{match['date']}T{after}`, or give the offset "
             f"(`{text}{_offset(first)}` is {_shown(first, tz)} there)",
             at=at)
    if first.utcoffset() != second.utcoffset():
        before, after = _jump(second.astimezone(UTC), tz)
        fail(f"`{text}` happens twice in {zone}: the clocks go back from {before} to {after} that day",
             f"give the offset: `{text}{_offset(first)}` for the first, `{text}{_offset(second)}` for the second",
             at=at)
    return first.astimezone(UTC)


def _check_zone(name: str) -> None:
    try:
        _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        near = _closest_zone(name)
        fail(f"unknown time zone `{name}`",
             f"did you mean `{near}`?" if near else "use an IANA name such as `Europe/Paris` or `America/New_York`",
             at=("timezone",))


def _closest_zone(name: str) -> str | None:
    zones = sorted(available_timezones())
    by_case = {z.casefold(): z for z in zones}
    if name.casefold() in by_case:
        return by_case[name.casefold()]
    return closest(name, zones, cutoff=0.6)


def _check_cron(expression: str, duration: timedelta) -> None:
    from croniter import CroniterBadCronError, CroniterBadDateError, CroniterError, croniter

    text = " ".join(expression.split())
    if text.startswith("@"):
        if text not in MACROS:
            fail(f"unknown cron shorthand `{text}`", f"use one of {', '.join(f'`{m}`' for m in MACROS)}",
                 at=("cron",))
    elif len(text.split()) != 5:
        fail(f"`{text}` is not a cron expression of five fields (it has {len(text.split())})",
             "minute hour day-of-month month day-of-week, such as `0 9 * * MON-FRI`", at=("cron",))
    try:
        steps = croniter(text, PERIOD_FROM)
        previous = steps.get_next(datetime)
    except CroniterBadDateError:
        fail(f"`{text}` never fires", "check the day of month against the month (there is no 30 February)",
             at=("cron",))
    except (CroniterBadCronError, CroniterError, ValueError, KeyError) as exc:
        fail(f"`{text}` is not a valid cron expression: {exc}",
             "minute hour day-of-month month day-of-week, such as `0 9 * * MON-FRI`", at=("cron",))
    shortest = _shortest_gap(steps, previous)
    if shortest is not None and duration > shortest:
        fail(f"the duration {_span_text(duration)} is longer than the {_span_text(shortest)} between two firings "
             f"of `{text}`", "a window must close before the cron opens the next: shorten `duration`",
             at=("duration",))


def _shortest_gap(steps: croniter, previous: datetime) -> timedelta | None:
    """The shortest time between two firings (wall time), over `PERIOD_FIRINGS` or `PERIOD_SPAN`."""
    from croniter import CroniterBadDateError

    shortest: timedelta | None = None
    end = previous + PERIOD_SPAN
    for _ in range(PERIOD_FIRINGS):
        try:
            wall = steps.get_next(datetime)
        except CroniterBadDateError:
            break
        gap = wall - previous
        shortest = gap if shortest is None else min(shortest, gap)
        previous = wall
        if wall > end:
            break
    return shortest


def _span_text(length: timedelta) -> str:
    seconds = int(length.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"


# -- time -------------------------------------------------------------------------------------

@cache
def _zone(name: str) -> ZoneInfo:
    if name.startswith(("/", ".")) or not name.strip():
        raise ValueError(name)  # zoneinfo would read a file by path
    return ZoneInfo(name)


def _wall(at: datetime, zone: ZoneInfo) -> datetime:
    """``at``'s wall time in ``zone``, without its zone (through UTC: ``astimezone`` to the zone
    a datetime already has would hand back its wall time unchecked, one the clocks skip included)."""
    return at.astimezone(UTC).astimezone(zone).replace(tzinfo=None)


def _instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant (UTC) of a wall time in ``zone``, read with fold 0 (see the module docstring)."""
    return wall.replace(tzinfo=zone).astimezone(UTC)


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("windows are evaluated at aware datetimes")
    return at.astimezone(UTC)


def _offset(at: datetime) -> str:
    offset = at.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _shown(at: datetime, zone: ZoneInfo) -> str:
    """The wall time ``at`` is in ``zone``: ``03:30``."""
    return at.astimezone(UTC).astimezone(zone).strftime("%H:%M")


def _jump(near: datetime, zone: ZoneInfo) -> tuple[str, str]:
    """The wall times either side of the offset change nearest ``near`` (within a day): ``02:00``, ``03:00``."""
    low, high = near - timedelta(hours=12), near + timedelta(hours=12)
    if low.astimezone(zone).utcoffset() == high.astimezone(zone).utcoffset():
        return "?", "?"
    start_offset = low.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        mid = low + (high - low) / 2
        if mid.astimezone(zone).utcoffset() == start_offset:
            low = mid
        else:
            high = mid
    change = high.replace(microsecond=0)
    before = (change.astimezone(zone) - (high.astimezone(zone).utcoffset() or timedelta(0))
              + (start_offset or timedelta(0)))
    return before.strftime("%H:%M"), change.astimezone(zone).strftime("%H:%M")


__all__ = ["EPSILON", "Recurring", "Span", "When", "Window", "WindowSpec", "Windows", "build_window",
           "local_instant", "parse_duration", "windows_of"]
