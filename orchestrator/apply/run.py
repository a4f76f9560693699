"""One apply run: plan (or load a saved plan), check the safety policy, execute in waves,
verify each wave by re-reading what it touched, record the run, and report.

The kinds' memory of server objects (``ProcessMemory``) is read from the state store when the
run starts and its writes are stored after each wave and at the end (``keep_memory``): a crash
in between costs reads, never a second copy (the caption mark and the upload names already
make recognition server-side).

Exit codes: 0 applied and verified (or nothing to do), 1 error, 3 blocked by policy,
4 partial (some accounts failed or did not verify, or a wave passed ``max_fail``),
130 interrupted.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import anyio

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import SharingtoolsError
from orchestrator.contract.vocabulary import STATUS_OF_EXIT, ExitCode
from orchestrator.contract import LIBRARY_ID, DesiredState, Kind, Limit
from orchestrator.apply.events import Events, Phase, PhaseStarted, RunEnded, WaveVerified, WritesStarted
from orchestrator.apply.doubt import settle
from orchestrator.apply.executor import ExecutionResult, Executor
from orchestrator.state.store import FLEET_RUN_ENV, StateStore, StateStoreError
from orchestrator.kinds import AccountIssue, KindRegistry, Op, Operation, ProcessMemory
from orchestrator.plan import Change, Plan, canonical
from orchestrator.planning.planner import Planned, Planner, playbook_hash
from orchestrator.playbook import Playbook, window_events
from orchestrator.apply.policy import SafetyPolicy, Violation, waves_of
from orchestrator.planning.shard import Shard
from orchestrator.log import get_logger

log = get_logger("orchestrator.apply")

EXIT_OK, EXIT_ERROR, EXIT_BLOCKED, EXIT_PARTIAL, EXIT_INTERRUPTED = (
    ExitCode.OK, ExitCode.ERROR, ExitCode.BLOCKED, ExitCode.PARTIAL, ExitCode.INTERRUPTED)
DEFAULT_MAX_FAIL = Limit(10, percent=True)


class ApplyError(Exception):
    """The apply cannot start (stale plan, problems in the plan); nothing was changed.

    ``lines`` are ready to print: ``file:line:col: ...`` diagnostics, or ``error: ...``."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


@dataclass
class ApplyOptions:
    limit: Sequence[str] = ()
    allow: Sequence[str] = ()
    policy: Sequence[str] = ()
    waves: Sequence[Limit] | int | None = None  # None: the playbook's, else one wave
    max_fail: Limit | None = None  # None: the playbook's, else 10%
    saved_plan: Plan | None = None
    resume: bool = False
    # For reconcile: the run's name in the history, and which changes to act on (drift that is
    # only reported, accounts backed off are not): checked before the policy, and by verify.
    command: str = "apply"
    keep: Callable[[Change], bool] | None = None
    shard: Shard | None = None  # only this shard's accounts (--shard K/N)
    #: The instant entry windows are evaluated at (None: now, when the run starts); plan,
    #: execute and verify all use the one instant.
    at: datetime | None = None


@dataclass
class WaveReport:
    accounts: int
    failed: int
    unverified: int
    halted: bool = False


