"""Blocked changes as a person reads them: one line of what to do, the changes waiting on it."""

from __future__ import annotations

from collections.abc import Sequence

from orchestrator.plan import SYMBOL, describe
from orchestrator.plan.blocked import Blocked, grouped


def _what(b: Blocked) -> str:
    what = f"{b.username} · {b.kind}"
    if b.change is not None:
        what += f" {SYMBOL.get(b.change.action, '?')} {describe(b.change)}"
    return what


def render_text(blocked: Sequence[Blocked], *, colour: bool = False) -> str:
    """One line of what to do per account and reason, then the changes that wait on it."""
    if not blocked:
        return ""
    accounts = len({b.account_id for b in blocked})
    changes = f"{len(blocked)} change" + ("s" if len(blocked) != 1 else "")
    head = (f"Blocked: {changes} on {accounts} account{'s' if accounts != 1 else ''} "
            "not attempted (the server would undo or refuse them):")
    escape = (lambda t: t.replace("[", "\\[")) if colour else (lambda t: t)
    lines = [f"[yellow]{escape(head)}[/]" if colour else head]
    for message, items in grouped(blocked):
        lines.append(f"  ✋ {escape(message)}")
        for b in items:
            source = f"   ({b.change.source})" if b.change is not None and b.change.source else ""
            lines.append(f"      {escape(_what(b) + source)}")
    return "\n".join(lines)


def render_markdown(blocked: Sequence[Blocked]) -> str:
    """A list, not a table: one item per thing to do, the changes waiting on it below."""
    if not blocked:
        return ""
    out = ["", f"**Blocked: {len(blocked)} changes are not attempted** (the server would undo or refuse them)", ""]
    for message, items in grouped(blocked):
        out.append(f"- {message}")
        out += [f"  - `{_what(b)}`" for b in items]
    return "\n".join(out) + "\n"
