"""Metrics: scraped from the endpoint during a run, the request counters match what the
emulator answered (429s included); /healthz answers beside them; --metrics-file writes the
textfile-collector format."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from orchestrator.emulator.faults import FaultConfig
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.reconcile.loop import CycleReport
from orchestrator.reconcile.status_server import StatusServer
from tests.harness.stores import TEST_URL
from tests.harness.reconcile import VirtualTime, client_for, reconciler, write_book


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def by_status(emu: LocalEmulator) -> dict[str, int]:
    counts: dict[str, int] = {}
    for (_, route, status, _), n in emu.state.counters.counts.items():
        if "/_emulator" not in route:
            counts[str(status)] = counts.get(str(status), 0) + n
    return counts


async def test_scraped_counters_match_the_emulators_request_counters(tmp_path: Path) -> None:
    emu = LocalEmulator("demo")
    # Throttled now and then: the client retries, and both sides count every attempt.
    emu.state.faults = FaultConfig(seed=7, error_rate=0.1, error_statuses={429: 1.0}, retry_after=1)
    book = write_book(tmp_path)
    time = VirtualTime()
    scraped: list[dict] = []
    async with client_for(emu, time=time) as client:
        loop = reconciler(emu, client, book, tmp_path, mode="fix")
        with StatusServer(loop, tmp_path / "state.db", "127.0.0.1", 0, TEST_URL) as server:
            base = f"http://127.0.0.1:{server.port}"

            async def scrape(report: CycleReport) -> None:
                metrics = await anyio.to_thread.run_sync(lambda: httpx.get(f"{base}/metrics", timeout=10))
                health = await anyio.to_thread.run_sync(lambda: httpx.get(f"{base}/healthz", timeout=10))
                scraped.append({"metrics": samples(metrics.text), "health": (health.status_code, health.text),
                                "emulator": by_status(emu), "report": report})

            await loop.run(max_cycles=2, on_cycle=scrape, sleep=time.sleep, signals=False)
        await loop.history.close()
    for scrape_ in scraped:
        metrics, emulator = scrape_["metrics"], scrape_["emulator"]
        ours = {dict(labels)["status"]: int(v) for (name, labels), v in metrics.items()
                if name == "orchestrator_reconcile_api_requests_total"}
        assert ours == emulator
        assert scrape_["health"] == (200, "ok\n")
    first, second = scraped
    assert "429" in first["emulator"]  # the fault mode did throttle
    m = second["metrics"]
    assert m[("orchestrator_reconcile_cycles_total", (("result", "ok"),))] == 2
    applied = sum(v for (name, _), v in m.items() if name == "orchestrator_reconcile_changes_applied_total")
    assert applied == first["report"].by_outcome()["fixed"] > 0
    assert m[("orchestrator_reconcile_accounts", (("state", "out_of_sync"),))] == 0
    assert m[("orchestrator_reconcile_accounts", (("state", "in_sync"),))] == 25
    assert m[("orchestrator_reconcile_last_success_timestamp_seconds", ())] > 0
    # every 429 was retried by the client, and counted as a retry
    assert m[("orchestrator_reconcile_api_retries_total", ())] == second["emulator"]["429"]


async def test_blocked_changes_by_reason_and_the_textfile(tmp_path: Path) -> None:
    from orchestrator import playbook
    from tests.harness import PLAYBOOKS

    emu = LocalEmulator("demo")
    async with client_for(emu) as client, emu.control() as control:
        loop = reconciler(emu, client, playbook.load([str(PLAYBOOKS)]), tmp_path, mode="report")
        # a minute of engine passes switches off what the accounts that need a login run
        await control.post("/clock/advance", json={"seconds": 60, "ticks": 12})
        report = await loop.cycle()
        await loop.history.close()
    path = tmp_path / "reconcile.prom"
    loop.metrics.write_textfile(str(path))
    m = samples(path.read_text())
    reasons = {dict(labels)["reason"]: v for (name, labels), v in m.items()
               if name == "orchestrator_reconcile_blocked_changes"}
    assert reasons == {"login_required": sum(1 for b in report.blocked if b.reason == "login_required"),
                       "ai_key_missing": 1}
    assert reasons["login_required"] >= 2
    drift = sum(v for (name, _), v in m.items() if name == "orchestrator_reconcile_drift_total")
    assert drift == len([r for r in report.drift if r.outcome != "blocked"]) > 0


async def test_healthz_turns_503_when_cycles_stop_ending_and_waits_are_jittered(tmp_path: Path) -> None:
    import random

    emu = LocalEmulator("demo")
    now = [1_000.0]
    async with client_for(emu) as client:
        loop = reconciler(emu, client, write_book(tmp_path), tmp_path, mode="report", every=60.0, jitter=0.1)
        loop.clock = lambda: now[0]
        loop.started = now[0]
        loop.rng = random.Random(5)
        await loop.cycle()
        await loop.history.close()
    assert loop.healthy() == (True, "ok")
    now[0] += 181  # three intervals without a cycle ending
    ok, why = loop.healthy()
    assert not ok and why == "no cycle ended for 181 s (more than 180 s)"
    delays = [loop.next_delay() for _ in range(200)]
    assert all(54 <= d <= 66 for d in delays) and len(set(delays)) > 100


async def test_a_report_cycles_run_in_the_history_has_its_real_duration_as_the_metric_observed(tmp_path: Path) -> None:
    from orchestrator.emulator.faults import LatencySpec

    emu = LocalEmulator("demo")
    # The account list answers 0.3 s late (real time, at the server): the cycle takes at least that.
    emu.state.faults = FaultConfig(path_regex="/accounts$",
                                   latency=LatencySpec(probability=1.0, distribution="fixed", mean_ms=300))
    async with client_for(emu) as client:
        loop = reconciler(emu, client, write_book(tmp_path), tmp_path, mode="report")
        report = await loop.cycle()
        run = await loop.history.run(report.run_id)
        await loop.history.close()
    assert report.result == "drift_reported"
    assert run is not None and run.command == "reconcile-report" and run.report is not None
    recorded = run.report["reconcile"]["duration_seconds"]
    assert recorded == round(report.duration, 3) and recorded >= 0.3  # taken before the run was written
    m = samples(generate_latest(loop.metrics.registry).decode())
    assert m[("orchestrator_reconcile_cycle_duration_seconds_count", ())] == 1
    assert round(m[("orchestrator_reconcile_cycle_duration_seconds_sum", ())], 3) == recorded