@dataclass
class ApplyOutcome:
    exit_code: int
    plan: Plan
    violations: list[Violation] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)
    execution: ExecutionResult = field(default_factory=ExecutionResult)
    unverified: list[Change] = field(default_factory=list)
    waves: list[WaveReport] = field(default_factory=list)
    run_id: int | None = None
    dropped: list[Change] = field(default_factory=list)  # left out by ApplyOptions.keep
    duration: float = 0.0
    message: str = ""
    #: Per-account problems found while planning (gone account, missing schedule): those
    #: accounts were left out, the others applied, and the run ends partial.
    problems: list[AccountIssue] = field(default_factory=list)
    #: What the playbook asked of every account (and the live account list, ``desired.accounts``):
    #: a reconcile cycle records it for the status page.
    desired: DesiredState | None = None
    #: Accounts and kinds held this run (also among ``problems``): an operation an earlier run
    #: sent, never answered and not found by its read-back may still take effect
    #: (`orchestrator.apply.doubt`); ``held_until``: when the last hold ends (UTC, HH:MM:SS).
    held: list[AccountIssue] = field(default_factory=list)
    held_until: str | None = None

    def report(self, client: SharingtoolsClient) -> dict[str, Any]:
        ops: dict[str, dict[str, dict[str, int]]] = {}
        for (kind, name, status), n in sorted(self.execution.results.items()):
            ops.setdefault(kind, {}).setdefault(name, {})[status] = n
        stats = client.transport.stats.snapshot()
        return {
            "run_id": self.run_id,
            "exit_code": self.exit_code,
            "status": STATUS[self.exit_code],
            "message": self.message,
            "duration_seconds": round(self.duration, 3),
            "plan": self.plan.summary(),
            "operations": ops,
            "bulk_calls": self.execution.bulk_calls,
            "requests": stats["requests"],
            "requests_total": stats["total"],
            "retries": stats["retries"],
            "waves": [w.__dict__ for w in self.waves],
            "conflicts": self.conflicts,
            "violations": [str(v) for v in self.violations],
            "failures": [f.public() for f in self.execution.failures],
            "problems": [str(p) for p in self.problems],
            "held": [h.public() for h in self.held],
            "unverified": [c.public() for c in self.unverified],
            "blocked": [b.public() for b in self.plan.blocked],
        }


STATUS = STATUS_OF_EXIT


async def prepare(planner: Planner, options: ApplyOptions, history: StateStore | None) -> tuple[Planned, list[int]]:
    """The plan to apply: fresh, saved (minus conflicting accounts), or the unfinished run's."""
    conflicts: list[int] = []
    if options.saved_plan is not None:
        saved = options.saved_plan
        if playbook_hash(planner.playbook) != saved.playbook_hash:
            raise ApplyError(["error: the playbooks changed since this plan was made: run plan again and review it"])
        _check_windows_since(planner.playbook, saved, planner.instant())
        planned = await planner.for_saved(saved)
        # The accounts the playbook's plan covers now: read, or with a read failure or a problem
        # (gone, no schedule), which the run reports. A saved change of any other account is not
        # the playbook's (unless --limit or --shard left the account out here).
        covered = (set(planned.plan.fingerprints) | {p.account_id for p in planned.read_failures}
                   | {p.account_id for p in planned.problems})
        mine = [c for c in saved.changes if options.shard is None or options.shard.manages(c.account_id)]
        if not options.limit:
            bound_to_playbook([c for c in mine if c.account_id not in covered], planned.plan)  # refuses them
        mine = [c for c in mine if c.account_id in covered]
        # Only accounts the saved plan would change can conflict; a moved account it leaves alone is fine.
        affected = {c.account_id for c in mine}
        conflicts = sorted(a for a in affected if planned.plan.fingerprints.get(a) != saved.fingerprints.get(a))
        wanted = [c for c in mine if c.account_id not in conflicts]
        planned.plan = Plan.build(bound_to_playbook(wanted, planned.plan), saved.playbook_hash, saved.fingerprints,
                                  saved.accounts_read, planned.plan.blocked, saved.windows)
        return planned, conflicts
    planner.known = await history.known_usernames() if history else frozenset()
    only = None
    if options.resume:
        run = await history.unfinished() if history else None
        if run is None:
            raise ApplyError(["error: there is no unfinished apply to resume: run plan or apply"])
        only = run.accounts
    planned = await planner.plan(only=only)
    if history:  # a later plan tells an account deleted since from a typo by these
        await history.record_accounts(await planner.read_accounts())
    return planned, conflicts


def _identity(c: Change) -> tuple[Any, ...]:
    """What a change does, as the executor would carry it out: the account, kind, action, path,
    the value it sets and the reference it acts on (a schedule id, a target id)."""
    return (c.account_id, str(c.kind), str(c.action), c.path, canonical(c.after), canonical(c.ref))


