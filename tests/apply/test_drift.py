"""Drift labelled apart from new intent: after an apply sets a value and verifies it, a change
made outside the orchestrator shows in the next plan as drift; a value the playbook changes is
new intent. The plan reads the state database and never writes it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from orchestrator.cli.app import app
from tests.harness import Served, write_playbook

pytestmark = pytest.mark.uvicorn
runner = CliRunner()

PLAYBOOK = """\
version: 1
groups:
  flagships: {accounts: [fashion_nova, fashion_luxe]}
entries:
  - name: Flagships like faster
    groups: flagships
    reactions:
      settings: {likes_speed: 4, comment_speed: %d}
"""


def test_a_change_made_in_the_panel_is_drift(served: Served, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    state_db = str(tmp_path / "state.db")
    book = write_playbook(tmp_path / "pb", PLAYBOOK % 3)
    applied = runner.invoke(app, ["apply", str(book), "--yes", "--state-db", state_db], env=served.env())
    assert applied.exit_code == 0, applied.output

    # Someone slows fashion_nova down in the web panel; the playbook also asks for a new comment_speed.
    headers = {"Authorization": f"Bearer {served.keys['alice']}"}
    with httpx.Client(base_url=served.api, headers=headers) as api:
        schedule = next(s for s in api.get("reactions/schedules", params={"per_page": 100}).json()["data"]["items"]
                        if s["account_id"] == 1)
        api.patch(f"reactions/schedules/{schedule['id']}/settings", json={"likes_speed": 1}).raise_for_status()
    book = write_playbook(tmp_path / "pb", PLAYBOOK % 2)

    text = runner.invoke(app, ["plan", str(book), "--state-db", state_db], env=served.env())
    assert text.exit_code == 0, text.output
    lines = text.stdout.splitlines()
    [drift] = [line for line in lines if "likes_speed" in line]
    assert "~ settings.likes_speed: 1 -> 4 (drift) on fashion_nova" in drift
    intent = [line for line in lines if "comment_speed" in line]
    assert intent and all("(drift)" not in line for line in intent)
    assert any(line.startswith("(drift) drift: live differs from what the last apply set") for line in lines)

    md = runner.invoke(app, ["plan", str(book), "--state-db", state_db, "-f", "markdown"], env=served.env())
    assert "`~ settings.likes_speed: 1 -> 4 (drift)`" in md.stdout
    # Without the history there is no telling: no label.
    fresh = runner.invoke(app, ["plan", str(book), "--state-db", str(tmp_path / "none.db")], env=served.env())
    assert "(drift)" not in fresh.stdout and not (tmp_path / "none.db").exists()
    # JSON stays the plan's data, per change.
    as_json = runner.invoke(app, ["plan", str(book), "-f", "json", "--state-db", state_db], env=served.env())
    assert {c["path"] for c in json.loads(as_json.stdout)["changes"]} == {"settings.likes_speed",
                                                                          "settings.comment_speed"}
