"""deploy/grafana and deploy/prometheus: every metric the dashboard and the alert rules name is
one `orchestrator reconcile` really exports (read from the textfile a real cycle writes against
the emulator, suffixes included), the queries and rules are valid PromQL (promtool, from
Debian's prometheus package), the alerts fire when they should and not otherwise (their unit
tests, run by promtool), and the metrics the alerts rest on behave: the last success survives a
new process, the run lock's holder is exported.
"""

from __future__ import annotations

import json
import re
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from ruamel.yaml import YAML

from orchestrator.emulator.app import create_app
from orchestrator.emulator.server import BackgroundServer, build_state
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.state.lock import RunLock
from tests.ops.conftest import DEPLOY, ROOT, TIMEOUT, promtool
from tests.harness.reconcile import client_for, reconciler, write_book

DASHBOARD = DEPLOY / "grafana" / "orchestrator.json"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts_test.yml"
ALERT_NAMES = {"OrchestratorNoSuccessfulCycle", "OrchestratorDriftNotClearing", "OrchestratorApiThrottled",
               "OrchestratorRunLockHeldTooLong"}
# PromQL words that are not metric names
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
            "inf", "nan"}


def yaml_file(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text())


def samples(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def exported_names(text: str) -> set[str]:
    """The series names a scrape of ``text`` gives Prometheus: ``_total`` for counters,
    ``_bucket``/``_sum``/``_count`` for histograms, even for a family with no sample yet."""
    names = set()
    for family in text_string_to_metric_families(text):
        names |= {s.name for s in family.samples}
        names |= {"counter": {f"{family.name}_total"}, "histogram": {f"{family.name}_{s}" for s in
                  ("bucket", "sum", "count")}}.get(family.type, {family.name})
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: identifiers that are not functions
    (followed by ``(``), keywords, label names (in ``{}``, ``by (...)`` and the like) or strings."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        word, rest = match.group(0), expr[match.end():].lstrip()
        if not rest.startswith("(") and word.lower() not in KEYWORDS:
            names.add(word)
    return names


def grafana_to_promql(expr: str) -> str:
    """A dashboard query as Prometheus gets it: Grafana's variables filled in."""
    return re.sub(r"\$\w+", ".*", re.sub(r"\$__\w+", "5m", expr))


def dashboard_queries() -> list[tuple[str, str]]:
    """(where, PromQL) for every panel target and every variable's query."""
    board = json.loads(DASHBOARD.read_text())
    out = []
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            out.append((f"panel {panel['id']} ({panel['title']}) {target['refId']}", grafana_to_promql(target["expr"])))
    for var in board["templating"]["list"]:
        if var["type"] == "query":
            inner = re.fullmatch(r"label_values\((.*),\s*\w+\)", var["query"]["query"])
            assert inner, var["query"]
            out.append((f"variable {var['name']}", grafana_to_promql(inner.group(1))))
    return out


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in yaml_file(ALERTS)["groups"] for rule in group["rules"]]


# -- what the process exports --------------------------------------------------------------------
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def reconcile_once(url: str, key: str, tmp: Path, prom: Path) -> subprocess.CompletedProcess[str]:
    """``orchestrator reconcile playbooks/ --once --metrics-file`` in a subprocess."""
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp), "SHARINGTOOLS_BASE_URL": url,
           "SHARINGTOOLS_API_KEY": key, "SHARINGTOOLS_RATE": "2000"}
    return subprocess.run([sys.executable, "-m", "orchestrator", "reconcile", str(ROOT / "playbooks"), "--once",
                           "--metrics-file", str(prom), "--state-db", str(tmp / "state.db")],
                          capture_output=True, text=True, env=env, cwd=tmp, timeout=TIMEOUT)


