"""The plan as Markdown for a pull-request comment, within the size a comment holds.

GitHub refuses a comment over 65,536 characters. The comment is built in order of value, and
each part goes in only while it fits `MARKDOWN_BUDGET` (a margin under the limit): the summary
and the table of changes by kind, then one row per grouped change, then the accounts of each
change in collapsed ``<details>`` blocks. What is cut is said, with a pointer to the complete
JSON plan.
"""

from __future__ import annotations

from orchestrator.render.blocked import render_markdown as blocked_markdown
from orchestrator.plan import Plan
from orchestrator.render.changes import ChangeGroup, group_changes, summary_line
from orchestrator.render.legend import Legend
from orchestrator.render.windows import render_markdown as windows_markdown

COMMENT_LIMIT = 65_536
MARKDOWN_BUDGET = 60_000  # leaves room for a bot's own header and footer around the plan
TITLE = "### Sharingtools plan"
FULL_PLAN = "`orchestrator plan PLAYBOOKS --format json --out plan.json`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(group: ChangeGroup, legend: Legend) -> str:
    names = group.usernames
    who = names[0] if len(names) == 1 else f"{len(names)}: {legend.name_accounts(names, group.first.source)}"
    source = group.first.source or ""
    entry = legend.entry_name(source)
    where = source + (f" ({entry})" if entry else "")
    change = f"{group.symbol} {group.text}" + (" (drift)" if group.drift else "")
    return f"| {group.kind} | {_code(_cell(change))} | {_cell(who)} | {_cell(where)} |"


def _code(text: str) -> str:
    """An inline code span, fenced with more backticks than the text holds in a row."""
    if "`" not in text:
        return f"`{text}`"
    fence = "`" * (_longest_backticks(text) + 1)
    return f"{fence} {text} {fence}"


def _longest_backticks(text: str) -> int:
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return longest


def _details(group: ChangeGroup) -> str:
    summary = f"{group.kind} · {group.symbol} {group.text} ({len(group.changes)} accounts)"
    summary = summary.replace("<", "&lt;").replace(">", "&gt;")
    return f"<details><summary>{summary}</summary>\n\n{', '.join(group.usernames)}\n\n</details>"


def summary_lines(plan: Plan) -> list[str]:
    """The summary line and the table of changes by kind and action (or "No changes")."""
    if plan.empty:
        return ["No changes. The installation matches the playbooks"
                + (", but for what is blocked." if plan.blocked else ".")]
    out = [summary_line(plan), "", "| kind | action | changes |", "|---|---|---|"]
    for kind, actions in plan.summary()["by_kind"].items():
        out += [f"| {kind} | {action} | {n} |" for action, n in actions.items()]
    return out


def render_markdown(plan: Plan, *, legend: Legend | None = None, budget: int = MARKDOWN_BUDGET,
                    full_plan: str = FULL_PLAN, fit: str = "a pull-request comment") -> str:
    """Ready to paste into a pull-request comment, and never longer than ``budget`` characters.

    When something is cut, the note says it was cut to fit ``fit`` and that the complete plan
    is at ``full_plan`` (a command, a URL, a Markdown link)."""
    legend = legend or Legend()
    out: list[str] = [TITLE, ""]
    size = 0

    def fits(text: str, reserve: int = 400) -> bool:
        return size + len(text) + 1 + reserve <= budget

    def put(text: str) -> None:
        nonlocal size
        out.append(text)
        size += len(text) + 1

    size = sum(len(x) + 1 for x in out)
    for line in summary_lines(plan):
        put(line)
    cut: list[str] = []
    if legend.problems:
        put("")
        put(f"**{len(legend.problems)} problems** (those accounts are left out; the others are planned):")
        put("")
        for i, problem in enumerate(legend.problems):
            line = f"- {_cell(problem)}"
            if not fits(line):
                cut.append(f"{len(legend.problems) - i} problems")
                break
            put(line)
    groups = group_changes(plan.changes, legend.drift)
    shown = 0
    if groups:
        put("")
        put("| kind | change | accounts | source |")
        put("|---|---|---|---|")
        for group in groups:
            row = _row(group, legend)
            if not fits(row):
                cut.append(f"{len(groups) - shown} of {len(groups)} changes")
                break
            put(row)
            shown += 1
        if any(g.drift for g in groups[:shown]):
            put("")
            put("_(drift): live differs from what the last apply set; the change undoes it._")
    if plan.blocked:
        block = blocked_markdown(plan.blocked).rstrip("\n")
        if fits(block):
            put(block)
        else:
            cut.append(f"the list of {len(plan.blocked)} blocked changes")
    windows = windows_markdown(plan.windows, legend)
    if windows:
        if fits(windows):
            put(windows)
        else:
            cut.append("the window transitions ahead")
    blocks = [g for g in groups[:shown] if len(g.changes) > 1]
    if blocks:
        put("")
        written = 0
        for group in blocks:
            block = _details(group)
            if not fits(block):
                break
            put(block)
            written += 1
        if written < len(blocks):
            cut.append(f"the account lists of {len(blocks) - written} of {len(blocks)} changes")
    if cut:
        put("")
        put(f"> Cut to fit {fit}: {'; '.join(cut)} left out. "
            f"The complete plan, per account: {full_plan}.")
    put("")
    return "\n".join(out)
