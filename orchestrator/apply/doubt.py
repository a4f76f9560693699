"""Operations in doubt: a create sent whose answer never came is read back before it is repeated.

A request the client gave up on (a second Ctrl-C cancelled it, the run was killed, the answer
timed out) may have reached the server, and a server commits what it accepted even after the
client went away, possibly seconds later. So a read-back right after the interruption cannot
tell "not made" from "not made *yet*", and re-creating what it did not find makes a second
copy. The journal keeps such operations ``in_doubt`` (or ``pending``, when their run died);
before any run writes, and in ``plan``, each one of a kind whose repeat would duplicate
(`KindHandler.undeduplicated`: creates the server does not deduplicate) is judged:

- **found** by its kind's read-back (``recover``): it took effect after all; the journal says
  so (``done``), and the plan, made from a read of the live state, has no create for it (when
  the read-back found it after the plan's read, that account and kind are read again);
- **not found, sent less than the settle time ago** (``RetrySettings.settle_time``: by default
  the client's total deadline of a call or 60 s, whichever is larger): it may still land, so
  that account's changes of that kind are **held** this run, with one line saying when to run
  ``apply --resume``; the run ends partial;
- **not found, older than that**: it did not take effect (``resolved``); the plan's create goes
  ahead;
- an operation whose repeat is harmless (an update, a pause) is resolved at once: the plan
  repeats it if it is still needed.

A read-back that fails holds the account's changes of that kind, as not knowing is not "not made".

Which operations are in doubt: the store's `StateStore.in_doubt` (this installation's and
shard's). Apply and reconcile ask while holding the run lock, so a ``pending`` row is a dead
run's; ``plan`` holds no lock, and shows a running apply's calls in flight as in doubt too,
which they are. The decisions are pure (`judge`, `held_changes`); the reads are in `assess`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum


from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import SharingtoolsError
from orchestrator.api.fanout import each
from orchestrator.contract import Kind
from orchestrator.contract.vocabulary import OpStatus
from orchestrator.kinds import AccountIssue, KindRegistry, Op, Operation
from orchestrator.plan import Change, Plan
from orchestrator.planning.planner import Planned, Planner
from orchestrator.state.store import InDoubt, Resolution
from orchestrator.log import get_logger

log = get_logger("orchestrator.apply")


class Verdict(StrEnum):
    """What a run concludes of one operation in doubt."""

    TOOK_EFFECT = "took effect after all"
    DID_NOT = "did not take effect"
    HARMLESS = "a repeat is harmless"
    HOLD = "may still take effect"


@dataclass(frozen=True)
class Judged:
    """One operation in doubt and what was concluded of it. ``until``: for a hold, the instant
    (seconds since the epoch) after which it is taken never to land; ``error``: why the
    read-back could not tell, when it failed."""

    doubt: InDoubt
    verdict: Verdict
    until: float | None = None
    error: str | None = None

    @property
    def pair(self) -> tuple[int, Kind]:
        return self.doubt.account_id, Kind(self.doubt.kind)

    def resolution(self) -> Resolution | None:
        """What the journal records of it (None: it stays in doubt)."""
        if self.verdict is Verdict.HOLD:
            return None
        status = OpStatus.DONE if self.verdict is Verdict.TOOK_EFFECT else OpStatus.RESOLVED
        when = _clock(datetime.now(UTC).timestamp())
        return Resolution(self.doubt.id, status, f"{self.verdict} (found so at {when} UTC)")

    def until_text(self) -> str:
        """When a hold ends, as its message says it (UTC)."""
        return _clock(self.until if self.until is not None else self.doubt.since)

    def message(self) -> str:
        """The line a person reads about a hold."""
        sent = _clock(self.doubt.since)
        what = _what(self.doubt.name)
        after = _clock(self.until) if self.until is not None else None
        if self.error is not None:
            return (f"could not check whether {what} sent at {sent} UTC took effect ({self.error}); nothing of this "
                    "kind is changed on this account until it can: run apply --resume again")
        return (f"{what} sent at {sent} UTC may still take effect on the server (its answer never came); "
                f"run apply --resume after {after} UTC")


def _what(name: str) -> str:
    return "a create" if name == Op.CREATE else f"an operation ({name})"


def _clock(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%H:%M:%S")


def judge(doubt: InDoubt, duplicates: bool, found: bool | None, now: float, settle: float) -> Verdict:
    """The verdict on ``doubt``: ``duplicates``, whether a repeat of it would make a second copy;
    ``found``, what its read-back said (None: it failed, or was not asked); ``settle``, the
    seconds after which what was sent is taken never to land."""
    if not duplicates:
        return Verdict.HARMLESS
    if found:
        return Verdict.TOOK_EFFECT
    if found is None or now < doubt.since + settle:
        return Verdict.HOLD
    return Verdict.DID_NOT


async def assess(client: SharingtoolsClient, kinds: KindRegistry, doubts: Sequence[InDoubt], now: float,
                 settle: float) -> list[Judged]:
    """Judge every operation in ``doubts``, reading back (concurrently) those whose repeat would duplicate."""
    judged: dict[int, Judged] = {}

    async def one(doubt: InDoubt) -> None:
        kind = Kind(doubt.kind)
        handler = kinds[kind] if kind in kinds else None  # noqa: SIM401 - the registry is no dict
        name = Op(doubt.name) if doubt.name in {str(o) for o in Op} else None
        duplicates = handler is not None and name is not None and name in handler.undeduplicated
        found: bool | None = None
        error: str | None = None
        if duplicates:
            assert handler is not None and name is not None
            op = Operation(kind, doubt.account_id, name, (), args=doubt.args)
            try:
                found = await handler.recover(client, op)
            except SharingtoolsError as exc:
                error = str(exc)
                log.warning("could not read back an operation in doubt", account_id=doubt.account_id, kind=kind,
                            operation=doubt.name, error=error)
        verdict = judge(doubt, duplicates, found, now, settle)
        judged[doubt.id] = Judged(doubt, verdict, doubt.since + settle if verdict is Verdict.HOLD else None, error)

    await each(doubts, one, workers=client.transport.workers)
    return [judged[d.id] for d in doubts]


def in_scope(doubts: Iterable[InDoubt], accounts: Collection[int]) -> list[InDoubt]:
    """The operations in doubt of ``accounts`` (those a run planned); the others wait for a run that plans them."""
    return [d for d in doubts if d.account_id in accounts]


def held_changes(plan: Plan, held: Collection[tuple[int, Kind]]) -> tuple[list[Change], list[Change]]:
    """(changes kept, changes held): a held (account, kind) pair's changes all wait."""
    kept = [c for c in plan.changes if (c.account_id, c.kind) not in held]
    return kept, [c for c in plan.changes if (c.account_id, c.kind) in held]


