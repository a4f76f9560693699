"""The reconcile command line: one-line errors for bad options, --once exit codes, the
textfile of --metrics-file, and history show for a run that is not there."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from typer.testing import CliRunner

from orchestrator.cli.app import app, parse_duration, parse_fraction
from tests.harness import PLAYBOOKS

runner = CliRunner()


@pytest.fixture(autouse=True)
def _here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no stray orchestrator.yaml or .orchestrator/ is read or written


def test_durations_and_fractions() -> None:
    assert [parse_duration(t) for t in ("15m", "90s", "1h", "1h30m", "45")] == [900, 90, 3600, 5400, 45]
    assert parse_fraction("10%") == 0.1 and parse_fraction("0.25") == 0.25
    for bad in ("", "m", "0", "soon"):
        with pytest.raises(ValueError):
            parse_duration(bad)
    with pytest.raises(ValueError):
        parse_fraction("150%")


@pytest.mark.parametrize(("args", "message"), [
    (["--mode", "heal"], "error: unknown mode 'heal': use fix or report"),
    (["--every", "soon"], "error: --every 'soon': use a duration such as 15m, 90s or 1h"),
    (["--jitter", "200%"], "error: --jitter '200%': between 0% and 100%"),
])
def test_bad_options_end_in_one_line(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["reconcile", str(PLAYBOOKS), *args], env={"SHARINGTOOLS_API_KEY": "sht_" + "0" * 64})
    assert result.exit_code == 1
    assert result.stderr.strip() == message


def test_once_in_report_mode_exits_2_and_writes_the_textfile(served: dict[str, str], tmp_path: Path) -> None:
    env = {"SHARINGTOOLS_BASE_URL": served["url"], "SHARINGTOOLS_API_KEY": served["key"], "SHARINGTOOLS_RATE": "2000"}
    prom = tmp_path / "reconcile.prom"
    db = str(tmp_path / "state.db")
    result = runner.invoke(app, ["reconcile", str(PLAYBOOKS), "--once", "--mode", "report", "--state-db", db,
                                 "--metrics-file", str(prom)], env=env)
    assert result.exit_code == 2, result.output
    assert result.stdout.startswith("cycle 1: drift_reported ")
    families = {f.name: f for f in text_string_to_metric_families(prom.read_text())}
    [sample] = families["orchestrator_reconcile_cycles"].samples
    assert (sample.labels, sample.value) == ({"result": "drift_reported"}, 1.0)
    fixed = runner.invoke(app, ["reconcile", str(PLAYBOOKS), "--once", "--state-db", db], env=env)
    assert fixed.exit_code == 0, fixed.output
    missing = runner.invoke(app, ["history", "show", "99", "--state-db", db])
    assert missing.exit_code == 1
    assert missing.stderr.strip() == "error: there is no run #99 in the history: `orchestrator history` lists them"
