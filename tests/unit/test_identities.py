"""What the state database remembers of server objects (``state/identities.py``): written by
an apply through the history's connection, read once and read-only by a plan."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from orchestrator.kinds import ProcessMemory
from orchestrator.state.history import History
from orchestrator.state.identities import Identities, remembered


def test_an_apply_remembers_and_a_plan_reads_a_copy(tmp_path: Path) -> None:
    history = History(tmp_path / "state.db")
    try:
        ids = Identities(history.db)
        ids.remember_object("posts", 7, "winter-teaser", 4312)
        ids.remember_object("posts", 8, "winter-teaser", 4313)
        ids.remember_upload("ab" * 32, 42)
        assert ids.objects("posts", [7]) == {(7, "winter-teaser"): 4312}
        assert ids.upload("ab" * 32) == 42 and ids.upload("cd" * 32) is None
        ids.forget_object("posts", 8, "winter-teaser")
        ids.forget_upload("cd" * 32)  # forgetting what is not there is fine
    finally:
        history.close()
    objects, uploads = remembered(tmp_path / "state.db")
    assert objects == {("posts", 7, "winter-teaser"): 4312} and uploads == {"ab" * 32: 42}
    copy = ProcessMemory(objects, uploads)
    copy.remember_upload("cd" * 32, 43)  # a plan's copy learns for its run only
    assert remembered(tmp_path / "state.db")[1] == {"ab" * 32: 42}
    assert copy.objects("posts", [7, 8]) == {(7, "winter-teaser"): 4312}


def test_no_database_or_an_older_one_remembers_nothing_and_is_not_created(tmp_path: Path) -> None:
    assert remembered(tmp_path / "none.db") == ({}, {}) and not (tmp_path / "none.db").exists()
    assert remembered(None) == ({}, {})
    sqlite3.connect(tmp_path / "old.db").execute("CREATE TABLE runs (id INTEGER)").connection.close()
    assert remembered(tmp_path / "old.db") == ({}, {})
