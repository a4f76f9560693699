"""The benchmarks run end to end on a small world, so that they cannot rot: 50 accounts behind
the rate-limiting proxy (both on 127.0.0.1, started and stopped by the benchmark), plan and apply
through the CLI, the sequential script on a few accounts. No figure is asserted, only that
each part ran and counted what it should. The Ansible baseline's playbook is checked as text
(ansible-core is not installed where the tests run)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def bench_modules(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    yield
    for name in ("plan_apply", "scaling", "content_calendar", "_world", "_servers", "baselines", "status_page",
                 "status_slow_clients"):
        sys.modules.pop(name, None)


def test_the_ansible_baseline_waits_out_429s_like_the_script(bench_modules):
    """Ansible is not installed where the tests run, so its playbook is checked here: every
    step is a ``uri`` task waiting out a 429 as often as the script does, and each condition
    reads an answer registered by an earlier task."""
    import baselines
    from ruamel.yaml import YAML

    (play,) = YAML(typ="safe").load(baselines.ANSIBLE_PLAYBOOK)
    registered: set[str] = set()
    for task in play["tasks"]:
        assert 429 in task["uri"]["status_code"], task["name"]
        assert (task["until"], task["retries"]) == (f"{task['register']}.status != 429", baselines.RETRIES)
        if "when" in task:
            assert task["when"].split(".")[0].removeprefix("not ") in registered, task["name"]
        registered.add(task["register"])
    assert [t["uri"].get("method", "GET") for t in play["tasks"]] == ["GET", "POST", "GET", "PATCH", "POST", "GET",
                                                                     "POST"]


@pytest.mark.slow
@pytest.mark.uvicorn
def test_plan_apply_benchmark_runs_at_n_50(bench_modules, tmp_path):
    import plan_apply

    result = plan_apply.main([
        "--accounts", "50", "--rate", "300", "--subset", "3", "--no-overshoot", "--timeout", "120",
        "--ansible-venv", str(tmp_path / "no-ansible"), "--json", str(tmp_path / "out.json"),
    ])
    plan, apply = result["rows"]
    assert plan["exit"] == 0 and apply["exit"] == 0
    assert plan["requests"] - plan["throttled"] == plan["minimal"]  # the plan makes no extra read
    assert apply["writes"] > 0
    assert plan["rss_mb"] > 0 and plan["cpu_s"] > 0
    assert "sequential httpx script" in result["seconds_per_account"]
    assert (tmp_path / "out.json").exists()


@pytest.mark.slow
@pytest.mark.uvicorn
def test_scaling_benchmark_runs_and_plots(bench_modules, tmp_path):
    import scaling

    rows = scaling.main(["--sizes", "20", "--timeout", "120", "--png", str(tmp_path / "s.png")])
    assert [r["run"] for r in rows] == ["plan", "apply"]
    assert (tmp_path / "s.png").stat().st_size > 0


@pytest.mark.slow
@pytest.mark.uvicorn
def test_content_calendar_benchmark_runs_at_n_20(bench_modules, tmp_path):
    import content_calendar

    result = content_calendar.main(["--accounts", "20", "--rate", "300", "--timeout", "120", "--subset", "3",
                                    "--json", str(tmp_path / "out.json")])
    rows = {r["run"]: r for r in result["rows"]}
    assert all(r["exit"] == 0 for r in rows.values()), rows
    assert rows["plan: a new calendar"]["changes"] == 60
    assert rows["apply: uploads and creates"]["uploads"] == 3  # one per file, not per account
    assert rows["plan again"]["changes"] == rows["plan without the state database"]["changes"] == 0
    assert rows["apply: one caption changed"]["writes"] == 20
    assert rows["apply: posts: [] (every copy deleted)"]["writes"] == 60
    assert all(r["requests"] - r["throttled"] == r["minimal"] for r in rows.values())  # no read beyond the needed
    assert result["baseline"]["uploads"] == 12  # the script uploads every file of every post it makes
    assert "sequential httpx script" in result["seconds_per_account"]


def test_status_page_benchmark_runs_at_n_50(bench_modules, tmp_path):
    """Real cycles over 50 accounts, then every page measured: each answered, the front page small."""
    import status_page

    result = status_page.main(["--accounts", "50", "--requests", "1", "--json", str(tmp_path / "out.json")])
    assert result["accounts"] == 50 and result["drift_rows"] > 0
    assert {"blocked", "drifted", "in_sync"} <= set(result["states"])
    assert len(result["rows"]) == 18 and all(r["kb"] > 0 for r in result["rows"])
    assert result["snapshot"]["accounts"] == 50 and (tmp_path / "out.json").exists()


@pytest.mark.uvicorn
def test_status_slow_clients_benchmark_runs_one_small_round(bench_modules):
    """One round of 3 x 10 hanging connections against ``status serve``: answered, and let go."""
    import status_slow_clients

    result = status_slow_clients.main(["--rounds", "1", "--each", "10"])
    [row] = result["rounds"]
    assert row["status"] == 200 and row["connections"] >= 30 and result["after_connections"] == 1
    assert result["idle_rss_mb"] > 0