def bound_to_playbook(saved: Sequence[Change], fresh: Plan) -> list[Change]:
    """The saved changes, each as the playbook's own plan against the live state now makes it.

    A saved plan's checksum only says the file is whole: anyone who edits a plan can compute
    it again. What binds a plan to the playbook is that every change it holds, on an account
    whose live state is as it was when the plan was made (the others are conflicts, skipped),
    is one the playbook still asks for, which ``fresh`` (planned now, from the playbook given)
    shows. One that is not was edited or came from elsewhere: the whole plan is refused before
    any write. What runs is ``fresh``'s change: its value, reference and source come from the
    playbook, not from the file."""
    planned = {_identity(c): c for c in fresh.changes}
    foreign = [c for c in saved if _identity(c) not in planned]
    if foreign:
        first = foreign[0]
        what = f"{first.username} · {first.kind} {first.action} {first.path}"
        more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
        raise ApplyError([f"error: the saved plan holds changes the playbooks do not ask for against the live "
                          f"state ({what}{more}): it was edited, or made from other playbooks; nothing was "
                          f"applied: run `orchestrator plan --out FILE` again and review it"])
    return [planned[_identity(c)] for c in saved]


async def apply(
    client: SharingtoolsClient,
    playbook: Playbook,
    options: ApplyOptions,
    *,
    history: StateStore | None = None,
    executor: Executor | None = None,
    confirm: Callable[[Planned], Awaitable[bool]] | None = None,
    kinds: KindRegistry | None = None,
    events: Events | None = None,
) -> ApplyOutcome:
    """Apply ``playbook``: plan (or load), check the policy, ``confirm`` (shown the plan and its
    problems), then execute and verify wave by wave, telling ``events`` (the executor's, unless
    given) where the run is and what each operation did.
    ``kinds`` plan, execute and verify (by default the executor's, else
    `KindRegistry.default()`); an ``executor`` given is used with them. The last event is
    `RunEnded`, also when the run stops by an exception."""
    if events is None:
        events = executor.events if executor is not None else Events()
    try:
        # Which server post is the playbook's, which upload holds a file: read from the store
        # once, kept in the process, written back after each wave and at the end.
        memory = ProcessMemory(*await history.remembered()) if history else None
        try:
            outcome = await _apply(client, playbook, options, history, executor, confirm, kinds, events, memory)
        finally:
            with anyio.CancelScope(shield=True):
                await keep_memory(memory, history)
    except BaseException as exc:
        events.emit(RunEnded(EXIT_INTERRUPTED if not isinstance(exc, Exception) else EXIT_ERROR,
                             f"stopped by {type(exc).__name__}"))
        raise
    events.emit(RunEnded(outcome.exit_code, outcome.message, outcome.run_id))
    return outcome


