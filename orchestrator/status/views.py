"""What the status page shows, worked out from what ``queries`` read: plain data for the templates
(which only lay it out) and for the JSON API (which returns the same numbers).

- an account's kinds: each desired value beside live's as of the last cycle (a drift row
  says what live was where it differed; elsewhere live equals desired, which is in sync);
- a run's changes grouped as a plan groups them (``orchestrator.render.changes``);
- drift over time as the bars of a chart, drawn by the template as SVG.

Every value and message shown passes through the redaction of ``orchestrator.log`` again
(the database holds them redacted already): what is on a page cannot hold a secret.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.contract import Kind
from orchestrator.contract.vocabulary import AccountState, Action, DriftOutcome
from orchestrator.log import redact_text, redact_value
from orchestrator.plan import Change, value_text
from orchestrator.plan.blocked import (
    ACCOUNT_INACTIVE,
    LOGIN_REQUIRED,
    MODULE_NOT_ENABLED,
    MODULE_NOT_INSTALLED,
    NO_AI_KEY,
)
from orchestrator.render.changes import group_changes
from orchestrator.status.queries import AccountRecord, ChangeCount, CycleLine, DriftEvent, RunRecord

STATES: dict[str, tuple[str, str]] = {  # state -> (label, what it means)
    AccountState.IN_SYNC: ("in sync", "read by the last cycle; nothing differs (drift it found was fixed)"),
    AccountState.DRIFTED: ("drifted", "differences left as they are: reported, or held by the safety policy"),
    AccountState.BLOCKED: ("blocked", "a change the server would undo or refuse waits on a person"),
    AccountState.FAILED: ("failed", "a change failed or did not verify, or the account could not be read"),
    AccountState.BACKED_OFF: ("backed off", "failed in earlier cycles: skipped until its backoff ends"),
    AccountState.NOT_SEEN: ("not yet seen", "on the account list, not judged by a cycle yet"),
    AccountState.UNMANAGED: ("unmanaged", "in no playbook group (or outside this --limit or --shard)"),
}
REASONS: dict[str, str] = {
    LOGIN_REQUIRED: "needs a new Instagram login",
    ACCOUNT_INACTIVE: "account inactive",
    MODULE_NOT_ENABLED: "module not in the plan",
    MODULE_NOT_INSTALLED: "module not installed",
    NO_AI_KEY: "no OpenAI key",
    "failed": "failed",
    "backed_off": "backed off",
    "held": "held by the policy",
}
OUTCOMES: dict[str, str] = {  # drift outcome -> its bar in the chart
    DriftOutcome.FIXED: "fixed", DriftOutcome.REPORTED: "left", DriftOutcome.HELD: "left",
    DriftOutcome.NOT_STARTED: "left", DriftOutcome.FAILED: "failed", DriftOutcome.UNVERIFIED: "failed",
    # Interrupted: sent, but the cycle stopped before it verified it; left for the next cycle to judge.
    DriftOutcome.BACKED_OFF: "failed", DriftOutcome.INTERRUPTED: "left",
}
MAX_VALUE = 300  # characters of one value on a page; the JSON API has them whole
SHOWN = 12  # accounts named per line of a run's changes ("and 9,988 more")


def shown(value: Any, limit: int = MAX_VALUE) -> str:
    """A value as a plan writes it (strings quoted, the rest as JSON, but emoji as themselves),
    redacted, cut at ``limit`` characters."""
    value = redact_value(value)
    plain = value_text(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True,
                                                                         default=str)
    text = redact_text(plain)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def redacted(text: Any) -> str:
    """A message (a reason, what to do) with anything secret-shaped masked."""
    return "" if text is None else redact_text(str(text))


def pages(page: int, total: int, around: int = 2) -> list[int | None]:
    """Page numbers to link: the first, the last and ``around`` either side of ``page``;
    None where a run of them is left out."""
    keep = sorted({1, total, *range(max(1, page - around), min(total, page + around) + 1)})
    out: list[int | None] = []
    for n in keep:
        last = out[-1] if out else None
        if last is not None and n - last > 1:
            out.append(None)
        out.append(n)
    return out


def when(ts: float | None) -> str:
    return "—" if ts is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def ago(ts: float | None, now: float) -> str:
    """``3 min ago``, ``in 12 min``: relative to the page's time (no script keeps it fresh)."""
    if ts is None:
        return ""
    delta = now - ts
    span = abs(delta)
    if span < 60:
        text = f"{span:.0f} s"
    elif span < 3600:
        text = f"{span / 60:.0f} min"
    elif span < 86400 * 2:
        text = f"{span / 3600:.1f} h"
    else:
        text = f"{span / 86400:.0f} days"
    return f"{text} ago" if delta >= 0 else f"in {text}"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"


