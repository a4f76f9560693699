"""What a cycle records of each difference: ``fixed`` only when it was sent, answered done and
re-read by its wave's verify (``orchestrator.reconcile.outcomes``).

The decision is a pure function (`judge`, `forgotten_backoffs`), tested on its facts; then a
real cycle on the in-process emulator, in two waves, is stopped in the middle of its second
wave (as the first signal stops it: no new operation starts, those in flight finish): the
first wave's account is ``fixed``, what the second sent is ``interrupted``, the rest
``not_started``; the metric of changes applied counts only the fixed ones, and an account
whose writes did not all run keeps its backoff.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from orchestrator.apply.events import Event, OperationDone, WaveVerified
from orchestrator.contract import Kind
from orchestrator.contract.vocabulary import Action, DriftOutcome
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.plan import Change
from orchestrator.reconcile.loop import EXIT_SIGINT
from orchestrator.reconcile.outcomes import (
    HELD_REASON,
    INTERRUPTED_REASON,
    NOT_SENT_REASON,
    Facts,
    forgotten_backoffs,
    judge,
    key,
)
from orchestrator.state.drift import BackoffPolicy, DriftRow
from tests.harness.reconcile import PLAYBOOK, client_for, reconciler, write_book

C = Change(7, "fashion_nova", Kind.REACTIONS, Action.UPDATE, "settings.likes_speed", 5, 3)
K = key(C)


@pytest.mark.parametrize(("facts", "expected"), [
    (Facts(held=True, verified=frozenset({K}), sent=frozenset({K})), (DriftOutcome.HELD, HELD_REASON)),
    (Facts(failed={7: "500 on PATCH"}, verified=frozenset({K}), sent=frozenset({K})),
     (DriftOutcome.FAILED, "500 on PATCH")),
    (Facts(unverified=frozenset({K}), verified=frozenset({K}), sent=frozenset({K})), (DriftOutcome.UNVERIFIED, None)),
    (Facts(verified=frozenset({K}), sent=frozenset({K})), (DriftOutcome.FIXED, None)),
    # Sent and answered (or still in flight), but the cycle stopped before its wave's verify.
    (Facts(sent=frozenset({K}), not_started=NOT_SENT_REASON), (DriftOutcome.INTERRUPTED, INTERRUPTED_REASON)),
    (Facts(not_started=NOT_SENT_REASON), (DriftOutcome.NOT_STARTED, NOT_SENT_REASON)),
    (Facts(not_started="halted after wave 1"), (DriftOutcome.NOT_STARTED, "halted after wave 1")),
    # What another account did says nothing of this one's.
    (Facts(failed={8: "gone"}, verified=frozenset({(8, "reactions", "state")})), (DriftOutcome.NOT_STARTED, None)),
], ids=["held", "failed", "unverified", "fixed", "sent-not-verified", "never-sent", "halted", "other-account"])
def test_judge_calls_fixed_only_what_was_sent_and_verified(facts: Facts, expected: tuple[DriftOutcome, str]) -> None:
    assert judge(C, facts) == expected


def _rows(*pairs: tuple[int, DriftOutcome]) -> list[DriftRow]:
    return [DriftRow(a, f"u{a}", "reactions", f"p{i}", "update", 1, 2, o) for i, (a, o) in enumerate(pairs)]


def test_only_an_account_whose_every_acted_on_difference_is_fixed_forgets_its_backoff() -> None:
    rows = _rows((1, DriftOutcome.FIXED), (1, DriftOutcome.FIXED), (1, DriftOutcome.REPORTED),
                 (2, DriftOutcome.FIXED), (2, DriftOutcome.INTERRUPTED),
                 (3, DriftOutcome.FIXED), (3, DriftOutcome.NOT_STARTED),
                 (4, DriftOutcome.NOT_STARTED), (5, DriftOutcome.FIXED), (5, DriftOutcome.FAILED),
                 (6, DriftOutcome.BACKED_OFF), (7, DriftOutcome.BLOCKED), (8, DriftOutcome.FIXED))
    assert forgotten_backoffs(rows) == {1, 8}


# Two waves: one account, verified; then the rest, stopped after its first operation is done.
WAVES = PLAYBOOK.replace("entries:", "policy:\n  waves: [1, 100%]\nentries:")
FOOD_BAKES = 20


async def test_a_cycle_stopped_mid_wave_records_only_what_it_sent_and_verified_as_fixed(tmp_path: Path) -> None:
    emu = LocalEmulator("demo")
    book = write_book(tmp_path, WAVES)
    async with client_for(emu) as client:
        loop = reconciler(emu, client, book, tmp_path, mode="fix")
        # An account that failed in an earlier cycle, its backoff over: this cycle tries it again.
        # Its one change (a proxy) goes out in the bulk call that starts wave 2's edits.
        await loop.history.backoff_failed(FOOD_BAKES, "food_bakes", "earlier failure", BackoffPolicy(), now=0.0)
        verified_waves: list[int] = []

        def stop_in_wave_two(event: Event) -> None:
            if isinstance(event, WaveVerified):
                verified_waves.append(event.number)
            elif isinstance(event, OperationDone) and verified_waves == [1]:
                loop.executor.stop.set()  # what the first signal does while a cycle writes

        loop.executor.events.subscribe(stop_in_wave_two)
        report = await loop.cycle()
        history = loop.history
        run = await history.run(report.run_id)
        stored = await history.drift_of_run(report.run_id)
        operations = await history.operations(report.run_id)
        backoffs = await history.backoffs()
        await history.close()

    assert verified_waves == [1]
    assert report.exit_code == EXIT_SIGINT and report.result == "interrupted"
    assert run is not None and run.status == "interrupted"
    by_outcome: dict[str, set[int]] = {}
    for r in report.drift:
        by_outcome.setdefault(r.outcome, set()).add(r.account_id)
    # Wave 1 is one account, the first by username: all of it fixed, and nothing else is.
    first = min((r for r in report.drift if r.outcome != DriftOutcome.BLOCKED), key=lambda r: r.username).account_id
    assert by_outcome[DriftOutcome.FIXED] == {first}
    assert all(r.outcome == DriftOutcome.FIXED for r in report.drift if r.account_id == first)
    # Wave 2: what was sent before the stop finished but was never verified; the rest never sent.
    assert by_outcome[DriftOutcome.INTERRUPTED] and by_outcome[DriftOutcome.NOT_STARTED]
    assert first not in by_outcome[DriftOutcome.INTERRUPTED] | by_outcome[DriftOutcome.NOT_STARTED]
    assert {r.reason for r in report.drift if r.outcome == DriftOutcome.INTERRUPTED} == {INTERRUPTED_REASON}
    assert {r.reason for r in report.drift if r.outcome == DriftOutcome.NOT_STARTED} == {NOT_SENT_REASON}
    assert not by_outcome.keys() & {DriftOutcome.FAILED, DriftOutcome.UNVERIFIED}
    # The history says the same, and the journal shows every call sent finished.
    assert sorted((r.account_id, r.path, r.outcome) for r in stored) == sorted(
        (r.account_id, r.path, r.outcome) for r in report.drift)
    assert operations and {op["status"] for op in operations} == {"done"}
    sent = {op["account_id"] for op in operations}
    assert sent - {first} <= by_outcome[DriftOutcome.INTERRUPTED]
    # The metric counts what was fixed; the account retried in wave 2 keeps its backoff.
    families = text_string_to_metric_families(generate_latest(loop.metrics.registry).decode())
    applied = sum(s.value for f in families for s in f.samples
                  if s.name == "orchestrator_reconcile_changes_applied_total")
    assert applied == sum(1 for r in report.drift if r.outcome == DriftOutcome.FIXED) > 0
    assert FOOD_BAKES in by_outcome[DriftOutcome.INTERRUPTED]  # sent, never verified: not forgiven
    assert backoffs.keys() == {FOOD_BAKES} and backoffs[FOOD_BAKES].failures == 1
    assert report.message.startswith("interrupted: in-flight calls finished, the journal is written; ")