async def _apply(client: SharingtoolsClient, playbook: Playbook, options: ApplyOptions, history: StateStore | None,
                 executor: Executor | None, confirm: Callable[[Planned], Awaitable[bool]] | None,
                 kinds: KindRegistry | None, events: Events, memory: ProcessMemory | None) -> ApplyOutcome:
    started = time.monotonic()
    if kinds is None:
        kinds = executor.kinds if executor is not None else KindRegistry.default()
    if memory is not None:
        kinds = kinds.remembering(memory)

    def phase(p: Phase) -> None:
        events.emit(PhaseStarted(p))

    phase(Phase("reading"))
    # One instant for the whole run's windows; a closed window takes back only what applies
    # added for windows (the claims in the state database).
    planner = Planner(client, playbook, kinds, options.limit, options.shard, at=options.at,
                      claims=await history.window_claims() if history else frozenset())
    planned, conflicts = await prepare(planner, options, history)
    if not planned.valid:
        raise ApplyError([*map(str, planned.diagnostics)])
    held: list[AccountIssue] = []
    held_until: str | None = None
    if history is not None:
        # Creates an earlier run sent and never heard back about: read back before any is repeated.
        doubts = await history.in_doubt()
        if doubts:
            settled = await settle(planner, planned, doubts, time.time(), saved=options.saved_plan is not None)
            planned, held = settled.planned, settled.held
            conflicts = sorted({*conflicts, *settled.conflicts})
            held_until = settled.until
            await history.resolve(settled.resolutions)
    dropped: list[Change] = []
    if options.keep is not None:
        p = planned.plan
        dropped = [c for c in p.changes if not options.keep(c)]
        kept = [c for c in p.changes if options.keep(c)]
        planned.plan = Plan.build(kept, p.playbook_hash, p.fingerprints, p.accounts_read, p.blocked, p.windows)
    plan = without_unread(planned)
    policy = SafetyPolicy.build(planned.desired, options.policy, options.allow)
    outcome = ApplyOutcome(EXIT_OK, plan, conflicts=conflicts, dropped=dropped, problems=list(planned.problems),
                           desired=planned.desired, held=held, held_until=held_until)
    outcome.execution.merge(read_failures_result(planned.read_failures, Op.READ))
    outcome.violations = policy.check(plan.changes, planned.desired)
    if outcome.violations:
        outcome.exit_code, outcome.message = EXIT_BLOCKED, "blocked by the safety policy: nothing was changed"
        if history:
            outcome.run_id = await history.start_run(options.command, plan.playbook_hash, [])
            await history.finish_run(outcome.run_id, "blocked", {"violations": [str(v) for v in outcome.violations]})
        return await _finish(outcome, started)
    if plan.empty:
        outcome.message = "nothing to do: the installation matches the playbooks"
        if plan.blocked:
            outcome.message += f" ({len(plan.blocked)} blocked changes are not attempted: see above)"
        if outcome.problems:
            outcome.exit_code = EXIT_PARTIAL
            outcome.message = "partial: nothing to do for the accounts planned; " + _not_planned(outcome)
        if conflicts:
            outcome.exit_code = EXIT_PARTIAL
            outcome.message = "every account in the saved plan changed since: plan again"
        if outcome.execution.failures:
            outcome.exit_code, outcome.message = EXIT_PARTIAL, "partial: some accounts could not be read"
        return await _finish(outcome, started)
    if confirm is not None and not await confirm(planned):
        outcome.exit_code, outcome.message = EXIT_ERROR, "apply cancelled: nothing was changed"
        return await _finish(outcome, started)
    if history and options.shard is not None:
        # A shard's share of the fleet's allowances, reserved before it writes (state/fleet.py).
        outcome.violations = await reserve_fleet_allowance(history, policy, plan, planned.desired, options.shard)
        if outcome.violations:
            outcome.exit_code = EXIT_BLOCKED
            outcome.message = "blocked by the fleet-wide safety policy: nothing was changed"
            outcome.run_id = await history.start_run(options.command, plan.playbook_hash, [])
            await history.finish_run(outcome.run_id, "blocked", {"violations": [str(v) for v in outcome.violations]})
            return await _finish(outcome, started)

    # Past the confirmation nothing compares a fingerprint again (the accounts read are still
    # known): dropped from the plan the run and the planner hold.
    same = planned.plan is plan
    outcome.plan = plan = plan.without_fingerprints()
    planned.plan = plan if same else planned.plan.without_fingerprints()
    ops = operations_of(plan.changes, kinds)
    order = _account_order(plan.changes)
    if history:
        resumed = await history.unfinished() if options.resume else None
        # The held accounts are the run's too: `apply --resume` plans them again.
        outcome.run_id = await history.start_run(options.command, plan.playbook_hash,
                                                 [*order, *(h.account_id for h in held)],
                                                 resumes=resumed.id if resumed else None)
    executor = executor or Executor(client, kinds=kinds, events=events)
    executor.events = events
    executor.kinds, executor.history, executor.run_id = kinds, history, outcome.run_id
    max_fail = options.max_fail or _sourced(playbook.policy.max_fail) or DEFAULT_MAX_FAIL
    wave_spec = options.waves if options.waves is not None else _sourced(playbook.policy.waves)
    # The caption library belongs to no account: it rides with the first wave without taking
    # one of its places.
    library = [LIBRARY_ID] if order and order[0] == LIBRARY_ID else []
    accounts_in_order = order[len(library):]
    events.emit(WritesStarted(outcome))
    try:
        await _run_waves(planner, options, outcome, executor, ops, library, accounts_in_order, wave_spec,
                         max_fail, phase, memory)
    except BaseException as exc:
        # The run stops here (a bug, or a cancellation): its history must not stay "running"
        # for ever; "interrupted" keeps it resumable.
        outcome.exit_code = EXIT_INTERRUPTED
        outcome.message = f"stopped by {type(exc).__name__}: run apply --resume"
        # Shielded: a cancellation must still record the run's end; the original failure is the one to report.
        with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
            await _finish(outcome, started, history, client)
        raise
    if executor.journal_failure is not None:
        # The journal could not be written: no operation started since; what it holds is kept.
        outcome.exit_code = EXIT_ERROR
        outcome.message = (f"stopped: {executor.journal_failure}; run apply --resume once the state database "
                           "can be written")
        return await _finish(outcome, started, history, client)
    if outcome.exit_code == EXIT_OK:
        if outcome.execution.failures or outcome.unverified or conflicts or outcome.problems:
            outcome.exit_code = EXIT_PARTIAL
            outcome.message = "partial: " + _partial_reasons(outcome)
        else:
            outcome.message = "applied and verified"
    return await _finish(outcome, started, history, client)


