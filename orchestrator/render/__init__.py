"""Rendering a plan for people and machines: text for a terminal, Markdown for a pull-request
comment, JSON for tools (and ``apply --plan``).

Text and Markdown are read by a person at fleet scale, so identical changes are grouped across
accounts (`changes.group_changes`) and the accounts named compactly (`legend.Legend`): by the
playbook's groups, by username globs, else the first few names. JSON stays complete: one
object per change.
"""

from orchestrator.render.changes import ChangeGroup, describe, group_changes, summary_line
from orchestrator.render.json_plan import render_json, write_json
from orchestrator.render.legend import Legend
from orchestrator.render.markdown import MARKDOWN_BUDGET, render_markdown
from orchestrator.render.text import render_text

__all__ = ["MARKDOWN_BUDGET", "ChangeGroup", "Legend", "describe", "group_changes", "render_json", "write_json",
           "render_markdown", "render_text", "summary_line"]
