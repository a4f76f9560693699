"""Drift history and per-account backoff: what the state store keeps of reconcile cycles, and
how ``history`` shows it.

Every reconcile cycle records what differed *before* it acted, by account, kind and field,
with what it did about it (``outcome``, a `DriftOutcome`): fixed, failed, unverified, reported,
held, backed off, blocked, not started, interrupted. The store keeps these as *states*
(``DriftState``): a fact seen again as it was only moves its last sighting and count, so a
blocked account or held drift that repeats every cycle is one row, not one per cycle.
``orchestrator history show RUN`` says what one cycle found, and ``orchestrator history``
what keeps drifting, and where.

Backoff follows client-go's workqueue (``ItemExponentialFailureRateLimiter``): an account
whose changes fail or do not verify is retried after ``base * 2**(failures-1)`` seconds,
capped, while every other account goes on; a cycle that applies it and verifies forgets it.
Backed-off accounts are reported, not hammered. Values pass through the redaction of
``orchestrator.log`` before they are written.
"""

from __future__ import annotations

import json
import time
from typing import Any

from orchestrator.contract.vocabulary import DriftOutcome
from orchestrator.state.store import Backoff, BackoffPolicy, DriftRow, DriftState

__all__ = ["Backoff", "BackoffPolicy", "DriftRow", "DriftState", "OUTCOMES", "render_run", "render_hot_spots"]

OUTCOMES = tuple(o.value for o in DriftOutcome)


# -- rendering (history show, history) ------------------------------------------------------------
def _value(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, default=str, sort_keys=True)


def render_run(run: Any, rows: list[DriftRow]) -> str:
    """``history show RUN``: the run, then its drift by account and kind, one line per field."""
    report = run.report or {}
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(run.started))
    lines = [f"#{run.id} {run.command} {run.status}  started {when}"]
    if report.get("message"):
        lines.append(f"  {report['message']}")
    cause = (report.get("reconcile") or {}).get("cause") or {}
    if cause.get("reason") == "window":  # the cycle ran because entry windows opened or closed
        lines.append("  ran for the window: " + ", ".join(
            f"`{w.get('entry')}` {'opened' if w.get('event') == 'open' else 'closed'} at {w.get('at')}"
            for w in cause.get("windows", [])))
    if not rows:
        lines.append("  no drift recorded" if run.command.startswith("reconcile") else
                     "  no drift recorded (drift is recorded by reconcile cycles)")
        return "\n".join(lines)
    current: tuple[str, str] | None = None
    for r in rows:
        if (r.username, r.kind) != current:
            current = (r.username, r.kind)
            lines.append(f"\n{r.username} · {r.kind}")
        what = r.path if r.action not in ("update", "set") else f"{r.path}: {_value(r.before)} -> {_value(r.after)}"
        if r.action in ("activate", "pause", "start", "stop"):
            what = f"{r.path}: {r.before} -> {r.after}"
        lines.append(f"  {r.outcome:<11} {r.action:<8} {what}" + (f"   ({r.reason})" if r.reason else ""))
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    lines.append("\n" + ", ".join(f"{n} {o}" for o, n in sorted(counts.items())) + ".")
    return "\n".join(lines)


def render_hot_spots(spots: list[dict[str, Any]]) -> str:
    """``history``'s answer to "what keeps drifting, and where?"."""
    if not spots:
        return ""
    lines = ["What keeps drifting (recent reconcile cycles):"]
    for s in spots:
        lines.append(f"  {s['cycles']:>3} cycles  {s['username']} · {s['kind']} {s['path']}")
    return "\n".join(lines)