async def reserve_fleet_allowance(store: StateStore, policy: SafetyPolicy, plan: Plan, desired: DesiredState,
                                  shard: Shard) -> list[Violation]:
    """Reserve this shard's amounts of the fleet-wide limits in the store (all or none); the
    violations when the round's other shards already used too much of them."""
    amounts = policy.amounts(plan.changes, desired)
    asked = {rule: amount for rule, (amount, _) in amounts.items() if amount > 0}
    if not asked:
        return []
    limits = {rule: threshold for rule, (_, threshold) in amounts.items()}
    answer = await store.reserve(shard.count, asked, limits, round_id=os.environ.get(FLEET_RUN_ENV) or None)
    if answer.granted:
        log.info("fleet allowance reserved", round=answer.round, used=answer.used)
        return []
    return [Violation(rule, f"{rule} (fleet-wide): the other shards of this round already used "
                            f"{answer.used.get(rule, 0)} of {limits[rule]}, and shard {shard} would add {amount}",
                      policy.hint(rule, plan.changes, desired))
            for rule, amount in asked.items() if answer.used.get(rule, 0) + amount > limits[rule]]


async def _run_waves(planner: Planner, options: ApplyOptions, outcome: ApplyOutcome, executor: Executor,
                     ops: list[Operation], library: list[int], accounts_in_order: list[int], wave_spec: Any,
                     max_fail: Limit, phase: Callable[[Phase], None], memory: ProcessMemory | None = None) -> None:
    history = executor.history
    done = 0
    refresh_accounts = False
    sizes = waves_of(wave_spec, len(accounts_in_order))
    for number, size in enumerate(sizes, start=1):
        wave = (library if done == 0 else []) + accounts_in_order[done:size]
        done = size
        members = set(wave)
        wave_ops = [op for op in ops if op.account_id in members]
        phase(Phase("applying", number, len(sizes), len(wave_ops), len(wave)))
        result = await executor.run(wave_ops)
        outcome.execution.merge(result)
        refresh_accounts = refresh_accounts or any(op.kind == Kind.ACCOUNT for op in wave_ops)
        if result.interrupted:
            outcome.exit_code = EXIT_INTERRUPTED
            outcome.message = "interrupted: in-flight calls finished, the journal is written; run apply --resume"
            break
        phase(Phase("verifying", number, len(sizes), len(wave_ops), len(wave)))
        # The desired state and the playbook's hash from the plan step serve every wave's verify,
        # unless accounts changed: then both are worked out again from a fresh account read.
        unverified, unread = await _verify(planner, wave_ops, result, accounts_changed=refresh_accounts)
        if options.keep is not None:
            unverified = [c for c in unverified if options.keep(c)]
        outcome.unverified += unverified
        outcome.execution.merge(unread)
        result.failed_accounts |= unread.failed_accounts
        bad = result.failed_accounts | {c.account_id for c in unverified}
        if history and executor.journal_failure is None:
            # What was set and verified: a later plan tells drift from new intent by it.
            try:
                await history.record_applied(
                    [c for op in wave_ops if op.account_id not in bad for c in op.changes], outcome.run_id)
            except StateStoreError as exc:
                executor.journal_failure = exc
            await keep_memory(memory, history)
        if executor.journal_failure is not None:
            break
        report = WaveReport(len(wave), len(result.failed_accounts), len({c.account_id for c in unverified}))
        outcome.waves.append(report)
        executor.events.emit(WaveVerified(number, report.accounts, report.failed, report.unverified))
        if bad and len(bad) > max_fail.of(len(wave)) and done < len(accounts_in_order):
            report.halted = True
            outcome.exit_code = EXIT_PARTIAL
            outcome.message = (f"halted after wave {len(outcome.waves)}: {len(bad)} of {len(wave)} accounts failed "
                               f"or did not verify (max_fail {max_fail}); "
                               f"{len(accounts_in_order) - done} accounts not started")
            break


