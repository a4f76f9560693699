"""Three reconcile cycles while the panel changes things behind the loop's back: fix mode
repairs each change, report mode records it and writes nothing, and the history shows the
drift per field (``history show RUN --json`` included)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from typer.testing import CliRunner

from orchestrator.cli.app import app
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.reconcile.loop import EXIT_HELD, EXIT_OK, EXIT_REPORTED, CycleReport
from tests.harness.stores import TEST_URL
from tests.harness.reconcile import (
    add_account,
    client_for,
    reactions_schedule,
    reconciler,
    write_book,
    writes,
)

NOVA, LUXE = 1, 2  # fashion_nova, fashion_luxe


async def drift_behind_its_back(alice: httpx.AsyncClient, emu: LocalEmulator) -> None:
    """What a person does in the panel between two cycles."""
    assert (await alice.post(f"/reactions/schedules/{NOVA}/pause")).status_code == 200
    patched = await alice.patch(f"/reactions/schedules/{LUXE}/settings", json={"likes_speed": 5})
    assert patched.status_code == 200, patched.text
    targets = (await alice.get(f"/reactions/schedules/{LUXE}/targets")).json()["data"]
    targets = targets["targets"] if isinstance(targets, dict) else targets
    ootd = next(t for t in targets if str(t["value"]).lower() == "ootd")
    assert (await alice.delete(f"/reactions/schedules/{LUXE}/targets/{ootd['target_id']}")).status_code == 200
    add_account(emu, "travel_newcomer")


STORE_ENV = {"SHARINGTOOLS_BASE_URL": TEST_URL}  # the installation the reconciler's store is of

EXPECTED_DRIFT = {
    ("fashion_nova", "reactions", "state"),
    ("fashion_luxe", "reactions", "settings.likes_speed"),
    ("fashion_luxe", "reactions", "targets[hashtag:ootd]"),
    ("travel_newcomer", "account", "proxy"),
}


async def test_fix_mode_repairs_what_changed_between_cycles(tmp_path: Path) -> None:
    emu = LocalEmulator("demo")
    book = write_book(tmp_path)
    reports: list[CycleReport] = []
    async with client_for(emu) as client, emu.http("alice") as alice:
        loop = reconciler(emu, client, book, tmp_path, mode="fix")

        async def between(report: CycleReport) -> None:
            reports.append(report)
            if report.number == 1:
                await drift_behind_its_back(alice, emu)

        code = await loop.run(max_cycles=3, on_cycle=between, sleep=_no_wait, signals=False)
        assert code == EXIT_OK, [r.summary() for r in reports]
        first, second, third = reports
        assert first.exit_code == EXIT_OK and first.by_outcome().get("fixed", 0) > 0
        assert {(r.username, r.kind, r.path) for r in second.drift} == EXPECTED_DRIFT
        assert {r.outcome for r in second.drift} == {"fixed"}
        assert third.drift == [] and third.message == "in sync"
        # the live state is what the playbook says again
        assert (await reactions_schedule(alice, NOVA))["is_active"] is True
        assert (await likes_speed(alice, LUXE)) == 3
        accounts = (await alice.get("/accounts", params={"per_page": 100})).json()["data"]["items"]
        assert next(a for a in accounts if a["username"] == "travel_newcomer")["proxy"]
        await loop.history.close()

    # history show: the second cycle's drift, per field, as text and JSON
    db = str(tmp_path / "state.db")
    runner = CliRunner()
    shown = runner.invoke(app, ["history", "show", str(second.run_id), "--json", "--state-db", db], env=STORE_ENV)
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.stdout)
    rows = {(d["username"], d["kind"], d["path"]): d for d in data["drift"]}
    assert set(rows) == EXPECTED_DRIFT
    likes = rows[("fashion_luxe", "reactions", "settings.likes_speed")]
    assert (likes["before"], likes["after"], likes["outcome"], likes["action"]) == (5, 3, "fixed", "update")
    text = runner.invoke(app, ["history", "show", str(second.run_id), "--state-db", db], env=STORE_ENV)
    assert "fashion_luxe · reactions" in text.stdout and "settings.likes_speed: 5 -> 3" in text.stdout
    listing = runner.invoke(app, ["history", "--state-db", db], env=STORE_ENV)
    assert listing.exit_code == 0 and f"#{third.run_id} reconcile-fix succeeded" in listing.stdout


async def test_report_mode_records_the_drift_and_writes_nothing(tmp_path: Path) -> None:
    emu = LocalEmulator("demo")
    book = write_book(tmp_path)
    reports: list[CycleReport] = []
    async with client_for(emu) as client, emu.http("alice") as alice:
        fixer = reconciler(emu, client, book, tmp_path, mode="fix")
        assert (await fixer.cycle()).exit_code == EXIT_OK  # converge first
        await drift_behind_its_back(alice, emu)
        emu.state.counters.reset()
        loop = reconciler(emu, client, book, tmp_path, mode="report")

        async def between(report: CycleReport) -> None:
            reports.append(report)

        code = await loop.run(max_cycles=3, on_cycle=between, sleep=_no_wait, signals=False)
        async with emu.control() as control:  # the emulator's own request counters
            answered = (await control.get("/requests")).json()["requests"]
        assert sum(r["count"] for r in answered) > 0
        assert [r for r in answered if r["method"] in ("POST", "PATCH", "PUT", "DELETE")] == []  # not one write
        assert writes(emu) == []
        assert code == EXIT_REPORTED
        for report in reports:
            assert {(r.username, r.kind, r.path) for r in report.drift if r.outcome == "reported"} >= EXPECTED_DRIFT
            assert report.exit_code == EXIT_REPORTED
        assert (await reactions_schedule(alice, NOVA))["is_active"] is False  # still as the panel left it
        rows = await loop.history.drift_of_run(reports[-1].run_id)  # type: ignore[arg-type]
        likes = next(r for r in rows if r.path == "settings.likes_speed")
        assert (likes.before, likes.after, likes.outcome, likes.reason) == (5, 3, "reported", "report mode")
        # what keeps drifting: the same fields, cycle after cycle
        spots = {(s["username"], s["kind"], s["path"]): s["cycles"] for s in await loop.history.hot_spots()}
        assert all(spots[key] >= 3 for key in EXPECTED_DRIFT), spots
        await fixer.history.close()
        await loop.history.close()


async def test_policy_drift_report_leaves_a_field_alone_and_fixes_the_rest(tmp_path: Path) -> None:
    emu = LocalEmulator("demo")
    book = write_book(tmp_path, _with_drift_rule())
    async with client_for(emu) as client, emu.http("alice") as alice:
        loop = reconciler(emu, client, book, tmp_path, mode="fix")
        assert (await loop.cycle()).exit_code in (EXIT_OK, EXIT_REPORTED)
        await drift_behind_its_back(alice, emu)
        report = await loop.cycle()
        outcomes = {(r.username, r.path): r.outcome for r in report.drift}
        assert outcomes[("fashion_luxe", "settings.likes_speed")] == "reported"
        assert outcomes[("fashion_nova", "state")] == "fixed"
        assert report.exit_code == EXIT_REPORTED
        assert (await likes_speed(alice, LUXE)) == 5  # reported, not fixed
        await loop.history.close()


def _with_drift_rule() -> str:
    from tests.harness.reconcile import PLAYBOOK

    return PLAYBOOK.replace(
        "entries:\n", "policy:\n  drift:\n    reactions.settings.likes_speed: report\nentries:\n", 1
    )


async def likes_speed(alice: httpx.AsyncClient, account_id: int) -> int:
    data = (await alice.get(f"/reactions/schedules/{account_id}/settings")).json()["data"]
    return int(data.get("settings", data)["likes_speed"])


async def _no_wait(seconds: float) -> None:
    return None


async def test_a_policy_violation_holds_the_cycles_writes_and_the_loop_goes_on(tmp_path: Path) -> None:
    emu = LocalEmulator("demo")
    book = write_book(tmp_path)
    reports: list[CycleReport] = []
    async with client_for(emu) as client, emu.http("alice") as alice:
        fixer = reconciler(emu, client, book, tmp_path, mode="fix")
        assert (await fixer.cycle()).exit_code == EXIT_OK
        await fixer.history.close()
        assert (await alice.post(f"/reactions/schedules/{NOVA}/pause")).status_code == 200
        emu.state.counters.reset()
        strict = reconciler(emu, client, book, tmp_path, mode="fix", policy=["max_activations=0"])

        async def between(report: CycleReport) -> None:
            reports.append(report)

        code = await strict.run(max_cycles=2, on_cycle=between, sleep=_no_wait, signals=False)
        assert code == EXIT_HELD and [r.exit_code for r in reports] == [EXIT_HELD, EXIT_HELD]
        assert writes(emu) == []
        for report in reports:
            assert [(r.username, r.path, r.outcome) for r in report.drift] == [("fashion_nova", "state", "held")]
            assert report.violations and "max_activations" in report.violations[0]
        held = strict.metrics.registry.get_sample_value(
            "orchestrator_reconcile_cycles_total", {"result": "policy_held"}
        )
        assert held == 2
        await strict.history.close()


async def test_an_unreachable_server_fails_one_cycle_and_the_next_one_runs(tmp_path: Path) -> None:
    from orchestrator.emulator.faults import FaultConfig
    from orchestrator.reconcile.loop import EXIT_ERROR
    from tests.harness.reconcile import VirtualTime

    emu = LocalEmulator("demo")
    emu.state.faults = FaultConfig(seed=3, drop_rate=1.0)  # every connection drops
    time = VirtualTime()
    reports: list[CycleReport] = []
    async with client_for(emu, time=time) as client:
        loop = reconciler(emu, client, write_book(tmp_path), tmp_path, mode="fix")

        async def between(report: CycleReport) -> None:
            reports.append(report)
            emu.state.faults = FaultConfig()  # the network comes back

        code = await loop.run(max_cycles=2, on_cycle=between, sleep=time.sleep, signals=False)
        await loop.history.close()
    assert [r.exit_code for r in reports] == [EXIT_ERROR, EXIT_OK] and code == EXIT_OK
    assert reports[0].message.startswith("this cycle failed: ") and reports[0].run_id is not None
    assert reports[1].by_outcome()["fixed"] > 0
