"""Checking what the command line told the user: clean lines, never a traceback."""

from __future__ import annotations

import re
from typing import Any

PROGRESS = re.compile(r"^\w+( wave \d+/\d+)? · .*requests")
DIAGNOSTIC = re.compile(r"^\S.*:\d+:\d+: |^\S+: ")  # file:line:col: message, or file: message (whole file)
#: An upper bound for a subprocess to reach a point, in seconds; never a timing assertion.
WAIT = 60


def assert_clean(result: Any, codes: tuple[int, ...] = (1,)) -> list[str]:
    """The failure is told in clean lines: no traceback, each line a diagnostic or ``error:``."""
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in codes, (result.exit_code, result.stdout[-1500:], result.stderr[-1500:])
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr[-3000:]
    # The progress display's lines (not on a terminal: plain lines on stderr) are not the answer.
    lines = [line for line in result.stderr.splitlines() if line.strip() and not PROGRESS.match(line)]
    assert lines, result.stdout[-1500:]
    if result.exit_code == 2 and ("Usage:" in result.stderr or "Error" in result.stderr):
        return lines  # Click's own usage error: a usage line and one "Error:" line
    for line in lines:
        assert line.startswith("error: ") or DIAGNOSTIC.match(line), line
    return lines
