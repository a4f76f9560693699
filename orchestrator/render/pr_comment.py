"""The plan as the pull-request comment a CI bot keeps up to date, and as its job summary.

``orchestrator plan --format markdown`` takes, for CI (``deploy/github/plan-comment.sh``):

- ``--marker NAME``: a hidden first line ``<!-- NAME -->``. The bot finds its own comment
  again by it and edits that one, so a pull request has one plan comment however many
  pushes it gets, not one per push.
- ``--max-chars N``: the size budget (default 60,000; GitHub refuses a comment over 65,536).
  ``markdown.render_markdown`` keeps the summary and cuts the rows and account lists,
  saying what it left out and where the complete plan is: ``--full-plan`` (a URL or a
  Markdown link, such as the run's job summary; by default the command that writes the
  complete plan as JSON).
- ``--summary-only``: the summary and the table of changes by kind and action, nothing else.
- ``--full-markdown FILE``: from the same read, the plan within a job summary's 1 MiB,
  for ``$GITHUB_STEP_SUMMARY``: reading the installation twice would cost twice the requests
  and could show two different plans.

The budget is in characters, as GitHub counts a comment; a job summary is limited in bytes,
so the full Markdown is shrunk until its UTF-8 fits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from orchestrator.plan import Plan
from orchestrator.render.legend import Legend
from orchestrator.render.markdown import (
    COMMENT_LIMIT,
    FULL_PLAN,
    MARKDOWN_BUDGET,
    TITLE,
    render_markdown,
    summary_lines,
)

JOB_SUMMARY_BYTES = 1_048_576  # GitHub's limit for one step's $GITHUB_STEP_SUMMARY
FULL_BUDGET_BYTES = 1_000_000  # leaves room for the lines a script writes around the plan
MIN_CHARS = 4_000  # the summary table of every kind and action fits in this
# An HTML comment may not contain "--"; a marker is a name, such as "sharingtools-orchestrator:plan".
MARKER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._:/]|-(?!-))*")


def marker_line(name: str) -> str:
    """The hidden line a comment starts with: invisible on GitHub, found again by the bot."""
    return f"<!-- {name} -->"


@dataclass(frozen=True)
class MarkdownOptions:
    """The Markdown options of ``plan``; ``check`` says what is wrong with them, if anything."""

    marker: str | None = None
    max_chars: int | None = None  # None: MARKDOWN_BUDGET
    full_plan: str | None = None
    summary_only: bool = False
    full_markdown: str | None = None  # a file

    @property
    def budget(self) -> int:
        return MARKDOWN_BUDGET if self.max_chars is None else self.max_chars

    def given(self) -> list[str]:
        return [name for name, value in (("--marker", self.marker), ("--max-chars", self.max_chars),
                                         ("--full-plan", self.full_plan), ("--summary-only", self.summary_only or None),
                                         ("--full-markdown", self.full_markdown)) if value is not None]

    def check(self, format: str) -> str | None:
        """One line saying what is wrong (for ``error: …``), or None."""
        given = self.given()
        if given and format != "markdown":
            return f"{', '.join(given)}: only with --format markdown"
        if self.marker is not None and not MARKER.fullmatch(self.marker):
            return (f"--marker {self.marker!r}: use a name of letters, digits and . _ : / - "
                    "(no \"--\"), such as sharingtools-orchestrator:plan")
        if self.max_chars is not None and self.max_chars < MIN_CHARS:
            return f"--max-chars {self.max_chars}: at least {MIN_CHARS:,} (the summary must fit)"
        if self.full_plan is not None and ("\n" in self.full_plan or len(self.full_plan) > 300):
            return "--full-plan: one line of at most 300 characters (a URL or a Markdown link)"
        return None


def render_comment(plan: Plan, legend: Legend, options: MarkdownOptions) -> str:
    """The comment: the marker line, then the plan (or its summary) within ``options.budget``
    characters, marker included."""
    head = marker_line(options.marker) + "\n" if options.marker else ""
    budget = options.budget - len(head)
    pointer = options.full_plan or FULL_PLAN
    body = "" if options.summary_only else render_markdown(plan, legend=legend, budget=budget, full_plan=pointer)
    if options.summary_only or len(body) > budget:  # the summary alone is longer than the budget: say less
        body = render_summary(plan, legend, pointer)
    if len(body) > budget:  # a budget near MIN_CHARS and a plan touching every kind and action
        body = _cut_lines(body, budget, pointer)
    return head + body


def render_summary(plan: Plan, legend: Legend, pointer: str = FULL_PLAN) -> str:
    """The summary, the table by kind and action, how many problems and blocked changes."""
    out = [TITLE, "", *summary_lines(plan)]
    if legend.problems:
        out += ["", f"**{len(legend.problems)} problems** (those accounts are left out; the others are planned)."]
    if plan.blocked:
        out += ["", f"**Blocked: {len(plan.blocked)} changes are not attempted** "
                    "(the server would undo or refuse them)."]
    if not plan.empty or plan.blocked or legend.problems:
        out += ["", f"The complete plan, per account: {pointer}."]
    return "\n".join(out) + "\n"


def render_full(plan: Plan, legend: Legend) -> str:
    """The plan within a job summary: at most ``FULL_BUDGET_BYTES`` of UTF-8. Cut (with the
    note pointing to the JSON plan) only past that: about 1,000,000 characters of plan."""
    budget = FULL_BUDGET_BYTES
    for _ in range(6):  # each pass shrinks by the measured bytes per character: a few at most
        text = render_markdown(plan, legend=legend, budget=budget, fit="a job summary (1 MiB)")
        size = len(text.encode("utf-8"))
        if size <= FULL_BUDGET_BYTES:
            return text
        budget = int(budget * FULL_BUDGET_BYTES / size * 0.97)
    return render_summary(plan, legend)


def _cut_lines(text: str, budget: int, pointer: str) -> str:
    note = f"\n> Cut to {budget:,} characters. The complete plan, per account: {pointer}.\n"
    keep = text[: max(0, budget - len(note))]
    return keep[: keep.rfind("\n") + 1] + note


__all__ = ["COMMENT_LIMIT", "JOB_SUMMARY_BYTES", "MarkdownOptions", "marker_line", "render_comment", "render_full",
           "render_summary"]
