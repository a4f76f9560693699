"""``orchestrator history``: when each run started, how long it took, who ran it (user@host),
the playbook hash, how it ended, and which run resumed which; older databases gain the new
columns when opened."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from orchestrator.cli import app
from orchestrator.history import History


def test_history_lines_say_when_who_what_and_the_resume_links(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    history = History(db)
    try:
        first = history.start_run("apply", "sha256:" + "ab" * 32, [1, 2])
        history.finish_run(first, "interrupted", {"message": "interrupted: in-flight calls finished, the journal "
                                                             "is written; run apply --resume", "plan": {"total": 7}})
        second = history.start_run("apply", "sha256:" + "ab" * 32, [2], resumes=first)
        history.finish_run(second, "succeeded", {"message": "applied and verified", "plan": {"total": 3}})
    finally:
        history.close()
    result = CliRunner().invoke(app, ["history", "--state-db", str(db)])
    assert result.exit_code == 0, result.output
    newest, oldest = result.stdout.strip().splitlines()
    host = socket.gethostname()
    assert newest.startswith(f"#{second} apply succeeded 20")
    assert f"@{host}" in newest and "playbooks sha256:abababab" in newest and "changes=3 accounts=1" in newest
    assert f"(resumes #{first})" in newest and newest.endswith("applied and verified")
    assert oldest.startswith(f"#{first} apply interrupted 20") and "s) by " in oldest
    assert oldest.endswith(f"the journal is written; resumed by #{second}") and "run apply --resume" not in oldest


def test_an_older_database_gains_the_new_columns(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, started REAL NOT NULL, finished REAL, "
                     "command TEXT NOT NULL, playbook_hash TEXT, status TEXT NOT NULL, accounts TEXT NOT NULL, "
                     "report TEXT)")
        conn.execute("INSERT INTO runs (started, command, status, accounts) VALUES (1.0, 'apply', 'running', '[]')")
    conn.close()
    history = History(db)
    try:
        (old,) = history.runs()
        assert (old.host, old.user, old.resumes, old.duration) == (None, None, None, None)
        new = history.start_run("apply", None, [])
        assert history.runs(1)[0].id == new and history.runs(1)[0].host == socket.gethostname()
    finally:
        history.close()
