"""The command line's manners: ``--version``, shell completion (installed into a temporary home),
examples and defaults in every command's ``--help``, and a hint when the base URL lacks
``/api/v1`` (the server answers 404 "Endpoint not found")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli.app import app

runner = CliRunner()
COMMANDS = (["validate"], ["plan"], ["apply"], ["history"], ["history", "show"], ["reconcile"], ["api"], ["demo"],
            ["emulator", "serve"], ["status", "serve"])
ENTRY = Path(sys.executable).with_name("orchestrator")


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == "orchestrator 0.1.0"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_every_help_has_examples(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Examples" in result.stdout
    assert f"$ orchestrator {' '.join(command)}" in result.stdout


def test_defaults_are_shown_and_rate_and_concurrency_are_everywhere_the_api_is_called() -> None:
    for command in (["plan"], ["apply"], ["api"], ["reconcile"]):
        text = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"}).stdout
        assert "--rate" in text and "--concurrency" in text and "default: 100" in text, command
    assert "[default: text]" in runner.invoke(app, ["plan", "--help"], env={"COLUMNS": "200"}).stdout


@pytest.mark.skipif(not ENTRY.exists(), reason="the orchestrator entry point is not installed")
def test_completion_installs_and_shows(tmp_path: Path) -> None:
    env = {**os.environ, "HOME": str(tmp_path), "SHELL": "/bin/bash"}
    shown = subprocess.run([str(ENTRY), "--show-completion", "bash"], env=env, capture_output=True, text=True,
                           timeout=60, check=True)
    assert "_ORCHESTRATOR_COMPLETE" in shown.stdout
    installed = subprocess.run([str(ENTRY), "--install-completion", "bash"], env=env, capture_output=True,
                               text=True, timeout=60, check=True)
    assert "bash completion installed" in installed.stdout
    script = tmp_path / ".bash_completions" / "orchestrator.sh"
    assert "_ORCHESTRATOR_COMPLETE" in script.read_text()
    assert f"source '{script}'" in (tmp_path / ".bashrc").read_text()
    # Completing a command name works through the installed hook's protocol.
    completed = subprocess.run([str(ENTRY)], env={**env, "_ORCHESTRATOR_COMPLETE": "complete_bash",
                                                  "COMP_WORDS": "orchestrator pl", "COMP_CWORD": "1"},
                               capture_output=True, text=True, timeout=60)
    assert "plan" in completed.stdout.split()


@pytest.mark.uvicorn
def test_a_base_url_without_api_v1_gets_a_hint(tmp_path: Path) -> None:
    from orchestrator.emulator.app import create_app
    from orchestrator.emulator.server import BackgroundServer, build_state

    state, keys = build_state(seed="demo")
    with BackgroundServer(create_app(state)) as server:
        url = server.url
        result = runner.invoke(app, ["api", "GET", "accounts"],
                               env={"SHARINGTOOLS_BASE_URL": url, "SHARINGTOOLS_API_KEY": keys["alice"],
                                    "SHARINGTOOLS_CONFIG": None, "SHARINGTOOLS_API_KEY_FILE": None})
    assert result.exit_code == 1
    [line] = result.stderr.strip().splitlines()
    assert "Endpoint not found" in line and f"try {url}/api/v1" in line


@pytest.mark.parametrize(("option", "value"), [("--log-level", "foo"), ("--log-format", "xml")])
def test_a_bad_log_option_is_a_usage_error_naming_the_choices(option: str, value: str) -> None:
    """Refused by the command line before any command runs (it was an "unexpected ValueError")."""
    result = runner.invoke(app, [option, value, "validate", "playbooks"])
    assert result.exit_code == 2
    said = " ".join(result.output.replace("│", " ").split())  # the words, not the box around them
    assert f"Invalid value for '{option}'" in said and "unexpected" not in said and "Traceback" not in said
    assert ("'debug', 'info', 'warning', 'error'" if option == "--log-level" else "'auto', 'console', 'json'") in said


def test_a_log_level_is_taken_in_any_case() -> None:
    result = runner.invoke(app, ["--log-level", "INFO", "validate", "playbooks"])
    assert result.exit_code == 0, result.output