@pytest.fixture(scope="module")
def textfiles(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    """The textfiles of two `reconcile --once` processes on one state database: a cycle that
    fixes the demo world, then one that cannot reach the server (stopped since)."""
    tmp = tmp_path_factory.mktemp("reconcile")
    state, keys = build_state(seed="demo")
    with BackgroundServer(create_app(state)) as server:
        api = f"{server.url}/api/v1"
        first = reconcile_once(api, keys["alice"], tmp, tmp / "first.prom")
        assert first.returncode == 0, first.stdout + first.stderr[-2000:]
    # The same installation (its history is kept per installation), now down: nothing listens there.
    failed = reconcile_once(api, keys["alice"], tmp, tmp / "second.prom")
    assert failed.returncode == 1 and "cycle 1: error" in failed.stdout, failed.stdout + failed.stderr[-2000:]
    yield (tmp / "first.prom").read_text(), (tmp / "second.prom").read_text(), tmp / "state.db"


def test_every_metric_the_dashboard_and_the_alerts_name_is_exported(textfiles: tuple[str, str, Path]) -> None:
    exported = exported_names(textfiles[0])
    assert {"orchestrator_reconcile_cycles_total", "orchestrator_reconcile_cycle_duration_seconds_bucket"} <= exported
    used: dict[str, set[str]] = {}
    for where, expr in dashboard_queries():
        used[f"dashboard {where}"] = metric_names(expr)
    for rule in alert_rules():
        used[f"alert {rule['alert']}"] = metric_names(rule["expr"])
    for test in yaml_file(ALERT_TESTS)["tests"]:
        for series in test["input_series"]:
            used[f"alerts_test {series['series']}"] = {series["series"].split("{")[0]}
    for where, names in used.items():
        assert names, f"{where} names no metric"
        assert names <= exported, f"{where}: {sorted(names - exported)} are not exported"


def test_the_last_success_and_the_interval_survive_a_new_process(textfiles: tuple[str, str, Path]) -> None:
    """`--once` is a process per cycle (a CronJob): the textfile of a failed cycle still says when
    the last one succeeded, from the state database, so the alert counts from there."""
    first, second = samples(textfiles[0]), samples(textfiles[1])
    with sqlite3.connect(textfiles[2]) as db:
        [(finished,)] = db.execute("SELECT finished FROM runs WHERE status = 'succeeded'").fetchall()
    assert second["orchestrator_reconcile_last_success_timestamp_seconds"][()] == finished
    assert second["orchestrator_reconcile_cycles_total"] == {(("result", "error"),): 1.0}
    assert first["orchestrator_reconcile_cycles_total"] == {(("result", "ok"),): 1.0}
    for m in (first, second):
        assert m["orchestrator_reconcile_interval_seconds"][()] == 900  # --every's default
        assert m["orchestrator_reconcile_lock_held_since_timestamp_seconds"] == {
            (("holder", "other"),): 0.0, (("holder", "self"),): 0.0}  # written after the cycle let go
    assert second["orchestrator_reconcile_started_timestamp_seconds"][()] > finished


async def test_the_run_lock_holder_is_exported_while_held(tmp_path: Path) -> None:
    """While a cycle runs, `self` is when it took the lock; when another run holds the lock,
    the skipped cycle exports that run's `since`; both go back to 0 when the lock is free."""
    emu = LocalEmulator("demo")
    seen: list[float | None] = []
    async with client_for(emu) as client:
        loop = reconciler(emu, client, write_book(tmp_path), tmp_path, mode="report")
        gauge = loop.metrics.registry.get_sample_value
        inner = loop._cycle

        async def watched(number: int) -> Any:
            seen.append(gauge("orchestrator_reconcile_lock_held_since_timestamp_seconds", {"holder": "self"}))
            return await inner(number)

        loop._cycle = watched  # type: ignore[method-assign]
        await loop.cycle()
        assert seen[0] is not None and seen[0] > 0
        assert gauge("orchestrator_reconcile_lock_held_since_timestamp_seconds", {"holder": "self"}) == 0
        other = RunLock(tmp_path / "state.db", "http://emulator.invalid/api/v1", "apply")
        holder = other.acquire()
        try:
            skipped = await loop.cycle()
        finally:
            other.release()
        assert skipped.result == "error" and "another run holds the lock" in skipped.message
        assert gauge("orchestrator_reconcile_lock_held_since_timestamp_seconds", {"holder": "other"}) == holder.since
        await loop.cycle()
        assert gauge("orchestrator_reconcile_lock_held_since_timestamp_seconds", {"holder": "other"}) == 0
        await loop.history.close()


# -- the dashboard -------------------------------------------------------------------------------
def test_the_dashboard_shows_what_the_issue_asks_for() -> None:
    queries = [expr for _, expr in dashboard_queries()]

    def shown(metric: str, *needles: str) -> bool:
        return any(metric in q and all(n in q for n in needles) for q in queries)

    assert shown("orchestrator_reconcile_cycles_total", "by (result)")
    assert shown("orchestrator_reconcile_drift_last_cycle", "by (kind)")
    assert shown("orchestrator_reconcile_drift_total", "by (kind)")
    assert shown("orchestrator_reconcile_accounts", 'state="in_sync"')
    assert shown("orchestrator_reconcile_accounts", 'state="out_of_sync"')
    assert shown("orchestrator_reconcile_blocked_changes", "by (reason)")
    assert shown("orchestrator_reconcile_api_requests_total", "by (status)")
    assert shown("orchestrator_reconcile_api_requests_total", 'status="429"')
    assert shown("orchestrator_reconcile_last_success_timestamp_seconds", "time() -")
    assert shown("orchestrator_reconcile_lock_held_since_timestamp_seconds", "time() -")


def test_the_dashboard_is_a_dashboard_grafana_imports() -> None:
    board = json.loads(DASHBOARD.read_text())
    assert board["uid"] == "sharingtools-orchestrator" and board["title"] and board["schemaVersion"] >= 36
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    cells: dict[tuple[int, int], int] = {}
    for panel in board["panels"]:
        g = panel["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24 and g["h"] > 0, panel["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps panel {cells[(x, y)]}"
                cells[(x, y)] = panel["id"]
        if panel["type"] == "row":
            continue
        assert panel["title"] and panel["description"] and panel["targets"], panel["id"]
        for source in [panel["datasource"], *(t["datasource"] for t in panel["targets"])]:
            assert source == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]


def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    tool = promtool()
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{i}", "expr": expr} for i, (_, expr) in enumerate(dashboard_queries())]}]}
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(json.dumps(rules))  # JSON is YAML
    result = subprocess.run([tool, "check", "rules", str(path)], capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stdout + result.stderr


# -- the alert rules -----------------------------------------------------------------------------
def test_the_alert_rules_are_complete() -> None:
    """What every rule needs (checked without promtool, so it always runs)."""
    rules = alert_rules()
    assert {r["alert"] for r in rules} == ALERT_NAMES and len(rules) == len(ALERT_NAMES)
    for rule in rules:
        assert set(rule) == {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert rule["labels"]["severity"] in ("critical", "warning")
        assert set(rule["annotations"]) == {"summary", "description"}
        assert "{{ $labels.instance }}" in rule["annotations"]["summary"]
    tested = {case["alertname"] for test in yaml_file(ALERT_TESTS)["tests"] for case in test["alert_rule_test"]}
    assert tested == ALERT_NAMES  # every alert has unit tests
    assert yaml_file(ALERT_TESTS)["rule_files"] == ["alerts.yml"]


def test_promtool_checks_the_rules_and_their_unit_tests_pass() -> None:
    tool = promtool()
    checked = subprocess.run([tool, "check", "rules", str(ALERTS)], capture_output=True, text=True, timeout=TIMEOUT)
    assert checked.returncode == 0 and f"SUCCESS: {len(ALERT_NAMES)} rules found" in checked.stdout, (
        checked.stdout + checked.stderr)
    tested = subprocess.run([tool, "test", "rules", str(ALERT_TESTS)], capture_output=True, text=True,
                            timeout=TIMEOUT)
    assert tested.returncode == 0 and "SUCCESS" in tested.stdout, tested.stdout + tested.stderr


def test_the_readme_names_every_alert_and_every_exported_metric(textfiles: tuple[str, str, Path]) -> None:
    readme = (ROOT / "README.md").read_text()
    for name in ALERT_NAMES:
        assert f"`{name}`" in readme, name
    for family in text_string_to_metric_families(textfiles[0]):
        name = family.name + ("_total" if family.type == "counter" else "")
        assert f"`{name}`" in readme, name
