"""Serving the page: ``orchestrator status serve`` as a real process on 127.0.0.1, its one-line
errors; and the reconcile loop's port, where ``/metrics``, ``/healthz`` and the page share one
server, the page with the loop's live facts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from typer.testing import CliRunner

from orchestrator import playbook
from orchestrator.cli.app import app
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.reconcile.status_server import StatusServer
from orchestrator.state.store import mask_url
from tests.harness.reconcile import VirtualTime, client_for, reconciler
from tests.harness.processes import free_port
from tests.status.conftest import PLAYBOOKS, Fleet

runner = CliRunner()


def wait_for(url: str, proc: subprocess.Popen[bytes], within: float = 30) -> httpx.Response:
    """The first answer from ``url``, polled until ``within`` seconds have passed."""
    deadline = time.monotonic() + within
    while True:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "exited"
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextmanager
def served(args: list[str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env={**os.environ, "SHARINGTOOLS_STATE_DB": ""})
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
        if proc.stderr is not None:
            proc.stderr.close()


def test_status_serve_serves_the_page_from_the_database_alone(fleet: Fleet) -> None:
    port = free_port()
    with served(["status", "serve", "--state-db", str(fleet.db), "--port", str(port)]) as proc:
        home = wait_for(f"http://127.0.0.1:{port}/", proc)
        assert home.status_code == 200 and "The fleet at a glance" in home.text
        assert "no loop in this process" in home.text
        status = httpx.get(f"http://127.0.0.1:{port}/api/status", timeout=5).json()
        assert status["fleet"]["blocked"] == 2 and status["loop"] is None
        proc.send_signal(signal.SIGINT)  # Ctrl-C: it stops, as every command does on SIGINT (130)
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 130
        assert f"status page of {mask_url(fleet.db)} at http://127.0.0.1:{port}/" in err.decode()


def test_status_serve_errors_are_one_line(fleet: Fleet, tmp_path: Path) -> None:
    missing = runner.invoke(app, ["status", "serve", "--state-db", str(tmp_path / "none.db")])
    assert missing.exit_code == 1
    assert missing.stderr.strip() == (f"error: there is no state database at {tmp_path / 'none.db'}: point --state-db "
                                      "at the one reconcile or apply writes")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        busy = runner.invoke(app, ["status", "serve", "--state-db", str(fleet.db), "--port", str(port)])
    assert busy.exit_code == 1
    assert busy.stderr.strip().splitlines()[-1] == f"error: cannot serve on 127.0.0.1:{port}: Address already in use"


async def test_the_loops_port_has_metrics_health_and_the_page(tmp_path: Path) -> None:
    emu = LocalEmulator("demo")
    async with client_for(emu, time=VirtualTime()) as client:
        loop = reconciler(emu, client, playbook.load([str(PLAYBOOKS)]), tmp_path, lock=False, mode="fix")
        await loop.cycle()
        loop.next_cycle_at = loop.clock() + 900
        with StatusServer(loop, tmp_path / "state.db", "127.0.0.1", 0) as server:
            assert server.url.startswith("http://127.0.0.1:")
            async with httpx.AsyncClient(base_url=server.url) as http:
                metrics = await http.get("/metrics")
                assert metrics.status_code == 200 and "orchestrator_reconcile_cycles_total" in metrics.text
                health = await http.get("/healthz")
                assert (health.status_code, health.text) == (200, "ok\n")
                home = await http.get("/")
                assert home.status_code == 200 and "loop healthy" in home.text and "in 15 min" in home.text
                status = (await http.get("/api/status")).json()
                assert status["loop"]["cycles"] == 1 and status["loop"]["healthy"] is True
                assert status["last_cycle"]["result"] == "ok"
        await loop.history.close()
