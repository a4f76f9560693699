"""Where every account stands after one cycle, worked out from what the cycle found and did.

The loop calls `fleet_status` once per cycle that got as far as a plan; the rows go to
the state store (``StateStore.record_status``) for the status page. The state of an account is the most
serious of what applies to it (`AccountState`): a failure, then a backoff, a blocked change,
drift left as it is; "in sync" only when nothing is left to do.

The desired values are flattened to the paths changes use (``settings.likes_speed``,
``targets[hashtag:ootd]``, ``tasks[q2].state``), so the page can put a cycle's drift row
(live's value) beside the value the playbook wants. Secrets stay references: a proxy read
from ``{env: NOVA_PROXY}`` is shown as ``*** ({env: NOVA_PROXY})``, never resolved here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from orchestrator.apply.run import ApplyOutcome
from orchestrator.contract import (
    AccountDesired,
    CommentTarget,
    DesiredState,
    FirstCommentDesired,
    KindDesired,
    LeadsDesired,
    ResolvedSecret,
    ScheduleDesired,
    SecretRef,
    Sourced,
    Target,
    ToggleDesired,
)
from orchestrator.contract.vocabulary import AccountState, DriftOutcome
from orchestrator.log import MASK
from orchestrator.plan.blocked import Blocked
from orchestrator.state.drift import Backoff, DriftRow
from orchestrator.state.snapshot import AccountStatus, CycleStatus, DesiredField, Note, Tally
from orchestrator.state.store import StateStore

# Drift left as it is: reported, held, never sent, or sent by a cycle stopped before it verified it.
LEFT = {DriftOutcome.REPORTED, DriftOutcome.HELD, DriftOutcome.NOT_STARTED, DriftOutcome.INTERRUPTED}
FAILED = {DriftOutcome.FAILED, DriftOutcome.UNVERIFIED}


def _plain(value: Any) -> Any:
    """A desired value as JSON holds it: secrets as their reference, targets as ``type:value``."""
    if isinstance(value, SecretRef):
        return f"{MASK} ({value})"
    if isinstance(value, ResolvedSecret):
        return f"{MASK} ({value.ref})"
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, CommentTarget):
        return value.username
    if isinstance(value, Target):
        return str(value)
    return value


def _field(path: str, sourced: Sourced[Any] | None) -> list[DesiredField]:
    if sourced is None:
        return []
    return [DesiredField(path, _plain(sourced.value), str(sourced.source))]


def desired_fields(desired: KindDesired) -> list[DesiredField]:
    """One kind's desired values at the paths its changes use, in the order a plan shows them."""
    out: list[DesiredField] = []
    if isinstance(desired, ScheduleDesired):
        out += _field("state", desired.state)
        for name in sorted(desired.settings):
            out += _field(f"settings.{name}", desired.settings[name])
        for target in desired.targets or ():
            t = target.value
            out.append(DesiredField(f"targets[{t.type}:{t.value}]", "present", str(target.source)))
        out += _field("targets (prune)", desired.prune)
    elif isinstance(desired, ToggleDesired):
        out += _field("state", desired.state)
    elif isinstance(desired, LeadsDesired):
        out += _field("tasks[*].state", desired.every)
        for name in sorted(desired.tasks):
            out += _field(f"tasks[{name}].state", desired.tasks[name])
    elif isinstance(desired, FirstCommentDesired):
        for s in desired.schedules:
            base = f"schedules[{s.label}]"
            out.append(DesiredField(base, "present", str(s.source)))
            out += _field(f"{base}.targets", s.targets)
            out += _field(f"{base}.comments", s.comments)
            out += _field(f"{base}.comment_mode", s.mode)
            out += _field(f"{base}.state", s.state)
        out += _field("schedules (prune)", desired.prune)
    elif isinstance(desired, AccountDesired):
        out += _field("proxy", desired.proxy)
        if desired.password is not None:
            out.append(DesiredField("password", f"{MASK} ({desired.password.value})", str(desired.password.source)))
    return out


def _groups_by_account(desired: DesiredState) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for name, members in desired.groups.items():
        for account in members:
            out.setdefault(account.id, []).append(name)
    return out