async def keep_memory(memory: ProcessMemory | None, history: StateStore | None) -> None:
    """Store what ``memory`` learnt since it was last stored (one transaction). A failure is
    logged and the writes stay pending for the next try: what is lost costs reads, never a
    second copy (a post's caption mark and an upload's name make recognition server-side)."""
    if memory is None or history is None:
        return
    objects, uploads = memory.take_writes()
    if not objects and not uploads:
        return
    try:
        await history.save_identities(objects, uploads)
    except StateStoreError as exc:
        memory.put_back(objects, uploads)
        log.warning("could not store which server objects are the playbook's", error=str(exc))


def _accounts(problems: Sequence[AccountIssue]) -> str:
    n = len({(p.account_id, p.username) for p in problems})
    return f"{n} account{'s' if n != 1 else ''}"


def _partial_reasons(outcome: ApplyOutcome) -> str:
    """What made a run partial, counted, for its last line."""
    parts = []
    if outcome.execution.failures:
        parts.append(f"{len(outcome.execution.failed_accounts)} accounts failed")
    if outcome.unverified:
        parts.append(f"{len({c.account_id for c in outcome.unverified})} accounts did not verify")
    if outcome.conflicts:
        parts.append(f"{len(outcome.conflicts)} accounts changed since the plan")
    if outcome.problems:
        parts.append(_not_planned(outcome, see=""))
    return ", ".join(parts) + "; the others were applied and verified"


def _not_planned(outcome: ApplyOutcome, see: str = " (see the problems above)") -> str:
    """The accounts left out of the run: with a problem, or held by an operation in doubt."""
    others = [p for p in outcome.problems if p not in outcome.held]
    parts = [f"{_accounts(others)} could not be planned{see}"] if others else []
    if outcome.held:
        parts.append(f"{_accounts(outcome.held)} held: a create sent earlier may still take effect; run apply "
                     f"--resume after {outcome.held_until} UTC")
    return ", ".join(parts)


def operations_of(changes: Sequence[Change], kinds: KindRegistry | None = None) -> list[Operation]:
    """Every operation realising ``changes``, grouped by (account, kind) as the kinds ask."""
    kinds = kinds if kinds is not None else KindRegistry.default()
    grouped: dict[tuple[int, Kind], list[Change]] = {}
    for c in changes:
        grouped.setdefault((c.account_id, c.kind), []).append(c)
    ops: list[Operation] = []
    for (_, kind), group in grouped.items():
        ops += kinds[kind].operations(group)
    return ops


