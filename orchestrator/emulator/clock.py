"""The emulator's clock.

Tests need time they control: a Post Actions job becomes due a minute after creation,
schedules run at their speed, logs carry dates. ``Clock`` is either *frozen* (time moves
only when ``advance`` is called: deterministic, the default for tests) or *real* (wall
time plus whatever has been advanced: for a long-running emulator a person uses).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

FORMAT = "%Y-%m-%d %H:%M:%S"


class Clock:
    def __init__(self, start: datetime | None = None, *, frozen: bool = True) -> None:
        self.frozen = frozen
        self._start = (start or datetime.now(UTC)).replace(microsecond=0)
        if self._start.tzinfo is None:
            self._start = self._start.replace(tzinfo=UTC)
        self._wall_at_start = time.time()
        self._offset = 0.0

    def now(self) -> datetime:
        elapsed = self._offset
        if not self.frozen:
            elapsed += time.time() - self._wall_at_start
        return self._start + timedelta(seconds=elapsed)

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._offset += seconds
        return self.now()

    def stamp(self, when: datetime | None = None) -> str:
        """The reference's DateTime format, ``YYYY-MM-DD HH:MM:SS`` in UTC."""
        return (when or self.now()).strftime(FORMAT)

    def iso(self, when: datetime | None = None) -> str:
        """ISO 8601 with ``Z``, as Post Actions and InBox show it."""
        return (when or self.now()).strftime("%Y-%m-%dT%H:%M:%SZ")

    def snapshot(self) -> dict[str, object]:
        return {"start": self._start.isoformat(), "offset": self._offset, "frozen": self.frozen}

    @classmethod
    def restore(cls, snap: dict[str, object]) -> Clock:
        clock = cls(datetime.fromisoformat(str(snap["start"])), frozen=bool(snap["frozen"]))
        clock._offset = float(snap["offset"])  # type: ignore[arg-type]
        return clock


def parse_stamp(value: str) -> datetime:
    return datetime.strptime(value, FORMAT).replace(tzinfo=UTC)
