"""Start-up: the command line imports what the command it runs needs, and nothing more.

Each command runs in a fresh interpreter through the entry point ``pyproject.toml`` declares
(what the ``orchestrator`` script calls), and the modules it left in ``sys.modules`` are
checked: ``--version`` and ``validate`` import neither the client stack (httpx, aiohttp,
anyio) nor structlog and rich, no server (FastAPI, Starlette, uvicorn), no PostgreSQL driver
and not the emulator; ``plan`` imports the client, and still no server, driver or emulator.
The figures these imports cost are in docs/benchmarks.md ("Start-up").
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.harness import PLAYBOOKS, WAIT, serve_demo

ROOT = Path(__file__).resolve().parent.parent
ENTRY_POINT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["orchestrator"]

#: Runs the entry point with the given arguments, then writes the imported modules as JSON.
PROBE = """
import importlib, json, sys
entry, out, *args = sys.argv[1:]
sys.argv = ["orchestrator", *args]
module, _, name = entry.partition(":")
main = getattr(importlib.import_module(module), name)
try:
    main()
    code = 0
except SystemExit as exc:
    code = exc.code
with open(out, "w") as f:
    json.dump(sorted(sys.modules), f)
sys.exit(code)
"""

#: Packages (and the orchestrator's own modules) no command needs before it talks to the API,
#: draws on a terminal, serves or opens a PostgreSQL store.
CLIENT = ("httpx", "httpcore", "aiohttp", "httpx_aiohttp", "anyio", "tenacity", "orchestrator.api.client")
SERVERS = ("fastapi", "starlette", "uvicorn", "jinja2", "multipart", "prometheus_client", "orchestrator.status")
POSTGRES = ("psycopg", "psycopg_pool", "orchestrator.state.postgres")
EMULATOR = ("orchestrator.emulator",)
DISPLAY = ("rich", "pygments", "structlog", "click")
PLAYBOOK = ("pydantic", "pydantic_core", "ruamel", "orchestrator.playbook")


def run_cli(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess[str],
                                                                                      set[str]]:
    """``orchestrator ARGS`` in a fresh interpreter (standard streams are pipes, not a terminal):
    the finished process and the names in its ``sys.modules``."""
    out = tmp_path / "modules.json"
    base = {k: v for k, v in os.environ.items() if not k.startswith("SHARINGTOOLS_")}
    done = subprocess.run([sys.executable, "-c", PROBE, ENTRY_POINT, str(out), *args], cwd=tmp_path,
                          env={**base, **(env or {})}, capture_output=True, text=True, timeout=WAIT)
    return done, set(json.loads(out.read_text()))


def imported(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    """Which of ``packages`` (or a module inside one) were imported."""
    return sorted(p for p in packages if any(m == p or m.startswith(p + ".") for m in modules))


def test_version_imports_no_command(tmp_path):
    done, modules = run_cli(tmp_path, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "orchestrator 0.1.0\n"
    assert imported(modules, CLIENT + SERVERS + POSTGRES + EMULATOR + DISPLAY + PLAYBOOK) == []


def test_validate_imports_the_playbook_only(tmp_path):
    done, modules = run_cli(tmp_path, "validate", str(PLAYBOOKS))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"valid: {PLAYBOOKS}\n"
    assert imported(modules, PLAYBOOK) == sorted(PLAYBOOK)  # what it needs, and nothing beside it:
    assert imported(modules, CLIENT + SERVERS + POSTGRES + EMULATOR + DISPLAY) == []


def test_invalid_playbook_imports_no_client(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("entries:\n  - groups: [all]\n    reactions: {state: sometimes}\n")
    done, modules = run_cli(tmp_path, "validate", str(bad))
    assert done.returncode == 1
    assert done.stderr.startswith(f"{bad}:3:"), done.stderr
    assert "Traceback" not in done.stderr
    assert imported(modules, CLIENT + SERVERS + POSTGRES + EMULATOR + DISPLAY) == []


@pytest.mark.uvicorn
def test_plan_imports_the_client_and_no_server(tmp_path):
    """A plan off a terminal, on a real server: the client stack, and still no server, no
    PostgreSQL driver, no emulator, and no structlog (nothing was logged at warning).
    (rich is imported: httpx imports it for its own command line.)"""
    with serve_demo() as served:
        done, modules = run_cli(tmp_path, "plan", str(PLAYBOOKS), "--format", "json", env=served.env())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["changes"], done.stdout[:500]
    assert imported(modules, ("httpx", "aiohttp", "anyio", "orchestrator.api.client")) == [
        "aiohttp", "anyio", "httpx", "orchestrator.api.client"]
    assert imported(modules, SERVERS + POSTGRES + EMULATOR + ("structlog",)) == []


@pytest.mark.uvicorn
def test_reconcile_without_a_port_serves_nothing(tmp_path):
    """A report cycle on a SQLite store without --metrics-port: its metrics (prometheus_client),
    and none of the web side the status page needs (Starlette, uvicorn, Jinja2)."""
    with serve_demo() as served:
        done, modules = run_cli(tmp_path, "reconcile", str(PLAYBOOKS), "--once", "--mode", "report",
                                "--state-db", str(tmp_path / "state.db"), env=served.env())
    assert done.returncode == 2, done.stderr  # drift reported: the demo world is not the playbooks yet
    assert done.stdout.startswith("cycle 1: drift_reported"), done.stdout
    assert imported(modules, ("prometheus_client", "sqlite3")) == ["prometheus_client", "sqlite3"]
    assert imported(modules, tuple(p for p in SERVERS if p != "prometheus_client") + POSTGRES + EMULATOR) == []


LOG_PROBE = """
import sys
from orchestrator import log
log.configure("info", "json")
logger = log.get_logger("orchestrator.test")
logger.debug("below the level")
print("structlog after debug:", "structlog" in sys.modules)
logger.info("above the level", api_key="sht_" + "ab" * 32, count=3)
print("structlog after info:", "structlog" in sys.modules)
"""


def test_logging_is_set_up_when_the_first_line_is_logged(tmp_path):
    """A logger taken before structlog is imported: a call below the level imports nothing and
    prints nothing; the first one at the level imports structlog with the set-up asked for
    (JSON lines on stderr, secrets masked)."""
    done = subprocess.run([sys.executable, "-c", LOG_PROBE], cwd=tmp_path, capture_output=True, text=True,
                          timeout=WAIT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["structlog after debug: False", "structlog after info: True"]
    (line,) = done.stderr.splitlines()
    event = json.loads(line)
    assert {k: event[k] for k in ("event", "level", "api_key", "count")} == {
        "event": "above the level", "level": "info", "api_key": "***", "count": 3}


def test_only_the_log_package_imports_structlog():
    """Every logger comes from `orchestrator.log.get_logger`: a module importing structlog
    itself would log before (or without) the set-up the command line asked for."""
    package = ROOT / "orchestrator"
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.parent == package / "log":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n == "structlog" or n.startswith("structlog.") for n in names):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == []
