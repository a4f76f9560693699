"""The end of an apply on stdout: failures, unverified changes and problems, the first 20 of
them, then where the full list is (the ``--report`` file)."""

from __future__ import annotations

import io

from rich.console import Console

from orchestrator.apply.run import EXIT_PARTIAL, ApplyOutcome
from orchestrator.apply.executor import ExecutionResult
from orchestrator.kinds import AccountIssue
from orchestrator.plan import Plan
from orchestrator.cli.apply import _summarise

EMPTY_REPORT = {"operations": {}, "requests_total": 0, "bulk_calls": 0, "retries": 0, "duration_seconds": 0}


def summary(outcome: ApplyOutcome, report_path: str | None) -> list[str]:
    out = io.StringIO()
    _summarise(Console(file=out, width=200, highlight=False), outcome, EMPTY_REPORT, report_path)
    return out.getvalue().splitlines()


def outcome_with(failures: int, problems: int) -> ApplyOutcome:
    execution = ExecutionResult(failures=[AccountIssue(i, f"acct_{i:03d}", "reactions", "HTTP 500", "update_settings")
                                          for i in range(1, failures + 1)])
    return ApplyOutcome(EXIT_PARTIAL, Plan.build([], "sha256:0", {}, 0), execution=execution,
                        problems=[AccountIssue(0, f"gone_{i}", None, "no such account") for i in range(problems)],
                        message="partial: 24 accounts failed")


def test_the_first_20_then_a_pointer_to_the_report() -> None:
    lines = summary(outcome_with(24, 2), None)
    listed = [line for line in lines if line.startswith(("failed ", "problem "))]
    assert len(listed) == 20 and listed[0] == "failed acct_001 · reactions update_settings: HTTP 500"
    assert "… and 6 more: run again with --report FILE for the full list (JSON)" in lines
    assert lines[-1] == "partial: 24 accounts failed"
    assert "… and 6 more: the full list is in run.json" in summary(outcome_with(24, 2), "run.json")


def test_a_short_list_is_shown_whole() -> None:
    lines = summary(outcome_with(3, 1), None)
    assert [line.split(" ")[0] for line in lines[:-1]] == ["failed", "failed", "failed", "problem"]
    assert not any(line.startswith("…") for line in lines)