# -- an account --------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldView:
    """One managed value: what the playbook wants (and where), what live was at the last cycle."""

    path: str
    desired: Any
    source: str | None
    live: Any
    outcome: str | None  # the last cycle's drift outcome for it; None: in sync
    reason: str | None
    wanted: bool = True  # False: live has it, the playbook does not (an extra target it prunes)

    @property
    def presence(self) -> bool:
        """Whether the value is only "this target / schedule is there" (shown as such, unquoted)."""
        return self.path.endswith("]") and self.desired == "present"

    @property
    def differs(self) -> bool:
        return self.outcome is not None and self.outcome != DriftOutcome.FIXED

    def public(self) -> dict[str, Any]:
        return {"path": self.path, "desired": redact_value(self.desired) if self.wanted else None,
                "source": self.source, "live": redact_value(self.live), "in_sync": self.outcome is None,
                "outcome": self.outcome, "reason": redact_value(self.reason)}


@dataclass(frozen=True)
class KindView:
    kind: str
    fields: list[FieldView]
    blocked: list[str] = field(default_factory=list)  # messages of a whole kind that could not be read


def account_kinds(record: AccountRecord) -> list[KindView]:
    """Each managed kind's values, desired beside live, as of the cycle that judged the account."""
    drift: dict[tuple[str, str], DriftEvent] = {(e.kind, e.path): e for e in record.last_cycle}
    out: list[KindView] = []
    for kind, fields in (record.desired or {}).items():
        views: list[FieldView] = []
        blocked = [redact_text(e.reason or "") for e in record.last_cycle if e.kind == kind and e.path == "*"]
        for path, value, source in fields:
            e = drift.pop((kind, path), None)
            if e is None:
                views.append(FieldView(path, value, source, value, None, None))
            else:
                live = e.before if e.action not in (Action.CREATE, Action.ADD) else "(absent)"
                views.append(FieldView(path, value, source, live, e.outcome, e.reason))
        for (k, path), e in sorted(drift.items()):  # live has it, the playbook does not name it as such
            if k == kind and path != "*":
                wanted = e.action not in (Action.REMOVE, Action.DELETE)
                views.append(FieldView(path, e.after if wanted else None, None, e.before, e.outcome, e.reason,
                                       wanted=wanted))
        out.append(KindView(kind, views, blocked))
    return sorted(out, key=lambda k: _kind_order(k.kind))


def _kind_order(kind: str) -> int:
    order = [k.value for k in Kind]
    return order.index(kind) if kind in order else len(order)


# -- a run -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ShownGroup:
    """One line of a run's changes: identical rows on ``count`` accounts, the first few named."""

    kind: str
    symbol: str
    text: str
    outcome: str
    reason: str | None
    count: int
    accounts: list[tuple[int, str]]

    def public(self) -> dict[str, Any]:
        return {"kind": self.kind, "change": redact_text(self.text), "outcome": self.outcome,
                "reason": redact_value(self.reason), "accounts": self.count,
                "usernames": [name for _, name in self.accounts]}


