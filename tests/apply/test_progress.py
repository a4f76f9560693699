"""Progress that tells the truth. Off a terminal: one plain line per phase on stderr (reading,
applying wave k of n, verifying wave k of n) with requests, req/s, 429s and retries. On a
terminal the same line is redrawn from the client's counters, with an ETA while applying."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from orchestrator.cli.app import app
from orchestrator.apply.events import Phase
from orchestrator.render.progress import RunDisplay
from tests.harness import PLAYBOOKS, Served, VirtualTime, client_for

runner = CliRunner()


@pytest.mark.uvicorn
def test_plain_lines_name_every_phase_and_wave(served: Served, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["apply", str(PLAYBOOKS), "--yes", "--waves", "1,100%",
                                 "--state-db", str(tmp_path / "state.db")], env=served.env())
    assert result.exit_code == 0, result.output
    # A slow machine may add a periodic status line (every 10 s): phases are compared once each.
    phases = list(dict.fromkeys(line.split(" · ")[0] for line in result.stderr.splitlines() if " req/s " in line))
    assert phases == ["reading", "applying wave 1 of 2", "verifying wave 1 of 2", "applying wave 2 of 2",
                      "verifying wave 2 of 2"]
    applying = next(line for line in result.stderr.splitlines() if line.startswith("applying wave 2 of 2"))
    assert "0/" in applying and "throttled (429)" in applying and "retries" in applying and "ETA" in applying


async def test_the_status_counts_requests_throttles_and_the_eta(emu) -> None:
    time = VirtualTime()
    async with client_for(emu, time=time, rate=50) as client:
        display = RunDisplay(Console(file=io.StringIO()), client.transport, live=False, clock=time.clock)
        display.on_phase(Phase("reading"))
        for _ in range(10):
            await client.raw("GET", "accounts")
        time.now += 2.0
        assert display.line().startswith("reading · 10 requests · ")
        display.on_phase(Phase("applying", 1, 3, operations=100, accounts=40))
        for _ in range(40):
            display.on_operation("done")
        display.on_operation("failed")
        line = display.line()
        assert line.startswith("applying wave 1 of 3 · 41/100 operations, 1 failed · 10 requests · ")
        assert "0 throttled (429) · 0 retries" in line
        assert line.endswith("ETA 0:00:01")  # 59 operations left at the limiter's 50 req/s


@pytest.mark.uvicorn
def test_throttling_shows_in_the_status_lines(served: Served, tmp_path: Path, monkeypatch) -> None:
    """A server limit below the client's ceiling: the 429s and the retries they cause are counted
    in the lines (and the run still converges)."""
    import httpx

    monkeypatch.chdir(tmp_path)
    httpx.put(f"{served.server.url}/_emulator/rate-limit", json={"rate": 40, "burst": 5}).raise_for_status()
    result = runner.invoke(app, ["plan", str(PLAYBOOKS), "--rate", "400", "-f", "json"], env=served.env())
    assert result.exit_code == 0, result.output  # plan: retried through the 429s
    applied = runner.invoke(app, ["apply", str(PLAYBOOKS), "--yes", "--rate", "400",
                                  "--state-db", str(tmp_path / "state.db")], env=served.env())
    assert applied.exit_code == 0, applied.output
    last = [line for line in applied.stderr.splitlines() if " req/s " in line][-1]
    throttled = int(last.split(" throttled (429)")[0].rsplit(" · ", 1)[1])
    retries = int(last.split(" retries")[0].rsplit(" · ", 1)[1])
    assert throttled > 0 and retries >= throttled, last
