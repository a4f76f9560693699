"""Entry windows as a plan shows them: the instant it is desired for, and the transitions
ahead, each with its entry, its accounts and what the desired state then changes."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from orchestrator.contract import WindowEvent
from orchestrator.plan import SYMBOL, Change, PlanWindows, Transition, TransitionChange, describe
from orchestrator.render.legend import Legend

TAKEN_BACK = "where an apply added it for the window"


def when(at: datetime, zone: str | None = None) -> str:
    """``2026-11-27 05:00 UTC``, and the wall time in ``zone`` when it is not UTC."""
    text = at.strftime("%Y-%m-%d %H:%M UTC")
    if zone and zone not in ("UTC", "Etc/UTC"):
        try:
            local = at.astimezone(ZoneInfo(zone))
        except (KeyError, ValueError):  # a zone this machine does not know: the UTC time says it all
            return text
        text += f" ({local:%Y-%m-%d %H:%M} {zone})" if local.date() != at.date() else f" ({local:%H:%M} {zone})"
    return text


def event_text(event: WindowEvent) -> str:
    return f'{"opens" if event.opens else "closes"} "{event.entry}" ({event.source})'


def change_text(c: TransitionChange) -> str:
    """``reactions ~ settings.likes_speed: 2 -> 4``"""
    shown = describe(Change(0, "", c.kind, c.action, c.path, c.before, c.after))
    note = f" ({TAKEN_BACK})" if c.after is None and c.action in ("remove", "delete") else ""
    return f"{c.kind} {SYMBOL.get(c.action, '?')} {shown}{note}"


def _who(c: TransitionChange, legend: Legend) -> str:
    names = list(c.usernames)
    if not names:  # a loaded plan keeps the count, not the names
        return f"on {c.accounts} account{'s' if c.accounts != 1 else ''}"
    if len(names) == 1:
        return f"on {names[0]}"
    return f"on {len(names)} accounts: {legend.name_accounts(names)}"


def _head(windows: PlanWindows) -> str:
    head = f"Windows: desired at {when(windows.at)}"
    return head + (f"; open: {', '.join(windows.open)}" if windows.open else "; none open")


def render_text(windows: PlanWindows | None, legend: Legend | None = None, *, colour: bool = False) -> str:
    """The windows block of a text plan ("" without windows)."""
    if windows is None:
        return ""
    legend = legend or Legend()
    escape = (lambda t: t.replace("[", "\\[")) if colour else (lambda t: t)
    lines = [escape(_head(windows) + ("." if not windows.transitions else ". Ahead:"))]
    for t in windows.transitions:
        zone = t.events[0].timezone if t.events else None
        events = "; ".join(event_text(e) for e in t.events)
        lines.append(escape(f"  {when(t.at, zone)}: {events}: " + _accounts(t)))
        for c in t.changes:
            lines.append(escape(f"      {change_text(c)} {_who(c, legend)}"))
    return "\n".join(lines)


def _accounts(t: Transition) -> str:
    if not t.changes:
        return "the desired state does not change"
    return f"{t.accounts} account{'s' if t.accounts != 1 else ''} change"


def render_markdown(windows: PlanWindows | None, legend: Legend | None = None) -> str:
    """The windows section of a Markdown plan ("" without windows): a list, one item per
    transition and its changes below (a table cell would cram several changes into one)."""
    if windows is None:
        return ""
    legend = legend or Legend()
    out = ["", f"**{_head(windows)}.**" + (" Ahead:" if windows.transitions else "")]
    if windows.transitions:
        out.append("")
    for t in windows.transitions:
        zone = t.events[0].timezone if t.events else None
        events = "; ".join(event_text(e) for e in t.events)
        out.append(_line(f"- {when(t.at, zone)}: {events}: {_accounts(t)}"))
        for c in t.changes:
            out.append("  - " + _code(change_text(c)) + " " + _line(_who(c, legend)))
    return "\n".join(out)


def _code(text: str) -> str:
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}" if fence == "`" else f"{fence} {text} {fence}"


def _line(text: str) -> str:
    return text.replace("\n", " ").replace("<", "&lt;")
