"""Every malformed playbook in corpus/ gives exactly one diagnostic, where its header says.

Each file starts with ``# expect: LINE:COL: text``; the diagnostic must be at that line and
column and its one-line form must contain the text.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from orchestrator.playbook import PlaybookError, load, validate

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (\d+):(\d+): (.+)$")


def test_the_corpus_is_large_enough() -> None:
    assert len(FILES) >= 30


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_one_clear_error_at_the_right_place(path: Path) -> None:
    header = path.read_text(encoding="utf-8").splitlines()[0] if path.stat().st_size else ""
    match = EXPECT.match(header)
    assert match, f"{path.name} needs a '# expect: LINE:COL: text' header"
    line, col, text = int(match.group(1)), int(match.group(2)), match.group(3)

    problems = validate([path])

    assert len(problems) == 1, "\n".join(map(str, problems))
    problem = problems[0]
    assert (problem.file, problem.line, problem.col) == (str(path), line, col), str(problem)
    assert text in str(problem), str(problem)
    assert str(problem).startswith(f"{path}:{line}:{col}: ")


@pytest.mark.parametrize("path", FILES[:3], ids=[p.stem for p in FILES[:3]])
def test_load_raises_with_the_same_diagnostics(path: Path) -> None:
    with pytest.raises(PlaybookError) as raised:
        load(path)
    assert list(raised.value.diagnostics) == validate([path])
    assert str(raised.value.diagnostics[0]) in str(raised.value)
