"""The plan as text for a terminal: identical changes grouped across accounts, one line each,
with the accounts named compactly, the source and the entry's name; ``detail`` lists every
account under its change."""

from __future__ import annotations

import textwrap

from orchestrator.render.blocked import render_text as blocked_text
from orchestrator.plan import COLOUR, Plan
from orchestrator.render.changes import ChangeGroup, group_changes, summary_line
from orchestrator.render.legend import Legend
from orchestrator.render.windows import render_text as windows_text

NO_CHANGES = "No changes. The installation matches the playbooks."
NO_CHANGES_BUT_BLOCKED = "No changes. The installation matches the playbooks, but for what is blocked."
DRIFT_NOTE = "drift: live differs from what the last apply set"


def render_text(plan: Plan, *, colour: bool = False, legend: Legend | None = None, detail: bool = False) -> str:
    """Human-readable, grouped by kind then change; ``colour`` adds rich markup."""
    legend = legend or Legend()
    windows = windows_text(plan.windows, legend, colour=colour)
    if plan.empty:
        if plan.blocked:
            return NO_CHANGES_BUT_BLOCKED + "\n" + blocked_text(plan.blocked, colour=colour) + _after(windows)
        return NO_CHANGES + _after(windows)
    lines: list[str] = []
    kind = None
    groups = group_changes(plan.changes, legend.drift)
    for group in groups:
        if group.kind != kind:
            kind = group.kind
            lines += ["", f"[cyan]{kind}[/]" if colour else kind]
        lines.append(group_line(group, legend, colour))
        if detail:
            names = ", ".join(group.usernames)
            lines += textwrap.wrap(names, 100, initial_indent="      ", subsequent_indent="      ",
                                   break_on_hyphens=False)
    if any(g.drift for g in groups):
        lines += ["", f"(drift) {DRIFT_NOTE}: someone changed it outside the orchestrator."]
    if plan.blocked:  # before the summary, which stays the last line
        lines += ["", blocked_text(plan.blocked, colour=colour)]
    if windows:
        lines += ["", windows]
    lines += ["", summary_line(plan)]
    return "\n".join(lines).lstrip("\n")


def _after(block: str) -> str:
    return "\n\n" + block if block else ""


def accounts_text(group: ChangeGroup, legend: Legend) -> str:
    names = group.usernames
    if len(names) == 1:
        return f"on {names[0]}"
    return f"on {len(names)} accounts: {legend.name_accounts(names, group.first.source)}"


def source_text(group: ChangeGroup, legend: Legend) -> str:
    source = group.first.source
    if not source:
        return ""
    name = legend.entry_name(source)
    return f"({source}" + (f' "{name}"' if name else "") + ")"


def group_line(group: ChangeGroup, legend: Legend, colour: bool = False) -> str:
    """``  ~ settings.likes_speed: 3 -> 4 on 412 accounts: fashion, fitness   (growth.yaml:22:9 "Faster")``"""
    sym, text, drift = group.symbol, group.text, " (drift)" if group.drift else ""
    if group.first.window is not None and group.first.action in ("remove", "delete"):
        drift += " (its window closed)"
    who, source = accounts_text(group, legend), source_text(group, legend)
    if colour:
        line = f"  [{COLOUR.get(sym, 'white')}]{sym}[/] {_escape(text)}{drift} [bold]{_escape(who)}[/]"
        return line + (f"   [dim]{_escape(source)}[/]" if source else "")
    return f"  {sym} {text}{drift} {who}" + (f"   {source}" if source else "")


def _escape(text: str) -> str:
    return text.replace("[", "\\[")
