"""Executing operations: serial per account, parallel across accounts, bulk where the API allows.

Why this shape:

- **Phases.** Every account's operations run in three phases: switch off, edit, switch on.
  Pauses happen before anything is edited, activations after everything is in place. Phases
  also make coalescing possible: all accounts' pauses are known together at phase 0, so they
  go out as a few bulk calls instead of hundreds of single ones.
- **Lanes.** Within a phase, one account's operations run in order (its "lane"); different
  accounts run concurrently. The client's rate and concurrency limits are the only brakes:
  there is no per-account wait, so a run takes about (requests / rate).
- **Bulk with fallback.** Operations sharing a ``bulk`` key are sent in chunks through the
  kind's bulk endpoint; accounts a bulk answer does not cover, or a bulk call that fails,
  fall back to the per-account endpoint.
- **One retry layer per failure class.** Transient failures (429, 5xx, timeouts, dropped
  connections) are the client's to retry, within its budget (attempts, deadline, backoff
  honouring ``Retry-After``; ``orchestrator/api/retry.py``). The executor never sends an
  operation again: stacking its own retries on the client's multiplied the sends (up to 18 for
  one call) and the wait, for failures the client had already judged lasting. What the client
  cannot know is whether a create whose answer never came took effect after all, so for a
  failure that may have applied the executor asks the kind (``recover``: find what the call
  would have made) and counts a found one as done.
- **Failure is per account.** A failed operation is recorded; the rest of that account's lane
  and its later phases are skipped, every other account goes on (a later plan or
  ``apply --resume`` takes the account up again).
- **Journal first.** Each operation is journaled before it is sent and when it ends. When the
  journal cannot be written (the state database locked past its bound, or gone), that
  operation is not sent, no new one starts (as on Ctrl-C), those in flight finish, and
  ``journal_failure`` says why: what the journal holds is kept, for ``apply --resume``.
- **Stopping.** When ``stop`` is set (Ctrl-C), no new operation starts; those in flight finish.
- **In doubt.** An operation sent whose answer never came is journaled ``in_doubt``, not
  failed: one cancelled in flight once a write of it was sent (a second Ctrl-C, the grace
  running out; the transport marks the send, `SendMark`), and one whose
  answer was lost and that its kind's read-back did not find. The server may still apply it;
  the next run reads it back before it plans a repeat (``orchestrator.apply.doubt``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import SharingtoolsError
from orchestrator.api.retry import may_have_applied
from orchestrator.api.transport import WRITE_SENT, SendMark
from orchestrator.contract import Kind
from orchestrator.contract.vocabulary import OpStatus
from orchestrator.api.fanout import each
from orchestrator.state.store import StateStore, StateStoreError
from orchestrator.apply.events import Events, OperationCancelled, OperationDone, OperationFailed, OperationStarted
from orchestrator.kinds import AccountIssue, KindRegistry, Op, Operation
from orchestrator.log import get_logger

log = get_logger("orchestrator.apply")
#: Why an operation cancelled in flight is in doubt, as the journal says it.
CANCELLED = "cancelled before its answer came: it may still take effect on the server"
NOT_SENT = "cancelled before it was sent"


@dataclass
class ExecutionResult:
    results: Counter[tuple[Kind, Op, str]] = field(default_factory=Counter)  # (kind, op, done|failed)
    failures: list[AccountIssue] = field(default_factory=list)
    failed_accounts: set[int] = field(default_factory=set)
    touched: set[int] = field(default_factory=set)
    bulk_calls: int = 0
    interrupted: bool = False

    def merge(self, other: ExecutionResult) -> None:
        self.results.update(other.results)
        self.failures += other.failures
        self.failed_accounts |= other.failed_accounts
        self.touched |= other.touched
        self.bulk_calls += other.bulk_calls
        self.interrupted = self.interrupted or other.interrupted


@dataclass
class Executor:
    client: SharingtoolsClient
    kinds: KindRegistry = field(default_factory=KindRegistry.default)
    history: StateStore | None = None
    run_id: int | None = None
    bulk_chunk: int = 200
    events: Events = field(default_factory=Events)
    stop: anyio.Event = field(default_factory=anyio.Event)
    #: Why the journal could not be written, when it could not (then ``stop`` is set).
    journal_failure: StateStoreError | None = None

    async def run(self, ops: Sequence[Operation]) -> ExecutionResult:
        result = ExecutionResult()
        for phase in sorted({op.phase for op in ops}):
            if self.stop.is_set():
                result.interrupted = True
                break
            batch = [op for op in ops if op.phase == phase and op.account_id not in result.failed_accounts]
            bulks: dict[str, list[Operation]] = {}
            lanes: dict[int, list[Operation]] = {}
            for op in batch:
                if op.bulk is not None:
                    bulks.setdefault(op.bulk, []).append(op)
                else:
                    lanes.setdefault(op.account_id, []).append(op)
            async with anyio.create_task_group() as tg:
                for key, group in bulks.items():
                    tg.start_soon(self._bulk, key, group, result)
                tg.start_soon(self._lanes, list(lanes.values()), result)
        return result

    async def _lanes(self, lanes: list[list[Operation]], result: ExecutionResult) -> None:
        await each(lanes, lambda lane: self._lane(lane, result), workers=self.client.transport.workers)

    async def _lane(self, ops: Sequence[Operation], result: ExecutionResult) -> None:
        for op in ops:
            if self.stop.is_set():
                result.interrupted = True
                return
            if not await self._run_one(op, result):
                return  # the rest of this account's lane depends on what failed

    async def _run_one(self, op: Operation, result: ExecutionResult) -> bool:
        """Send ``op`` once (the client retries what is worth retrying); whether it is done."""
        handler = self.kinds[op.kind]
        try:
            journal = await self._journal_start(op)
        except StateStoreError as exc:
            self._journal_failed(exc, result)
            return False  # not sent: an operation the journal does not know of is never sent
        result.touched.add(op.account_id)
        self.events.emit(OperationStarted(op))
        mark = SendMark()
        token = WRITE_SENT.set(mark)
        try:
            try:
                await handler.execute(self.client, op)
            except SharingtoolsError as exc:
                if not may_have_applied(exc):
                    self._journal_end(journal, str(exc))
                    self._failed(op, exc, result)
                    return False
                if not await self._recovered(op):
                    # Sent, and neither an answer nor a read-back says what became of it: it
                    # may still take effect. Failed for this run; a later one reads back first.
                    self._journal_end(journal, str(exc), OpStatus.IN_DOUBT)
                    self._failed(op, exc, result)
                    return False
                log.info("operation took effect although its answer was lost", account_id=op.account_id,
                         kind=op.kind, operation=op.name, error=str(exc))
            except Exception as exc:  # noqa: BLE001 - a secret that cannot be read, a bug: this account's alone
                log.warning("operation raised", account_id=op.account_id, kind=op.kind, operation=op.name,
                            error=f"{type(exc).__name__}: {exc}")
                self._journal_end(journal, f"{type(exc).__name__}: {exc}")
                self._failed(op, exc, result)
                return False
        except BaseException:
            # Cancelled in flight (a second Ctrl-C, the grace ran out): a request sent may be on
            # the server already and be applied after this. Recorded with the run's end (shielded).
            if mark.sent:
                self._journal_end(journal, CANCELLED, OpStatus.IN_DOUBT)
            else:
                self._journal_end(journal, NOT_SENT)
            self.events.emit(OperationCancelled(op, sent=mark.sent))
            raise
        finally:
            WRITE_SENT.reset(token)
        self._journal_end(journal, None)
        result.results[(op.kind, op.name, "done")] += 1
        self.events.emit(OperationDone(op))
        return True

    async def _recovered(self, op: Operation) -> bool:
        """Whether ``op``, whose call ended without a trustworthy answer, took effect anyway
        (found by its kind's read-back). A read-back that fails itself finds nothing."""
        try:
            return await self.kinds[op.kind].recover(self.client, op)
        except SharingtoolsError as exc:
            log.warning("could not check whether an operation took effect", account_id=op.account_id,
                        kind=op.kind, operation=op.name, error=str(exc))
            return False

    async def _bulk(self, key: str, ops: Sequence[Operation], result: ExecutionResult) -> None:
        handler = self.kinds[ops[0].kind]
        fallback: list[Operation] = []
        for start in range(0, len(ops), self.bulk_chunk):
            if self.stop.is_set():
                result.interrupted = True
                return
            chunk = ops[start:start + self.bulk_chunk]
            journals: list[int | None] = []
            try:
                for op in chunk:
                    journals.append(await self._journal_start(op, bulk=key))
            except StateStoreError as exc:
                for journal in journals:
                    self._journal_end(journal, "not sent: the journal could not be written")
                self._journal_failed(exc, result)
                return
            result.touched.update(op.account_id for op in chunk)
            for op in chunk:
                self.events.emit(OperationStarted(op))
            try:
                result.bulk_calls += 1
                done = await handler.execute_bulk(self.client, key, chunk)
                why = "not covered by the bulk answer"
            except Exception as exc:  # noqa: BLE001 - every account of the chunk falls back to single calls
                done, why = set(), f"bulk call failed: {exc}"
                log.warning("bulk failed, falling back to single calls", bulk=key, accounts=len(chunk), error=str(exc))
            except BaseException:  # cancelled in flight: as a single call (see `_run_one`)
                for op, journal in zip(chunk, journals, strict=True):
                    self._journal_end(journal, CANCELLED, OpStatus.IN_DOUBT)
                    self.events.emit(OperationCancelled(op, sent=True))
                raise
            for op, journal in zip(chunk, journals, strict=True):
                if op.account_id in done:
                    self._journal_end(journal, None)
                    result.results[(op.kind, op.name, "done")] += 1
                    self.events.emit(OperationDone(op))
                else:
                    self._journal_end(journal, why)
                    fallback.append(op)
        if fallback:
            await each(fallback, lambda op: self._run_one(op, result), workers=self.client.transport.workers)

    def _failed(self, op: Operation, exc: BaseException, result: ExecutionResult) -> None:
        username = op.changes[0].username if op.changes else str(op.account_id)
        issue = AccountIssue(op.account_id, username, op.kind, str(exc), op.name)
        result.failures.append(issue)
        result.failed_accounts.add(op.account_id)
        result.results[(op.kind, op.name, "failed")] += 1
        log.warning("operation failed", account=username, kind=op.kind, operation=op.name, error=str(exc))
        self.events.emit(OperationFailed(op, issue))

    async def _journal_start(self, op: Operation, bulk: str | None = None) -> int | None:
        if self.history is None or self.run_id is None:
            return None
        args: dict[str, Any] = dict(op.args)
        if bulk:
            args["bulk"] = bulk
        return await self.history.op_started(self.run_id, op.account_id, op.kind, op.name, args)

    def _journal_failed(self, exc: StateStoreError, result: ExecutionResult) -> None:
        if self.journal_failure is None:
            self.journal_failure = exc
            log.error("the journal could not be written: no new operation starts", error=str(exc))
        self.stop.set()

    def _journal_end(self, journal: int | None, error: str | None, status: OpStatus | None = None) -> None:
        if self.history is not None and journal is not None:
            self.history.op_finished(journal, error, status)