@dataclass
class Settled:
    """The plan once operations in doubt are judged: ``held`` (one issue per held account and
    kind), ``conflicts`` (accounts of a saved plan whose create took effect since: skipped),
    ``resolutions`` for the journal, and every verdict."""

    planned: Planned
    judged: list[Judged]
    held: list[AccountIssue]
    conflicts: list[int]
    resolutions: list[Resolution]
    #: When the last hold ends (UTC, HH:MM:SS), None without a hold.
    until: str | None = None


async def settle(planner: Planner, planned: Planned, doubts: Sequence[InDoubt], now: float, *,
                 saved: bool = False) -> Settled:
    """Judge the operations in doubt of the accounts ``planned`` read, and make the plan say so:
    held pairs' changes out (and an issue each, among the plan's problems too), pairs whose
    create took effect read again (of a saved plan: skipped as conflicts, the plan was made
    before)."""
    client, kinds = planner.client, planner.kinds
    mine = in_scope(doubts, set(planned.plan.fingerprints))
    if not mine:
        return Settled(planned, [], [], [], [])
    judged = await assess(client, kinds, mine, now, client.transport.retry.settle_time)
    plan = planned.plan
    names = {c.account_id: c.username for c in plan.changes}
    took = {j.pair for j in judged if j.verdict is Verdict.TOOK_EFFECT}
    conflicts: list[int] = []
    changes = list(plan.changes)
    fingerprints = dict(plan.fingerprints)
    if took and saved:
        conflicts = sorted({a for a, _ in took if any(c.account_id == a for c in changes)})
        changes = [c for c in changes if c.account_id not in conflicts]
    elif took:
        # The read-back may have found it after the plan's read: those pairs are read again.
        again = await planner.replan(took)
        changes = [c for c in changes if (c.account_id, c.kind) not in took] + list(again.plan.changes)
        for account, prints in again.plan.fingerprints.items():
            fingerprints[account] = {**fingerprints.get(account, {}), **prints}
    holds: dict[tuple[int, Kind], Judged] = {}
    for j in judged:
        if j.verdict is Verdict.HOLD:
            holds.setdefault(j.pair, j)
    kept = [c for c in changes if (c.account_id, c.kind) not in holds]
    waiting = {(c.account_id, c.kind) for c in changes} & set(holds)
    held = [AccountIssue(account, names.get(account, str(account)), kind, holds[(account, kind)].message())
            for account, kind in sorted(waiting)]
    for issue in held:
        log.warning("changes held: an operation in doubt may still take effect", account=issue.username,
                    kind=issue.kind, reason=issue.message)
    new = Plan.build(kept, plan.playbook_hash, fingerprints, plan.accounts_read, plan.blocked, plan.windows)
    resolutions = [r for j in judged if (r := j.resolution()) is not None]
    ends = [holds[pair] for pair in waiting]
    until = max(ends, key=lambda j: j.until or 0.0).until_text() if ends else None
    return Settled(replace(planned, plan=new, problems=[*planned.problems, *held]), judged, held, conflicts,
                   resolutions, until)
