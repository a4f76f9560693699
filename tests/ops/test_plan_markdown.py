"""`plan --format markdown` for a CI bot: the marker line, the size budget (the summary stays,
what was cut and where the rest is are said), the summary-only form, the full Markdown for a
job summary from the same read, and one-line errors for options that make no sense."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.plan import Change, Plan
from orchestrator.render import Legend
from orchestrator.render.pr_comment import (
    FULL_BUDGET_BYTES,
    MarkdownOptions,
    render_comment,
    render_full,
)
from tests.harness.plan_cli import PLAYBOOKS, Cli, plan_cli  # noqa: F401  (``cli``: ``orchestrator plan`` against ``served``)
from tests.harness.served import served_per_module  # noqa: F401  (``served``: one uvicorn demo world per module)

MARKER = "<!-- sharingtools-orchestrator:plan -->"


def test_the_marker_is_the_first_line_and_the_rest_is_the_plan(cli: Cli) -> None:
    plain = cli.plan(PLAYBOOKS, "--format", "markdown")
    marked = cli.plan(PLAYBOOKS, "--format", "markdown", "--marker", "sharingtools-orchestrator:plan")
    assert plain.exit_code == marked.exit_code == 0, marked.output
    assert marked.stdout.splitlines()[0] == MARKER
    assert marked.stdout == f"{MARKER}\n{plain.stdout}"


def test_a_budget_keeps_the_summary_and_says_what_was_left_out_and_where_the_rest_is(
        cli: Cli, tmp_path: Path) -> None:
    full = tmp_path / "full.md"
    where = "[the job summary](https://github.com/acme/playbooks/actions/runs/1)"
    result = cli.plan(PLAYBOOKS, "--format", "markdown", "--marker", "bot:plan", "--max-chars", "5000",
                      "--full-plan", where, "--full-markdown", full)
    assert result.exit_code == 0, result.output
    comment = result.stdout.removesuffix("\n")  # typer.echo's newline
    assert len(comment) <= 5000
    lines = comment.splitlines()
    assert lines[0] == "<!-- bot:plan -->" and lines[3].startswith("Plan: 361 changes on 26 accounts (")
    assert "| reactions | update | 126 |" in lines  # the table by kind and action stays
    [note] = [line for line in lines if line.startswith("> Cut to fit a pull-request comment: ")]
    assert " of " in note and "left out" in note and note.endswith(f"The complete plan, per account: {where}.")
    # the same read, whole, for the job summary: every row and every account list
    text = full.read_text()
    assert "Cut to fit" not in text and text.startswith("### Sharingtools plan\n")
    assert text.count("<details>") > comment.count("<details>")
    assert "<!--" not in text  # the marker is the comment's, not the summary's


def test_summary_only(cli: Cli) -> None:
    result = cli.plan(PLAYBOOKS, "--format", "markdown", "--summary-only", "--full-plan", "the job summary")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "| kind | action | changes |" in text and "| kind | change | accounts | source |" not in text
    assert "**Blocked: 2 changes are not attempted**" in text
    assert text.rstrip().endswith("The complete plan, per account: the job summary.")
    assert len(text) < 2000


@pytest.mark.parametrize(("args", "message"), [
    (["--marker", "x"], "error: --marker: only with --format markdown"),
    (["--format", "json", "--summary-only", "--max-chars", "9000"],
     "error: --max-chars, --summary-only: only with --format markdown"),
    (["--format", "markdown", "--marker", "a--b"],
     "error: --marker 'a--b': use a name of letters, digits and . _ : / - (no \"--\"), such as "
     "sharingtools-orchestrator:plan"),
    (["--format", "markdown", "--marker=x -->"],
     "error: --marker 'x -->': use a name of letters, digits and . _ : / - (no \"--\"), such as "
     "sharingtools-orchestrator:plan"),
    (["--format", "markdown", "--max-chars", "100"], "error: --max-chars 100: at least 4,000 (the summary must fit)"),
    (["--format", "markdown", "--full-markdown", "/nonexistent/full.md"],
     "error: cannot write the full Markdown /nonexistent/full.md: the directory /nonexistent does not exist"),
])
def test_options_that_make_no_sense_end_in_one_line_before_any_request(
        cli: Cli, args: list[str], message: str) -> None:
    cli.reset_requests()
    result = cli.plan(PLAYBOOKS, *args)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert lines == [message]
    assert cli.requests() == {}


def _plan(changes: list[Change]) -> Plan:
    return Plan.build(changes, "sha256:" + "0" * 64, {}, len({c.account_id for c in changes}))


def test_the_full_markdown_fits_a_job_summary_in_bytes_not_characters() -> None:
    """Four-byte characters: 1,000,000 characters would be 4 MB; the job summary takes 1 MiB."""
    changes = [Change(i, f"acct_{i:05d}", "repost", "update", "settings.caption", "", "🌴" * 200 + str(i),
                      f"r.yaml:{i}:5") for i in range(1, 3001)]
    text = render_full(_plan(changes), Legend())
    assert len(text.encode()) <= FULL_BUDGET_BYTES
    assert "> Cut to fit a job summary (1 MiB): " in text and text.count("| repost |") > 100


def test_a_comment_never_exceeds_its_budget_even_when_the_summary_alone_would() -> None:
    """Hundreds of kinds of change: the table by kind is longer than the budget, so it is cut
    too, with the pointer."""
    changes = [Change(i, f"a{i}", f"kind_{i:03d}", "update", "settings.x", 1, 2, "p.yaml:1:1") for i in range(1, 400)]
    options = MarkdownOptions(marker="m", max_chars=4000, full_plan="the job summary")
    comment = render_comment(_plan(changes), Legend(), options)
    assert len(comment) <= 4000
    assert comment.startswith("<!-- m -->\n### Sharingtools plan\n")
    assert comment.rstrip().endswith("The complete plan, per account: the job summary.")