def fleet_status(run_id: int, at: float, mode: str, result: str, outcome: ApplyOutcome, drift: Sequence[DriftRow],
                 blocked: Sequence[Blocked],
                 backoffs: Mapping[int, Backoff]) -> tuple[CycleStatus, list[AccountStatus]]:
    """The cycle's counts and one status per account on the installation's list."""
    desired = outcome.desired
    assert desired is not None, "apply sets it on every outcome it returns"
    rows: dict[int, list[DriftRow]] = {}
    for r in drift:
        rows.setdefault(r.account_id, []).append(r)
    blocked_of: dict[int, list[Blocked]] = {}
    for b in blocked:
        blocked_of.setdefault(b.account_id, []).append(b)
    failures: dict[int, list[Note]] = {}
    for f in outcome.execution.failures:
        failures.setdefault(f.account_id, []).append(Note(str(f.kind or "account"), "failed", f.message))
    for p in outcome.problems:
        failures.setdefault(p.account_id, []).append(Note(str(p.kind or "account"), "failed", p.message))
    groups = _groups_by_account(desired)
    tally = Tally()
    accounts: list[AccountStatus] = []
    for account_id, account in sorted(desired.accounts.items()):
        kinds = desired.by_account.get(account_id)
        mine = rows.get(account_id, [])
        if kinds is None:
            status = AccountStatus(account_id, account.username, AccountState.UNMANAGED,
                                   groups=tuple(groups.get(account_id, ())))
        else:
            status = _judge(account_id, account.username, kinds, groups.get(account_id, []), mine,
                            blocked_of.get(account_id, []), failures.get(account_id, []), backoffs,
                            read=account_id in outcome.plan.fingerprints)
        accounts.append(status)
        tally.add("states", status.state)
        for reason in status.reasons:
            tally.add("blocked", reason)
    for r in drift:
        tally.add("outcomes", r.outcome)
        if r.outcome != DriftOutcome.BLOCKED:
            tally.add("kinds", r.kind)
    read = len([a for a in outcome.plan.fingerprints if a != 0])
    return CycleStatus(run_id, at, mode, result, tally.public(read=read, accounts=len(accounts))), accounts


def _judge(account_id: int, username: str, kinds: Mapping[Any, KindDesired], groups: list[str],
           rows: list[DriftRow], blocked: list[Blocked], failures: list[Note], backoffs: Mapping[int, Backoff], *,
           read: bool) -> AccountStatus:
    notes: list[Note] = []
    seen: set[tuple[str, str]] = set()
    for b in blocked:
        if (b.kind, b.message) not in seen:
            seen.add((b.kind, b.message))
            notes.append(Note(str(b.kind), b.reason, b.message))
    failed = list(failures)
    for r in rows:
        if r.outcome in FAILED and not failures:
            failed.append(Note(r.kind, "failed", r.reason or f"{r.path} did not verify"))
    notes += _unique(failed)
    backed_off = any(r.outcome == DriftOutcome.BACKED_OFF for r in rows)
    if backed_off and account_id in backoffs:
        wait = backoffs[account_id]
        notes.append(Note("account", "backed_off", f"{wait.failures} failed cycles; last error: {wait.last_error}"))
    held = [r for r in rows if r.outcome == DriftOutcome.HELD]
    if held:
        notes.append(Note(held[0].kind, "held", held[0].reason or "the safety policy held this cycle's writes"))
    left = sum(1 for r in rows if r.outcome in LEFT or r.outcome in FAILED or r.outcome == DriftOutcome.BACKED_OFF)
    if failed:
        state = AccountState.FAILED
    elif backed_off:
        state = AccountState.BACKED_OFF
    elif blocked:
        state = AccountState.BLOCKED
    elif left:
        state = AccountState.DRIFTED
    else:
        state = AccountState.IN_SYNC if read else AccountState.NOT_SEEN
    return AccountStatus(
        account_id, username, state, kinds=tuple(str(k) for k in kinds), groups=tuple(groups),
        reasons=tuple(sorted({b.reason for b in blocked})), differences=left,
        fixed=sum(1 for r in rows if r.outcome == DriftOutcome.FIXED), notes=tuple(notes),
        desired={str(kind): desired_fields(d) for kind, d in kinds.items()})


def _unique(notes: list[Note]) -> list[Note]:
    out: list[Note] = []
    for n in notes:
        if n not in out:
            out.append(n)
    return out


async def record_status(store: StateStore, run_id: int, at: float, mode: str, result: str,
                        outcome: ApplyOutcome | None, drift: Sequence[DriftRow], blocked: Sequence[Blocked],
                        backoffs: Mapping[int, Backoff]) -> None:
    """Write one cycle's status: the fleet's when the cycle got as far as a plan, else only the
    cycle's line (its result), so the page shows the failed cycle and keeps the last fleet."""
    if outcome is None or outcome.desired is None:
        await store.record_status(CycleStatus(run_id, at, mode, result), None, drift)
        return
    await store.record_status(*fleet_status(run_id, at, mode, result, outcome, drift, blocked, backoffs), drift)
