"""Scheduled reconciliation: plan, record the drift, apply (or only report), verify, record.

A cycle is one apply under the same safety policy, with three differences:

- **It records the drift first**, by account, kind and field, and what it did about each
  difference (``orchestrator.state.drift``): fixed, failed, unverified, reported, held by the
  policy, backed off, blocked, not started, interrupted. Only what it sent, was answered done
  and re-read by verify is ``fixed`` (``orchestrator.reconcile.outcomes``, from the engine's
  events). ``history show RUN`` reads it back.
- **It acts on less.** In ``report`` mode it writes nothing. In ``fix`` mode, kinds and fields
  the playbook's ``policy.drift`` marks ``report`` are reported, not fixed, and accounts in
  backoff are skipped. Blocked changes (``orchestrator.planning.blockers``) are never attempted, so a
  login the server lost never makes the loop flap.
- **It never stops the loop for one bad cycle.** A policy violation holds that cycle's
  writes; an unreachable server or a playbook problem fails that cycle; the next one runs.

Why backoff per account and not per cycle: one account whose change never verifies must not
delay the other accounts' fixes (client-go's workqueue backs off one item the same way).
Why the lock per cycle: an operator may still run ``apply`` between two cycles of a loop.

Entry windows (``when:``): a cycle evaluates them at its own start (the reconciler's clock, real
time by default); between cycles the loop sleeps until ``--every`` has passed or the next window
opens or closes, whichever comes first, without jitter, so a campaign starts within seconds of
its ``from``. A cycle records why it ran (``cause``: ``start``, ``schedule``, or ``window`` with
the entries that opened or closed); a window's cycle that fails is tried again after
`WINDOW_RETRY` seconds rather than after a whole ``--every``.

Signals (`Reconciler.run`), exactly as apply: SIGINT or SIGTERM while a cycle reads, or
between cycles, ends the loop at once; while a cycle writes, the first signal stops new
operations and gives the calls in flight `orchestrator.apply.interrupts.GRACE` seconds, a
second (or the grace running out) cancels them. Either way the cycle is recorded, shielded
from the cancellation: the run ``interrupted``, its drift as far as it got (nothing sent after
the signal is ``fixed``), creates cancelled in flight journaled in doubt as apply journals them
(the next cycle reads them back before it repeats one: ``orchestrator.apply.doubt``).

Exit codes of ``reconcile --once`` (and of a loop that ends): 0 in sync or fixed and
verified; 1 error (lock held, bad playbook, server unreachable); 2 drift found and only
reported; 3 the policy held the writes; 4 partial (failures, unverified, backed off, not
started); 130 / 143 interrupted by SIGINT / SIGTERM.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import SharingtoolsError, leaves
from orchestrator.plan.blocked import Blocked
from orchestrator.contract import Kind
from orchestrator.contract.vocabulary import Action, DriftOutcome, ExitCode, ReconcileMode, RunStatus
from orchestrator.state.drift import Backoff, BackoffPolicy, DriftRow
from orchestrator.apply.run import EXIT_INTERRUPTED, ApplyError, ApplyOptions, ApplyOutcome, apply
from orchestrator.apply.events import Event, OperationDone, OperationFailed, WritesStarted
from orchestrator.apply.executor import Executor
from orchestrator.apply.fleet import fleet_member
from orchestrator.apply.interrupts import InterruptWatch, exit_code
from orchestrator.reconcile.outcomes import CycleTrack, Facts, forgotten_backoffs, judge, record_track
from orchestrator.state.store import LockHeld, RunLockGrant, StateStore, StateStoreError
from orchestrator.reconcile.metrics import ReconcileMetrics
from orchestrator.reconcile.snapshot import record_status
from orchestrator.plan import Change, describe
from orchestrator.playbook import Playbook, next_window_event, window_events, window_states
from orchestrator.planning.shard import Shard
from orchestrator.kinds import AccountIssue
from orchestrator.log import get_logger

log = get_logger("orchestrator.reconcile.loop")

EXIT_OK, EXIT_ERROR, EXIT_REPORTED, EXIT_HELD, EXIT_PARTIAL = (
    ExitCode.OK, ExitCode.ERROR, ExitCode.CHANGES, ExitCode.BLOCKED, ExitCode.PARTIAL)
EXIT_SIGINT, EXIT_SIGTERM = ExitCode.INTERRUPTED, ExitCode.TERMINATED
MODES = tuple(ReconcileMode)
# When several things happen in one cycle, the exit code says the most serious.
SEVERITY: list[int] = [EXIT_ERROR, EXIT_SIGTERM, EXIT_SIGINT, EXIT_HELD, EXIT_PARTIAL, EXIT_REPORTED, EXIT_OK]
RESULT: dict[int, str] = {EXIT_OK: "ok", EXIT_ERROR: "error", EXIT_REPORTED: "drift_reported", EXIT_HELD: "policy_held",
          EXIT_PARTIAL: "partial", EXIT_SIGINT: "interrupted", EXIT_SIGTERM: "interrupted"}
#: What makes a cycle partial: differences it meant to fix and did not.
PARTIAL = frozenset({DriftOutcome.FAILED, DriftOutcome.UNVERIFIED, DriftOutcome.NOT_STARTED, DriftOutcome.BACKED_OFF,
                     DriftOutcome.INTERRUPTED})
#: The outcomes the command line lists change by change (the others are counted: `history show`).
SHOWN = frozenset({DriftOutcome.FAILED, DriftOutcome.UNVERIFIED, DriftOutcome.INTERRUPTED, DriftOutcome.BACKED_OFF,
                   DriftOutcome.REPORTED, DriftOutcome.HELD})
#: Seconds before a window's cycle that failed (lock held, server down) is tried again.
WINDOW_RETRY = 30.0
#: Bound on the sleeps towards one window boundary (the wall clock may lag the sleep's clock).
WAKE_STEPS = 100


@dataclass(frozen=True)
class Cause:
    """Why a cycle ran: ``start`` (the loop's first), ``schedule`` (``--every`` passed), or
    ``window`` (entries opened or closed: ``events``)."""

    reason: str = "start"
    events: tuple[Any, ...] = ()  # contract WindowEvent

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {"reason": self.reason}
        if self.events:
            out["windows"] = [{"entry": e.entry, "event": e.event,
                               "at": e.at.strftime("%Y-%m-%dT%H:%M:%SZ")} for e in self.events]
        return out

    def __str__(self) -> str:
        if not self.events:
            return self.reason
        return "window: " + ", ".join(f'"{e.entry}" {"opened" if e.opens else "closed"}' for e in self.events)


class ReconcileError(Exception):
    """The loop cannot start (the first cycle found the lock held)."""


@dataclass
class ReconcileOptions:
    mode: str = "fix"
    limit: Sequence[str] = ()
    allow: Sequence[str] = ()
    policy: Sequence[str] = ()
    every: float = 900.0
    jitter: float = 0.1  # a fraction of ``every``, either way
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    shard: Shard | None = None  # only this shard's accounts (--shard K/N)


@dataclass
class CycleReport:
    """What one cycle found and did."""

    number: int
    exit_code: int
    message: str
    run_id: int | None = None
    drift: list[DriftRow] = field(default_factory=list)
    blocked: list[Blocked] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    backed_off: list[Backoff] = field(default_factory=list)
    accounts_read: int = 0
    out_of_sync: int = 0
    duration: float = 0.0
    cause: Cause = field(default_factory=Cause)
    #: Every windowed entry, open or not at the cycle's instant.
    windows: dict[str, bool] = field(default_factory=dict)
    #: Accounts and kinds held: a create an earlier run sent may still take effect
    #: (`orchestrator.apply.doubt`); ``held_until``: when the last hold ends (UTC, HH:MM:SS).
    held: list[AccountIssue] = field(default_factory=list)
    held_until: str | None = None

    @property
    def result(self) -> str:
        return RESULT.get(self.exit_code, "error")

    def by_outcome(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.drift:
            counts[row.outcome] = counts.get(row.outcome, 0) + 1
        return dict(sorted(counts.items()))

    def summary(self) -> dict[str, Any]:
        return {"cycle": self.number, "run_id": self.run_id, "result": self.result, "exit_code": self.exit_code,
                "message": self.message, "drift": self.by_outcome(), "blocked": len(self.blocked),
                "violations": self.violations, "backed_off": [b.account_id for b in self.backed_off],
                "accounts": {"read": self.accounts_read, "out_of_sync": self.out_of_sync},
                "duration_seconds": round(self.duration, 3), "cause": self.cause.public(),
                **({"held": [h.public() for h in self.held]} if self.held else {}),
                **({"windows_open": sorted(n for n, on in self.windows.items() if on)} if self.windows else {})}


def report_only(rules: dict[str, str] | None) -> Callable[[Change], bool]:
    """Whether a change's drift is only reported, by the playbook's ``policy.drift``: the most
    specific rule wins (``reactions.settings.likes_speed`` over ``reactions``)."""
    rules = rules or {}

    def matches(change: Change) -> bool:
        best: tuple[int, str] | None = None
        for key, mode in rules.items():
            kind, _, path = key.partition(".")
            if kind != change.kind:
                continue
            if path and not (change.path == path or change.path.startswith(path + ".")
                             or change.path.startswith(path + "[")):
                continue
            if best is None or len(key) > best[0]:
                best = (len(key), mode)
        return best is not None and best[1] == "report"

    return matches


class Reconciler:
    """Runs cycles against one installation through one client; see the module docstring."""

    def __init__(self, client: SharingtoolsClient, book: Playbook, options: ReconcileOptions, *,
                 history: StateStore,
                 lock: Callable[[], contextlib.AbstractAsyncContextManager[RunLockGrant]] | None = None,
                 metrics: ReconcileMetrics | None = None, executor: Executor | None = None,
                 clock: Callable[[], float] = time.time, rng: random.Random | None = None) -> None:
        if options.mode not in MODES:
            raise ValueError(f"unknown mode {options.mode!r}: use fix or report")
        self.client, self.book, self.options = client, book, options
        self.history = history
        self.lock = lock
        self.metrics = metrics or ReconcileMetrics()
        self.executor = executor or Executor(client)
        self.executor.events.subscribe(self._on_event)
        self.clock = clock
        self.rng = rng or random.Random()
        self.cycles = 0
        # The signals `run` watches (as apply does: orchestrator.apply.interrupts), and what the
        # engine's events say of the running cycle's writes (orchestrator.reconcile.outcomes).
        self._watch: InterruptWatch | None = None
        self._track = CycleTrack()
        #: A cycle a signal cancelled midway (recorded, but never returned by `cycle`).
        self.stopped: CycleReport | None = None
        self.started = clock()
        self.cause = Cause("start")  # why the next cycle runs
        # For the status page: when the running cycle started, and when the next one is due.
        self.cycle_started: float | None = None
        self.next_cycle_at: float | None = None
        self.metrics.interval.set(options.every)
        self.metrics.started.set(self.started)
        self._restored = False  # the last success, read back from the history by the first cycle

    @property
    def signal(self) -> int | None:
        """The first signal the loop received (SIGINT or SIGTERM), if any."""
        return self._watch.signal if self._watch is not None else None

    # -- one cycle -----------------------------------------------------------------------------
    async def cycle(self) -> CycleReport:
        """One cycle under the lock (when one is given). Raises ``LockHeld`` only on the first.
        A state store that cannot be used fails this cycle, not the loop."""
        self.cycles += 1
        number = self.cycles
        started = time.monotonic()
        if not self._restored:
            self._restored = True
            with contextlib.suppress(StateStoreError):  # a cycle that cannot read it says so itself
                last = await _last_success(self.history)
                if last is not None:  # a restart, or `--once` (a process per cycle), keeps what the history knows
                    self.metrics.last_success.set(last)
        try:
            async with contextlib.AsyncExitStack() as stack:
                if self.lock is not None:
                    try:
                        grant = await stack.enter_async_context(self.lock())
                    except LockHeld as exc:
                        self.metrics.observe_lock("other", exc.holder.since if exc.holder else None)
                        raise
                    if grant.previous is not None:
                        log.warning("lock taken over from a process that died holding it",
                                    holder=grant.previous.describe())
                    self.metrics.observe_lock("other", None)
                    self.metrics.observe_lock("self", grant.me.since)
                    stack.callback(self.metrics.observe_lock, "self", None)
                self.cycle_started, self.next_cycle_at = self.clock(), None
                return await self._cycle(number)
        except LockHeld as exc:
            if number == 1:
                raise
            report = CycleReport(number, EXIT_ERROR, f"skipped: {exc}", cause=self.cause)
        except StateStoreError as exc:
            report = CycleReport(number, EXIT_ERROR, f"this cycle failed: {exc}; the next one runs as planned",
                                 cause=self.cause)
        finally:
            self.cycle_started = None
            if self._watch is not None:  # between cycles a signal ends the loop at once
                self._watch.writing = False
        self._observe(report, started=started)
        return report

    async def _cycle(self, number: int) -> CycleReport:
        started = time.monotonic()
        now = self.clock()
        at = _instant(now)
        windows = window_states(self.book, at)
        cause = self.cause
        reported = report_only(self.book.policy.drift.value if self.book.policy.drift else None)
        backoffs = {a: b for a, b in (await self.history.backoffs()).items() if b.next_try > now}
        fix = self.options.mode == "fix"
        self._track = track = CycleTrack()

        def keep(change: Change) -> bool:
            return fix and not reported(change) and change.account_id not in backoffs

        def concluded(outcome: ApplyOutcome, *, cancelled: bool = False,
                      failure: str | None = None) -> Awaitable[CycleReport]:
            return self._conclude(number, outcome, reported, backoffs, cause, windows, started, cancelled=cancelled,
                                  failure=failure)

        options = ApplyOptions(limit=self.options.limit, allow=self.options.allow, policy=self.options.policy,
                               command=f"reconcile-{self.options.mode}", keep=keep, shard=self.options.shard, at=at)
        try:
            outcome = await apply(self.client, self.book, options, history=self.history, executor=self.executor)
        except ApplyError as exc:
            report = CycleReport(number, EXIT_ERROR, "; ".join(exc.lines), cause=cause, windows=windows)
            return await self._record_plain(report, started)
        except (SharingtoolsError, ExceptionGroup) as exc:
            # Concurrent reads fail as a group: a group of API errors is this cycle's error too.
            first = _api_error(exc)
            if first is None:
                raise
            report = CycleReport(number, EXIT_ERROR, f"this cycle failed: {first}; the next one runs as planned",
                                 cause=cause, windows=windows)
            return await self._record_plain(report, started)
        except BaseException as exc:
            if isinstance(exc, Exception):  # a store that cannot be used, a bug: `cycle` and `run` say so
                raise
            # Cancelled (a signal while reading; a second one, or the grace running out, while
            # writing): the cycle is recorded all the same, shielded from the cancellation, with
            # what it did as far as the engine's events tell; the cancellation then goes on.
            signalled = self.signal is not None and isinstance(exc, anyio.get_cancelled_exc_class())
            failure = None if signalled else f"this cycle was stopped: {type(exc).__name__}"
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                if track.outcome is None:  # stopped before any write: nothing was changed
                    code = exit_code(self.signal) if signalled and self.signal is not None else EXIT_ERROR
                    stopped = CycleReport(number, code, failure or "interrupted while reading: nothing was changed",
                                          cause=cause, windows=windows)
                    await self._record_plain(stopped, started)
                else:
                    stopped = await concluded(track.outcome, cancelled=True, failure=failure)
                self.stopped = stopped
            raise
        with anyio.CancelScope(shield=True):  # a signal from here on waits until the cycle is recorded
            report = await concluded(outcome)
        return report

    async def _record_plain(self, report: CycleReport, started: float) -> CycleReport:
        """Record a cycle that got no plan (or was stopped before it wrote)."""
        report.run_id = await self._record_run(report, None, started)
        self._observe(report, started)
        return report

    async def _conclude(self, number: int, outcome: ApplyOutcome, reported: Callable[[Change], bool],
                        backoffs: dict[int, Backoff], cause: Cause, windows: dict[str, bool], started: float, *,
                        cancelled: bool = False, failure: str | None = None) -> CycleReport:
        """Judge and record a cycle whose plan was made (``cancelled``: stopped inside apply, which
        then returned no outcome: ``outcome`` is the one `WritesStarted` handed over; ``failure``:
        by a bug, not a signal, said so)."""
        if cancelled:
            record_track(outcome, self._track)
            outcome.exit_code = EXIT_INTERRUPTED
        report = self._judge(number, outcome, reported, backoffs, cancelled=cancelled)
        report.cause, report.windows = cause, windows
        if failure is not None:
            report.exit_code, report.message = EXIT_ERROR, failure
        if self.options.mode == "fix" and not outcome.violations:
            await self._update_backoff(report)
        report.run_id = await self._record_run(report, outcome, started)
        self._observe(report, started, outcome)
        return report

    def _judge(self, number: int, outcome: ApplyOutcome, reported: Callable[[Change], bool],
               backoffs: dict[int, Backoff], *, cancelled: bool = False) -> CycleReport:
        """Every difference found, with what this cycle did about it (`outcomes.judge`); and the exit code."""
        stopped = outcome.exit_code == EXIT_INTERRUPTED
        facts = Facts.of(outcome, self._track, stopped=stopped)
        rows = [_row(c, *judge(c, facts)) for c in outcome.plan.changes]
        for c in outcome.dropped:
            if self.options.mode == "fix" and c.account_id in backoffs and not reported(c):
                wait = backoffs[c.account_id]
                rows.append(_row(c, DriftOutcome.BACKED_OFF,
                                 f"{wait.failures} failed cycles; next try at {_stamp(wait.next_try)}"))
            else:
                rows.append(_row(c, DriftOutcome.REPORTED,
                                 "report mode" if self.options.mode == "report" else "policy.drift: report"))
        blocked = list(outcome.plan.blocked)
        for b in blocked:
            if b.change is not None:
                rows.append(_row(b.change, DriftOutcome.BLOCKED, b.message))
            else:
                rows.append(DriftRow(b.account_id, b.username, b.kind, "*", "any", None, None,
                                     str(DriftOutcome.BLOCKED), b.message))
        report = CycleReport(number, EXIT_OK, outcome.message, drift=rows, blocked=blocked,
                             violations=[str(v) for v in outcome.violations],
                             backed_off=[b for a, b in backoffs.items()
                                         if any(c.account_id == a for c in outcome.dropped)])
        report.held, report.held_until = list(outcome.held), outcome.held_until
        report.accounts_read = len([a for a in outcome.plan.fingerprints if a != 0])
        report.out_of_sync = len({r.account_id for r in rows if r.outcome != DriftOutcome.FIXED and r.account_id != 0})
        codes: list[int] = [EXIT_OK]
        if stopped:
            codes.append(exit_code(self.signal) if self.signal is not None else EXIT_SIGINT)
        if outcome.violations:
            codes.append(EXIT_HELD)
        # Partial also covers what apply itself calls partial (conflicts, per-account problems).
        if outcome.exit_code == EXIT_PARTIAL or any(r.outcome in PARTIAL for r in rows):
            codes.append(EXIT_PARTIAL)
        if any(r.outcome == DriftOutcome.REPORTED for r in rows):
            codes.append(EXIT_REPORTED)
        report.exit_code = min(codes, key=SEVERITY.index)
        report.message = _message(report, cancelled=cancelled)
        return report

    async def _update_backoff(self, report: CycleReport) -> None:
        """Back off the accounts whose changes failed or did not verify; forget the backoff of those
        whose every change was fixed (`outcomes.forgotten_backoffs`). The others keep theirs."""
        bad: dict[int, tuple[str, str]] = {}
        for row in report.drift:
            if row.outcome in (DriftOutcome.FAILED, DriftOutcome.UNVERIFIED):
                bad.setdefault(row.account_id, (row.username, row.reason or f"{row.kind} {row.path} did not verify"))
        for account_id, (username, why) in bad.items():
            entry = await self.history.backoff_failed(account_id, username, why, self.options.backoff,
                                                      now=self.clock())
            log.warning("account backed off", account=username, failures=entry.failures,
                        next_try=_stamp(entry.next_try), reason=why)
        await self.history.backoff_forget(forgotten_backoffs(report.drift) - set(bad))

    def _on_event(self, event: Event) -> None:
        """The engine's events: the running cycle's track (what it sent, what was done and
        verified); the start of its writes, from which a signal gives in-flight calls their
        grace; operations as they end, so the metric moves during a cycle."""
        self._track.on_event(event)
        if isinstance(event, WritesStarted) and self._watch is not None:
            self._watch.writing = True
        if isinstance(event, OperationDone | OperationFailed):
            result = "done" if isinstance(event, OperationDone) else "failed"
            self.metrics.operations.labels(event.op.kind, event.op.name, result).inc()

    async def _record_run(self, report: CycleReport, outcome: ApplyOutcome | None, started: float) -> int:
        """The cycle's run in the history: apply's own when it wrote one, else a new one. The
        cycle's duration is taken here, so that the history and the metrics say the same."""
        report.duration = time.monotonic() - started
        statuses: dict[int, RunStatus] = {EXIT_OK: RunStatus.SUCCEEDED, EXIT_ERROR: RunStatus.FAILED,
                                          EXIT_REPORTED: RunStatus.REPORTED, EXIT_HELD: RunStatus.BLOCKED,
                                          EXIT_PARTIAL: RunStatus.PARTIAL}
        status = statuses.get(report.exit_code, RunStatus.INTERRUPTED)
        body: dict[str, Any] = outcome.report(self.client) if outcome is not None else {}
        body = {**body, "message": report.message, "reconcile": report.summary()}
        run_id = outcome.run_id if outcome is not None else None
        if run_id is None:
            accounts = sorted({r.account_id for r in report.drift})
            playbook_hash = outcome.plan.playbook_hash if outcome is not None else None
            run_id = await self.history.start_run(f"reconcile-{self.options.mode}", playbook_hash, accounts)
        await self.history.finish_run(run_id, status, body)
        if outcome is not None:  # as changes of state: what holds again only moves its last sighting
            await self.history.record_drift(run_id, report.drift, read=set(outcome.plan.fingerprints),
                                            now=self.clock())
        await record_status(self.history, run_id, self.clock(), self.options.mode, report.result, outcome,
                            report.drift, report.blocked, await self.history.backoffs())
        return run_id

    def _observe(self, report: CycleReport, started: float, outcome: ApplyOutcome | None = None) -> None:
        if not report.duration:  # a cycle that recorded no run (the lock, the store) is timed here
            report.duration = time.monotonic() - started
        m = self.metrics
        m.observe_api(self.client.transport.stats.snapshot())
        m.observe_cycle(
            report.result, report.duration, succeeded=report.exit_code in (EXIT_OK, EXIT_REPORTED),
            applied=[(r.kind, r.action) for r in report.drift if r.outcome == "fixed"],
            drift=[r.kind for r in report.drift if r.outcome != "blocked"],
            blocked=[b.reason for b in report.blocked],
            in_sync=max(0, report.accounts_read - report.out_of_sync), out_of_sync=report.out_of_sync,
            backed_off=len(report.backed_off), now=self.clock())
        if report.windows:
            ahead = {e.entry: e.at.timestamp() for e in reversed(window_events(self.book, _instant(self.clock()), 1))}
            m.observe_windows(report.windows, ahead)
        log.info("cycle", **report.summary())

    # -- the loop ------------------------------------------------------------------------------
    def next_delay(self) -> float:
        """``every``, moved by up to ``jitter`` either way, so many reconcilers do not pulse together."""
        spread = self.options.every * self.options.jitter
        return max(0.0, self.options.every + self.rng.uniform(-spread, spread))

    async def wait_for_next(self, wait: Callable[[float], Awaitable[None]], stop: anyio.Event,
                            last: CycleReport | None = None) -> None:
        """Sleep until the next cycle is due: ``--every`` (jittered) from now, or the next window
        boundary when that comes first (not jittered: it is the campaign's start). Sets `cause`."""
        delay = self.next_delay()
        if last is not None and last.exit_code == EXIT_ERROR and last.cause.reason == "window":
            delay = min(delay, WINDOW_RETRY)  # the window's change is still to be made
            self.cause = last.cause
        else:
            self.cause = Cause("schedule")
        now = self.clock()
        boundary = next_window_event(self.book, _instant(now))
        if boundary is None or boundary.timestamp() - now >= delay:
            self.next_cycle_at = now + delay
            await wait(delay)
            return
        target = self.next_cycle_at = boundary.timestamp()
        for _ in range(WAKE_STEPS):  # the sleep's clock and the wall clock may disagree a little
            remaining = target - self.clock()
            if remaining <= 0 or stop.is_set():
                break
            await wait(remaining)
        events = tuple(e for e in window_events(self.book, boundary - timedelta(microseconds=1), 1)
                       if e.at == boundary)
        self.cause = Cause("window", events)
        log.info("window boundary", cause=str(self.cause))

    def healthy(self) -> tuple[bool, str]:
        """For ``/healthz``: a cycle ended within three intervals (or the loop is that young)."""
        last = self.metrics.last_cycle_end or self.started
        age = self.clock() - last
        limit = max(3 * self.options.every, 60.0)
        if age > limit:
            return False, f"no cycle ended for {age:.0f} s (more than {limit:.0f} s)"
        return True, "ok"

    async def run(self, *, once: bool = False, max_cycles: int | None = None,
                  on_cycle: Callable[[CycleReport], Awaitable[None]] | None = None,
                  sleep: Callable[[float], Awaitable[None]] | None = None,
                  signals: bool = True) -> int:
        """Cycles until ``once``/``max_cycles`` is reached or a signal stops the loop; the exit
        code of the last cycle (or 130/143 when a signal ended it).

        SIGINT and SIGTERM are handled exactly as apply handles them (the one watcher,
        `orchestrator.apply.interrupts.InterruptWatch`): while a cycle reads, and between
        cycles, the first signal ends the loop at once; once a cycle writes, the first stops new
        operations and gives the calls in flight `GRACE` seconds, then cancels them; a second
        cancels them at once. The cycle is recorded in every case (``interrupted``), with only
        what it sent and verified as ``fixed``; ``on_cycle`` is told a cycle cancelled midway
        once the loop has stopped."""
        stop = anyio.Event()
        last: int = EXIT_OK

        def stop_writes() -> None:  # the first signal while a cycle writes: it is the last cycle
            self.executor.stop.set()
            stop.set()

        self._watch = watch = InterruptWatch(on_stop=stop_writes)
        self.stopped = None

        def notice(text: str) -> None:
            log.warning(text, signal=watch.signal)

        async def wait(seconds: float) -> None:
            if sleep is not None:
                await sleep(seconds)
                return
            await anyio.sleep(seconds)  # a signal here cancels the loop's task group: no cycle runs

        failure: BaseException | None = None
        async with anyio.create_task_group() as tg:
            if signals:
                tg.start_soon(watch.watch, tg, notice)
            try:
                while not stop.is_set():
                    report = await self.cycle()
                    last = report.exit_code
                    if on_cycle is not None:
                        await on_cycle(report)
                    if once or (max_cycles is not None and self.cycles >= max_cycles) or stop.is_set():
                        break
                    await self.wait_for_next(wait, stop, report)
            except (Exception, SystemExit, KeyboardInterrupt) as exc:  # re-raised below as itself, not in a group
                failure = exc
            finally:
                tg.cancel_scope.cancel()
        if isinstance(failure, LockHeld):
            raise ReconcileError(str(failure))
        if failure is not None:
            raise failure
        if watch.signal is None:
            return last
        log.warning("stopped by a signal", signal=watch.signal)
        if self.stopped is not None and on_cycle is not None:  # the cycle the signal cancelled, as recorded
            await on_cycle(self.stopped)
        return exit_code(watch.signal)

def _instant(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


async def _last_success(history: StateStore, runs: int = 200) -> float | None:
    """When the last successful reconcile cycle among the latest ``runs`` in the history ended."""
    for run in await history.runs(runs):
        if run.command.startswith("reconcile-") and run.status in ("succeeded", "reported") and run.finished:
            return run.finished
    return None


def _api_error(exc: BaseException) -> SharingtoolsError | None:
    """The API error ``exc`` is, or the first of a group made only of API errors."""
    found = [leaf for leaf in leaves(exc) if isinstance(leaf, SharingtoolsError)]
    return found[0] if found and len(found) == len(leaves(exc)) else None


def _row(c: Change, outcome: str, reason: str | None) -> DriftRow:
    # Plain strings in the row, as the store and the JSON reports hold them.
    return DriftRow(c.account_id, c.username, c.kind, c.path, c.action, c.before, c.after, str(outcome), reason)


def _stamp(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


def _message(report: CycleReport, *, cancelled: bool = False) -> str:
    counts = report.by_outcome()
    found = sum(n for o, n in counts.items() if o != "blocked")
    done = ", ".join(f"{n} {o}" for o, n in counts.items() if o != "blocked")
    if report.exit_code in (EXIT_SIGINT, EXIT_SIGTERM):
        what = ("requests in flight were cancelled; the journal keeps what is known (a create sent is in doubt, "
                "read back by the next cycle)" if cancelled else "in-flight calls finished, the journal is written")
        return f"interrupted: {what}" + (f"; {found} differences: {done}" if found else "")
    if report.violations:
        return f"drift found ({found}); the safety policy held this cycle's writes: " + "; ".join(report.violations)
    text = f"{found} differences: {done}" if found else "in sync"
    if report.blocked:
        text += f"; {len(report.blocked)} blocked"
    if report.held:
        text += f"; {len({h.account_id for h in report.held})} accounts held"
    return text


# -- the command line's runner ------------------------------------------------------------------
async def run_reconcile(settings: Any, book: Playbook, options: ReconcileOptions, *, once: bool = False,
                        metrics_port: int | None = None, metrics_host: str = "127.0.0.1",
                        metrics_file: str | None = None, max_cycles: int | None = None) -> int:
    """``orchestrator reconcile``: the client, the history, the lock, metrics; a line per cycle."""
    import contextlib

    from rich.console import Console

    from orchestrator.plan.blocked import grouped
    from orchestrator.state.db import open_state

    console = Console(highlight=False, soft_wrap=True)
    # Garbage, a directory, read-only, unreachable: one clear line, before any request.
    history = await open_state(settings, options.shard)
    metrics = ReconcileMetrics()
    try:
        async with SharingtoolsClient.from_settings(settings) as client, fleet_member(history, client, settings,
                                                                                      options.shard):
            command = f"reconcile --mode {options.mode}"
            reconciler = Reconciler(client, book, options, history=history, metrics=metrics,
                                    lock=lambda: history.lock(command))

            async def show(report: CycleReport) -> None:
                where = f" (run #{report.run_id}: orchestrator history show {report.run_id})" if report.run_id else ""
                colours: dict[int, str] = {EXIT_OK: "green", EXIT_REPORTED: "yellow"}
                colour = colours.get(report.exit_code, "red")
                why = f" ({_escape(str(report.cause))})" if report.cause.reason == "window" else ""
                console.print(f"cycle {report.number}{why}: [{colour}]{report.result}[/] "
                              f"{_escape(report.message)}{where}")
                for message, items in grouped(report.blocked):
                    console.print(f"  blocked: {message} ({len(items)} change{'s' if len(items) != 1 else ''})",
                                  markup=False)
                for issue in report.held:
                    console.print(f"  held: {issue.username} · {issue.kind} (a create sent earlier may still take "
                                  f"effect: each cycle reads it back, and makes it again only if it is still not "
                                  f"there after {report.held_until} UTC)", markup=False)
                for row in report.drift:  # what was not fixed (fixed drift: `history show`)
                    if row.outcome in SHOWN:
                        change = Change(row.account_id, row.username, Kind(row.kind), Action(row.action), row.path,
                                        row.before, row.after)
                        why = f" ({row.reason})" if row.reason and row.outcome != "reported" else ""
                        console.print(f"  {row.outcome}: {row.username} · {row.kind} {describe(change)}{why}",
                                      markup=False)
                if metrics_file:
                    metrics.write_textfile(metrics_file)

            # /metrics, /healthz and the status page at / (orchestrator.reconcile.status_server); the
            # web side (Starlette, uvicorn, the page's templates) is imported only when it is served.
            served: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
            if metrics_port is not None:
                from orchestrator.reconcile.status_server import StatusServer

                served = StatusServer(reconciler, settings.state_db, metrics_host, metrics_port, settings.base_url)
            with served:
                return await reconciler.run(once=once, max_cycles=max_cycles, on_cycle=show)
    finally:
        await history.close()


def _escape(text: str) -> str:
    return text.replace("[", "\\[")
