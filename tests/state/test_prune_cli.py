"""``orchestrator history prune``: what the retention policy no longer keeps goes, in one line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from orchestrator.cli.app import app
from tests.harness.stores import TEST_URL, SyncStore

ENV = {"SHARINGTOOLS_BASE_URL": TEST_URL}


def test_prune_keeps_the_newest_runs(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    with SyncStore(db) as store:
        for i in range(20):
            run = store.start_run("apply", None, [i])
            store.op_finished(store.op_started(run, i, "account", "change_proxy", {}))
            store.finish_run(run, "succeeded", {})
    result = CliRunner().invoke(app, ["history", "prune", "--keep", "5", "--state-db", str(db)], env=ENV)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "pruned 15 runs, 15 journal entries and 0 drift states"
    with SyncStore(db) as store:
        assert [r.id for r in store.runs(50)] == [20, 19, 18, 17, 16]
    again = CliRunner().invoke(app, ["history", "prune", "--older-than", "30d", "--state-db", str(db)], env=ENV)
    assert again.stdout.strip() == "pruned 0 runs, 0 journal entries and 0 drift states"


def test_a_bad_age_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["history", "prune", "--older-than", "soon", "--state-db",
                                      str(tmp_path / "state.db")], env=ENV)
    assert result.exit_code == 1
    assert result.stderr.strip() == "error: --older-than 'soon': use a duration such as 30d, 12h or 90m"