def _account_order(changes: Sequence[Change]) -> list[int]:
    """Accounts in wave order: the caption library first, then by username."""
    seen: dict[int, str] = {}
    for c in changes:
        seen.setdefault(c.account_id, c.username)
    return sorted(seen, key=lambda a: (a != LIBRARY_ID, seen[a], a))


async def _verify(planner: Planner, ops: Sequence[Operation], result: ExecutionResult, *,
                  accounts_changed: bool) -> tuple[list[Change], ExecutionResult]:
    """Re-read what the wave touched (and only that) and diff again: what still differs, and
    the accounts whose re-read failed (reported failed: nothing says their changes hold)."""
    pairs = {(op.account_id, op.kind) for op in ops if op.account_id not in result.failed_accounts}
    if not pairs:
        return [], ExecutionResult()
    try:
        again = await planner.replan(pairs, accounts_changed=accounts_changed)
    except SharingtoolsError as exc:  # the account list itself could not be re-read
        names = {op.account_id: (op.changes[0].username if op.changes else str(op.account_id)) for op in ops}
        failed = [AccountIssue(a, names.get(a, str(a)), kind, f"could not verify: {exc}") for a, kind in sorted(pairs)]
        return [], read_failures_result(failed, Op.VERIFY)
    return list(again.plan.changes), read_failures_result(again.read_failures, Op.VERIFY)


def without_unread(planned: Planned) -> Plan:
    """The plan minus every change of an account some read of which failed: such an account
    is reported failed as a whole rather than half-applied."""
    unread = {p.account_id for p in planned.read_failures}
    plan = planned.plan
    if not unread:
        return plan
    fingerprints = {a: f for a, f in plan.fingerprints.items() if a not in unread}
    return Plan.build([c for c in plan.changes if c.account_id not in unread], plan.playbook_hash, fingerprints,
                      plan.accounts_read, plan.blocked, plan.windows)


def read_failures_result(problems: Sequence[AccountIssue], step: Op) -> ExecutionResult:
    """Failed reads as failures of their accounts (``step``: read before, or verify after)."""
    result = ExecutionResult()
    for p in problems:
        kind = p.kind if p.kind is not None else Kind.ACCOUNT  # a whole-account failure counts as the account's
        result.failures.append(AccountIssue(p.account_id, p.username, kind, p.message, step))
        result.failed_accounts.add(p.account_id)
        result.results[(kind, step, "failed")] += 1
    return result


def _check_windows_since(playbook: Playbook, saved: Plan, now: datetime) -> None:
    """A saved plan is the desired state at the instant it was planned for: refused when a
    window opened or closed between that instant and now (it would apply what is no longer,
    or not yet, desired)."""
    if saved.windows is None:
        return
    first, last = sorted((saved.windows.at, now))
    # The next opening or closing of each windowed entry after the earlier instant: one before
    # the later instant means the desired state differs between the two.
    between = [e for e in window_events(playbook, first - timedelta(microseconds=1), 1) if e.at <= last]
    if between:
        e = between[0]
        raise ApplyError([f"error: the window of entry `{e.entry}` {'opens' if e.opens else 'closes'} at "
                          f"{e.at:%Y-%m-%d %H:%M} UTC, between the plan's time and now: run plan again and review it"])


def _sourced(value: Any) -> Any:
    return value.value if value is not None else None


async def _finish(outcome: ApplyOutcome, started: float, history: StateStore | None = None,
                  client: SharingtoolsClient | None = None) -> ApplyOutcome:
    outcome.duration = time.monotonic() - started
    if history is not None and outcome.run_id is not None and client is not None:
        try:
            await history.finish_run(outcome.run_id, STATUS[outcome.exit_code], outcome.report(client))
        except StateStoreError as exc:
            # The run stays "running" in the history, which apply --resume finds.
            log.warning("could not record the run's end", error=str(exc))
            if not outcome.message.startswith("stopped: "):  # else the journal's failure was said already
                outcome.exit_code = EXIT_ERROR
                outcome.message = f"{outcome.message}; but its end could not be recorded: {exc}"
    return outcome
