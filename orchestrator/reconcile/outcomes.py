"""What a reconcile cycle did about each difference it found: only what it sent, was answered
done, and re-read in its wave's verify is ``fixed``.

A cycle stopped while it writes (a signal; the grace running out; a second signal) returns
before it verified what it sent, or is cancelled before apply returns at all. What it did is
then told by the engine's events, not by which accounts it touched: `CycleTrack` follows them
(`WritesStarted` hands it the run's outcome, which a cancelled run never returns;
`OperationStarted`, `OperationDone`, `OperationFailed`, `OperationCancelled` say what became
of each operation, sent or not;
`WaveVerified` that what its wave did was re-read). From those facts, `judge` decides each
difference (a pure function):

- ``held``: the safety policy held every write;
- ``failed``: an operation (or a read, before or after) of its account failed;
- ``unverified``: sent and done, but the re-read still differs;
- ``fixed``: sent, done, and the re-read agrees;
- ``interrupted``: sent, but the cycle stopped before its wave was verified (the answer may
  have come or not: the journal says, and the next cycle reads it again);
- ``not_started``: never sent (a halted wave, or a cycle stopped first).

`forgotten_backoffs` says which accounts' backoff a cycle clears: those whose every difference
it acted on is fixed. An account whose writes never ran, or were not verified, keeps its
backoff state as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from orchestrator.apply.events import (
    Event,
    OperationCancelled,
    OperationDone,
    OperationFailed,
    OperationStarted,
    WaveVerified,
    WritesStarted,
)
from orchestrator.apply.run import ApplyOutcome
from orchestrator.contract.vocabulary import DriftOutcome
from orchestrator.kinds import AccountIssue, Operation
from orchestrator.plan import Change
from orchestrator.state.drift import DriftRow

#: A difference as the engine knows it: account, kind, path (as verify's re-plan names it again).
ChangeKey = tuple[int, str, str]
HELD_REASON = "the safety policy held this cycle's writes"
INTERRUPTED_REASON = "sent; the cycle was stopped before it was verified"
NOT_SENT_REASON = "not sent: the cycle was stopped first"
#: What a cycle acted on (the rest it only reported, backed off, or found blocked).
ACTED = frozenset({DriftOutcome.FIXED, DriftOutcome.FAILED, DriftOutcome.UNVERIFIED, DriftOutcome.INTERRUPTED,
                   DriftOutcome.NOT_STARTED})


def key(change: Change) -> ChangeKey:
    return change.account_id, str(change.kind), change.path


def _keys(op: Operation) -> set[ChangeKey]:
    return {key(c) for c in op.changes}


@dataclass
class CycleTrack:
    """What the engine's events told of one cycle's writes (subscribe `on_event`)."""

    outcome: ApplyOutcome | None = None  # the run's, once its writes began
    sent: set[ChangeKey] = field(default_factory=set)
    done: set[ChangeKey] = field(default_factory=set)  # answered done, in the wave not verified yet
    verified: set[ChangeKey] = field(default_factory=set)  # answered done, and its wave re-read
    failures: list[AccountIssue] = field(default_factory=list)

    @property
    def writing(self) -> bool:
        return self.outcome is not None

    def on_event(self, event: Event) -> None:
        if isinstance(event, WritesStarted):
            self.outcome = event.outcome
        elif isinstance(event, OperationStarted):
            self.sent |= _keys(event.op)
        elif isinstance(event, OperationDone):
            self.done |= _keys(event.op)
        elif isinstance(event, OperationFailed):
            self.failures.append(event.issue)
        elif isinstance(event, OperationCancelled) and not event.sent:
            self.sent -= _keys(event.op)  # journaled, then cancelled before a request went out
        elif isinstance(event, WaveVerified):
            self.verified |= self.done
            self.done = set()


@dataclass(frozen=True)
class Facts:
    """What a cycle knows of its writes when it judges each difference."""

    held: bool = False
    failed: Mapping[int, str | None] = field(default_factory=dict)  # account -> why (its first failure)
    unverified: frozenset[ChangeKey] = frozenset()
    verified: frozenset[ChangeKey] = frozenset()
    sent: frozenset[ChangeKey] = frozenset()
    not_started: str | None = None  # why what was never sent was not

    @classmethod
    def of(cls, outcome: ApplyOutcome, track: CycleTrack, *, stopped: bool) -> Facts:
        """The facts of ``outcome`` and the events ``track`` followed; ``stopped``: the cycle was
        interrupted (what it never sent was not sent for that reason)."""
        failed: dict[int, str | None] = {}
        for issue in [*outcome.execution.failures, *track.failures]:
            failed.setdefault(issue.account_id, issue.message)
        for account in outcome.execution.failed_accounts:
            failed.setdefault(account, None)
        return cls(held=bool(outcome.violations), failed=failed,
                   unverified=frozenset(key(c) for c in outcome.unverified),
                   verified=frozenset(track.verified), sent=frozenset(track.sent),
                   not_started=NOT_SENT_REASON if stopped else (outcome.message or None))


def judge(change: Change, facts: Facts) -> tuple[DriftOutcome, str | None]:
    """What the cycle did about ``change`` (one it meant to act on), and why, when that needs saying."""
    k = key(change)
    if facts.held:
        return DriftOutcome.HELD, HELD_REASON
    if change.account_id in facts.failed:
        return DriftOutcome.FAILED, facts.failed[change.account_id]
    if k in facts.unverified:
        return DriftOutcome.UNVERIFIED, None
    if k in facts.verified:
        return DriftOutcome.FIXED, None
    if k in facts.sent:
        return DriftOutcome.INTERRUPTED, INTERRUPTED_REASON
    return DriftOutcome.NOT_STARTED, facts.not_started


def forgotten_backoffs(rows: Iterable[DriftRow]) -> set[int]:
    """The accounts whose backoff a cycle clears: every difference of theirs it acted on is fixed."""
    acted: dict[int, set[str]] = {}
    for r in rows:
        if r.outcome in ACTED:
            acted.setdefault(r.account_id, set()).add(r.outcome)
    return {account for account, outcomes in acted.items() if outcomes == {DriftOutcome.FIXED}}


def record_track(outcome: ApplyOutcome, track: CycleTrack) -> None:
    """Put into ``outcome`` the failures only the events saw (a wave cancelled in flight returns
    no result to merge), so the run's report and the status page list them too."""
    known = set(outcome.execution.failures)
    for issue in track.failures:
        if issue not in known:
            outcome.execution.failures.append(issue)
            outcome.execution.failed_accounts.add(issue.account_id)
            known.add(issue)