def run_groups(record: RunRecord) -> list[tuple[str, list[ShownGroup]]]:
    """A run's drift rows by outcome (fixed last: what needs reading first), each outcome's
    grouped and ordered as a plan's (`group_changes`: kind, action order, path)."""
    by_outcome: dict[str, list[ChangeCount]] = {}
    for c in record.changes:
        by_outcome.setdefault(c.outcome, []).append(c)
    order = [o.value for o in DriftOutcome if o != DriftOutcome.FIXED] + [DriftOutcome.FIXED.value]
    out = []
    for outcome in sorted(by_outcome, key=lambda o: order.index(o) if o in order else len(order)):
        counts = by_outcome[outcome]
        # One representative change per counted row (its index in ``ref``, which grouping
        # ignores): `group_changes` merges and orders them as a plan does, and its text says
        # what they do; how many accounts, and which, come from SQLite's counts.
        reps = [Change(0, "", Kind(c.kind), _action(c.action), c.path, c.before, c.after, ref=i)
                for i, c in enumerate(counts)]
        shown_groups = []
        for g in group_changes(reps):
            members = [counts[rep.ref] for rep in g.changes]
            named = sorted({a for m in members for a in m.accounts}, key=lambda a: (a[1], a[0]))
            blocked_kind = g.first.path == "*"
            shown_groups.append(ShownGroup(g.kind, "✋" if blocked_kind else g.symbol,
                                           "the whole kind" if blocked_kind else g.text, outcome, members[0].reason,
                                           sum(m.count for m in members), named[:SHOWN]))
        out.append((outcome, shown_groups))
    return out


def _action(name: str) -> Action:
    try:
        return Action(name)
    except ValueError:  # a blocked kind as a whole is recorded with action "any"
        return Action.SET


# -- drift over time -----------------------------------------------------------------------
@dataclass(frozen=True)
class Bar:
    run_id: int
    x: float
    width: float
    parts: list[tuple[str, float, float, int]]  # (series, y, height, count)
    title: str
    error: bool


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    top: int
    bottom: int
    left: int
    bars: list[Bar]
    ymax: int
    first: str
    last: str
    first_x: float  # where the oldest bar starts (its time is written under it)

    @property
    def baseline(self) -> int:
        return self.height - self.bottom


SERIES = ("fixed", "left", "failed")


def chart(cycles: Sequence[CycleLine], width: int = 720, height: int = 180) -> Chart:
    """Differences found per cycle (oldest left), stacked by what the cycle did about them:
    fixed, left as they are (reported, held), failed. A cycle that failed as a whole is a
    red mark on the baseline. Blocked changes are not drift: they are counted apart."""
    lines = list(reversed(cycles))
    top, bottom, left, right = 12, 22, 44, 8
    totals = []
    for c in lines:
        series = dict.fromkeys(SERIES, 0)
        for outcome, n in ((c.counts or {}).get("outcomes") or {}).items():
            if outcome in OUTCOMES:
                series[OUTCOMES[outcome]] += n
        totals.append(series)
    ymax = max([sum(s.values()) for s in totals] + [1])
    plot_w, plot_h = width - left - right, height - top - bottom
    # At least ``slots`` places, the newest at the right: a young loop's two cycles are two
    # bars by the "now" edge, not two slabs across the chart.
    slots = max(len(lines), 40)
    step = plot_w / slots
    first_x = left + (slots - len(lines)) * step
    bars = []
    for i, (c, series) in enumerate(zip(lines, totals, strict=True)):
        x = first_x + i * step + step * 0.15
        y = float(height - bottom)
        parts = []
        for name in SERIES:
            n = series[name]
            if n:
                h = max(1.0, n / ymax * plot_h)
                y -= h
                parts.append((name, round(y, 1), round(h, 1), n))
        said = ", ".join(f"{n} {name}" for name, n in series.items() if n) or "no drift"
        title = f"cycle #{c.run_id} · {when(c.at)} · {c.result}: {said}"
        bars.append(Bar(c.run_id, round(x, 1), round(max(step * 0.7, 1.0), 1), parts, title, c.counts is None))
    return Chart(width, height, top, bottom, left, bars, ymax, when(lines[0].at) if lines else "",
                 when(lines[-1].at) if lines else "", round(first_x, 1))


def cycle_public(c: CycleLine) -> dict[str, Any]:
    counts = c.counts or {}
    return {"run_id": c.run_id, "at": c.at, "mode": c.mode, "result": c.result,
            "accounts": counts.get("states", {}), "drift": counts.get("outcomes", {}),
            "drift_by_kind": counts.get("kinds", {}), "blocked": counts.get("blocked", {}),
            "read": counts.get("read")}
