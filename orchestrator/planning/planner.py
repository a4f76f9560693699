"""Computing a plan: read what the playbooks manage, concurrently, and diff it (pure).

    accounts (1 list) -> desired state -> per kind: resolve (secret references) -> read (lists
                      once, details per account) -> live-settings check -> diff -> Plan

Everything that does I/O happens before the diff: the reads, and the kinds' ``resolve`` (a
secret reference's value), so every diff is a pure function of desired and live state.

Reads run concurrently across kinds and accounts, bounded by the client's concurrency and
rate limits. A kind the user's plan or the server lacks becomes a problem for the accounts
that need it, not a crash; so does an account without the schedule a kind needs, and an
account a group names that is gone from the live list. Problems stay with their account:
every other account is planned. Errors in the playbook itself (a typo of an account name, a
setting the live API lacks) are diagnostics, gathered in one pass and fatal to the caller.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import anyio

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import ModuleNotEnabled, ModuleNotInstalled
from orchestrator.plan.blocked import Blocked
from orchestrator.planning.blockers import blocker_facts, classify, module_blocked
from orchestrator.contract import LIBRARY, LIBRARY_ID, Claim, DesiredState, Kind, Shape
from orchestrator.contract.accounts import AccountRecord
from orchestrator.contract.kinds import of_shape
from orchestrator.kinds import KindHandler, KindRegistry, AccountIssue, ReadContext, ReadResult
from orchestrator.plan import Change, Plan, fingerprint
from orchestrator.planning.read_failures import SHAPE_ERRORS, MisshapenAnswer, read_per_account, stopping, understood
from orchestrator.playbook import Diagnostic, Playbook, check_live_settings, desired_state
from orchestrator.planning.shard import Shard
from orchestrator.planning.windows import claimed, keep_claimed, plan_windows

#: Kinds whose settings are checked against the fields the live API returns.
SETTINGS_MODULES: dict[Kind, str] = {kind: kind.value for kind in of_shape(Shape.SCHEDULE)}


#: Accounts `Planner.replan` reads at once. Each slice past the first reads the fleet-wide lists
#: (a schedule list has one item per account) again: at 100,000 accounts, 3 slices more of two
#: 1,000-page lists, under 2% of an apply's requests, for a verify's live states held at a
#: quarter; below this size nothing changes. (Measured in docs/benchmarks.md, "Memory".)
REPLAN_SLICE = 25_000


@dataclass
class Planned:
    """A plan and what stands in its way: problems (per account) and diagnostics (per playbook line)."""

    plan: Plan
    desired: DesiredState
    problems: list[AccountIssue] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: Accounts whose live state could not be read (retries ran out): left out of the plan,
    #: reported as failed by apply; the rest of the fleet goes on.
    read_failures: list[AccountIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No problem at all, per account or in the playbook."""
        return not self.problems and not self.diagnostics

    @property
    def valid(self) -> bool:
        """No error in the playbook itself (per-account problems may remain)."""
        return not self.diagnostics


def playbook_hash(playbook: Playbook) -> str:
    """The hash of the playbook's files as they were loaded (name and text): a saved plan is
    refused when it differs, and the history records it. Never the files as they are on disk
    now: a reconcile loop that loaded them hours ago applies what it loaded."""
    return playbook.digest


async def read_accounts(client: SharingtoolsClient) -> list[Any]:
    """The live account list, each account kept as an `AccountRecord` as its page arrives."""
    with understood("GET accounts"):  # a misshapen answer is one clear error, not a traceback
        return [AccountRecord.of(a) async for a in client.accounts.list()]


@dataclass
class Planner:
    """Plans one playbook against one installation, in the modes a run needs.

    `plan` reads the account list (once: later calls reuse it) and works out the desired state;
    `replan` re-reads only some (account, kind) pairs against the desired state and playbook
    hash of the last `plan` (an apply's verify after each wave); `for_saved` re-reads what a
    saved plan read, to find the accounts that changed since. ``known``: usernames an earlier
    apply saw live (a group naming one that is gone names a deleted account, not a typo);
    ``shard`` keeps that shard's accounts. ``at`` is the instant entry windows are evaluated
    at (None: now, at the first `plan`; every later call keeps that instant), and ``claims``
    what applies added for windows (the only items a closed window takes back)."""

    client: SharingtoolsClient
    playbook: Playbook
    kinds: KindRegistry = field(default_factory=KindRegistry.default)
    limit: Sequence[str] = ()
    shard: Shard | None = None
    known: Iterable[str] = ()
    accounts: list[Any] | None = None
    at: datetime | None = None
    claims: Collection[Claim] = ()
    _last: Planned | None = field(default=None, init=False, repr=False)

    async def read_accounts(self, *, again: bool = False) -> list[Any]:
        """The live account list, read on first use (``again``: read it anew)."""
        if self.accounts is None or again:
            self.accounts = await read_accounts(self.client)
        return self.accounts

    async def plan(self, *, only: Iterable[int] | None = None) -> Planned:
        """The plan of the playbook (``only``: of these account ids, as a resume re-reads them)."""
        accounts = await self.read_accounts()
        self._last = await _build_plan(self.client, self.playbook, accounts, limit=self.limit, only=only,
                                       kinds=self.kinds, known=self.known, shard=self.shard, at=self.instant(),
                                       claims=self.claims)
        return self._last

    def instant(self) -> datetime:
        """The run's one instant for windows, fixed on first use (whole seconds, as windows' boundaries are)."""
        if self.at is None:
            self.at = datetime.now(UTC)
        self.at = self.at.astimezone(UTC).replace(microsecond=0)
        return self.at

    async def replan(self, pairs: Iterable[tuple[int, Kind]], *, accounts_changed: bool = False) -> Planned:
        """These pairs read and diffed again. With ``accounts_changed`` (an apply set a proxy),
        the account list and the desired state are worked out anew; else the last plan's serve.
        What a verify needs is the changes still left and the failed reads: the plan it gives
        keeps no fingerprints (at fleet scale they were a verify's largest part, held beside
        the apply's own plan). The accounts are read `REPLAN_SLICE` at a time, in id order, so
        the live states held at once are one slice's whatever the fleet's size."""
        last = self._last
        accounts = await self.read_accounts(again=accounts_changed)
        desired = last.desired if last and not accounts_changed else None
        by_account: dict[int, list[tuple[int, Kind]]] = {}
        for pair in pairs:
            by_account.setdefault(pair[0], []).append(pair)
        ids = sorted(by_account)
        parts: list[Planned] = []
        for start in range(0, max(len(ids), 1), REPLAN_SLICE):  # once at least, as an empty re-read did
            part = await _build_plan(self.client, self.playbook, accounts,
                                     pairs=[p for a in ids[start:start + REPLAN_SLICE] for p in by_account[a]],
                                     kinds=self.kinds, desired=desired,
                                     known_hash=last.plan.playbook_hash if last else None, shard=self.shard,
                                     at=self.instant(), claims=self.claims, fingerprints=False)
            desired = part.desired  # worked out once: the later slices take it as kept to the shard and claims
            parts.append(part)
        return parts[0] if len(parts) == 1 else _joined(parts)

    async def for_saved(self, saved: Plan) -> Planned:
        """A fresh plan of the accounts ``saved`` read: their fingerprints tell which changed since."""
        accounts = await self.read_accounts()
        self._last = await _build_plan(self.client, self.playbook, accounts, only=set(saved.fingerprints),
                                       limit=self.limit, kinds=self.kinds, shard=self.shard, at=self.instant(),
                                       claims=self.claims)
        return self._last


async def build_plan(client: SharingtoolsClient, playbook: Playbook, *, limit: Sequence[str] = (),
                     kinds: KindRegistry | None = None, shard: Shard | None = None,
                     known: Iterable[str] = (), at: datetime | None = None,
                     claims: Collection[Claim] = ()) -> Planned:
    """The whole plan of ``playbook``: `Planner.plan` for a caller that plans once (``at``:
    desired at that instant, None: now; ``claims``: what applies added for windows)."""
    planner = Planner(client, playbook, kinds if kinds is not None else KindRegistry.default(), limit, shard, known,
                      at=at, claims=claims)
    return await planner.plan()


async def _build_plan(
    client: SharingtoolsClient,
    playbook: Playbook,
    accounts: list[Any],
    *,
    limit: Sequence[str] = (),
    only: Iterable[int] | None = None,
    pairs: Iterable[tuple[int, Kind]] | None = None,
    kinds: KindRegistry,
    known: Iterable[str] = (),
    desired: DesiredState | None = None,
    known_hash: str | None = None,
    shard: Shard | None = None,
    at: datetime | None = None,
    claims: Collection[Claim] = (),
    fingerprints: bool = True,
) -> Planned:
    """Read and diff: ``only`` restricts reads to these account ids, ``pairs`` to these
    (account id, kind) pairs. ``desired`` and ``known_hash``, from an earlier plan of the same
    playbook and accounts, save working them out again (a ``desired`` passed in is taken as
    already kept to the shard). ``at``: the instant entry windows are evaluated at (None: now;
    a ``desired`` passed in keeps its own); ``claims``: what applies added for windows, the only
    items a closed window takes back (a ``desired`` passed in is taken as kept to them);
    ``fingerprints``: False to keep none (an apply's verify compares no fingerprint)."""
    deferred: list[Diagnostic] = []
    if desired is None:
        at = (at or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)  # boundaries: whole seconds
        desired = desired_state(playbook, accounts, limit=limit, deferred=deferred, known=known, at=at)
        if shard is not None:
            desired = shard.select(desired)
        whole = desired
        desired = keep_claimed(desired, claims)
    else:
        whole = None
    keep = set(only) if only is not None else None
    keep_pairs = set(pairs) if pairs is not None else None
    ctx = ReadContext(client, {a.id: a for a in accounts})
    results: dict[Kind, ReadResult] = {}
    read_failures: list[AccountIssue] = []
    refused: list[Blocked] = []
    diffed: dict[Kind, _Diffed] = {}

    async def read(kind: Kind, handler: KindHandler) -> None:
        wanted: dict[int, Any] = (dict(desired.of_kind(kind)) if kind is not Kind.CAPTIONS
                                  else {LIBRARY_ID: desired.captions})
        if keep is not None:
            wanted = {a: d for a, d in wanted.items() if a in keep}
        if keep_pairs is not None:
            wanted = {a: d for a, d in wanted.items() if (a, kind) in keep_pairs}
        if not wanted:
            return
        ready, unresolved = _resolve(handler, wanted, desired)  # desired state as the diff gets it
        targets = [desired.accounts[a] for a in ready if a in desired.accounts] or [LIBRARY]
        if ready:
            try:
                result = await read_per_account(handler, ctx, targets, ready, read_failures)
            except (ModuleNotEnabled, ModuleNotInstalled) as exc:
                # Every call of a module the plan or the server lacks is refused: blocked, not a failure.
                installed = isinstance(exc, ModuleNotEnabled)
                refused.extend(module_blocked(a.id, a.username, kind, handler.label, installed=installed)
                               for a in targets)
                result = ReadResult()
        else:
            result = ReadResult()
        # One list of problems in account order (an account's read problems before its secret's).
        order = {account_id: i for i, account_id in enumerate(wanted)}
        result.problems = sorted(result.problems + unresolved, key=lambda p: order.get(p.account_id, len(order)))
        results[kind] = result
        # Diffed as soon as this kind is read, while the other kinds' reads are still waiting
        # on the network: only the last kind's diff is left for after the last answer.
        done = diffed[kind] = _diff_kind(handler, kind, result, ready, desired, fingerprints)
        # What needs the live states is done now, and they go: of a fleet's, only the blockers'
        # facts are kept (held until every kind was read, they were a third of a plan's peak).
        if kind in SETTINGS_MODULES:
            done.diagnostics += _check_settings(playbook, kind, result)
        done.diagnostics += [Diagnostic.at(r.source, r.message, r.hint)
                             for r in handler.refusals(desired, result.live, done.changes)]
        done.facts = {(a, kind): facts for a, state in result.live.items() if (facts := blocker_facts(state))}
        result.live, result.fingerprints = {}, {}  # the fingerprints kept are the diff's

    try:
        async with anyio.create_task_group() as tg:
            for kind in sorted(desired.kinds(), key=list(Kind).index):
                tg.start_soon(read, kind, kinds[kind])
    except BaseExceptionGroup as group:  # a read that stops the run reaches the caller as itself
        stop = stopping(group)
        if stop is None:
            raise
        raise stop from None

    planned = Planned(Plan.build([], "", {}, 0), desired, diagnostics=deferred, read_failures=read_failures)
    if keep is None and keep_pairs is None:
        planned.problems += [AccountIssue(0, g.label, None, g.problem) for g in desired.gone]
    changes: list[Change] = []
    read_as: dict[int, dict[str, str]] = {}
    # The blockers' facts of the live states (the states themselves went as each kind was diffed).
    live: dict[tuple[int, Kind], dict[str, Any]] = {}
    for kind, result in sorted(results.items(), key=lambda kv: list(Kind).index(kv[0])):
        planned.problems += result.problems
        done = diffed.pop(kind)
        live.update(done.facts)
        changes += done.changes
        read_failures += done.failures
        for failure in done.failures:  # read, though not diffed: counted among the accounts read
            read_as.setdefault(failure.account_id, {})
        for account_id, print_ in done.fingerprints.items():
            read_as.setdefault(account_id, {})[kind.value] = print_
        refused += done.blocked
        planned.diagnostics += done.diagnostics  # the live settings' check, then the kind's refusals
    changes, blocked = classify(changes, ctx.accounts, live)
    changes = claimed(changes, claims)
    # What is ahead, for a whole plan only (verify and resume re-read parts of one).
    windows = (plan_windows(playbook, accounts, whole, limit=limit, known=known, shard=shard)
               if whole is not None and keep is None and keep_pairs is None else None)
    planned.plan = Plan.build(changes, known_hash or playbook_hash(playbook), read_as, len(read_as),
                              [*refused, *blocked], windows)
    return planned


def _joined(parts: Sequence[Planned]) -> Planned:
    """The slices of one re-read as one (what `Planner.replan` gives: no fingerprints, no windows)."""
    plans = [p.plan for p in parts]
    plan = Plan.build([c for p in plans for c in p.changes], plans[0].playbook_hash,
                      {a: f for p in plans for a, f in p.fingerprints.items()}, sum(p.accounts_read for p in plans),
                      [b for p in plans for b in p.blocked])
    return Planned(plan, parts[-1].desired, [x for p in parts for x in p.problems],
                   [x for p in parts for x in p.diagnostics], [x for p in parts for x in p.read_failures])


@dataclass
class _Diffed:
    """One kind's diff over the accounts it read."""

    changes: list[Change] = field(default_factory=list)
    fingerprints: dict[int, str] = field(default_factory=dict)  # of the accounts diffed
    failures: list[AccountIssue] = field(default_factory=list)  # answers the diff could not make sense of
    blocked: list[Blocked] = field(default_factory=list)  # changes the kind says the server refuses
    diagnostics: list[Diagnostic] = field(default_factory=list)  # of the live settings, then the kind's refusals
    facts: dict[tuple[int, Kind], dict[str, Any]] = field(default_factory=dict)  # what the blockers read


def _diff_kind(handler: KindHandler, kind: Kind, result: ReadResult, resolved: dict[int, Any],
               desired: DesiredState, fingerprints: bool = True) -> _Diffed:
    out = _Diffed()
    for account_id, live in result.live.items():
        account = desired.accounts.get(account_id, LIBRARY)
        try:
            found = handler.diff(account, resolved[account_id], live)
            refused = [(c, handler.refused(c, live)) for c in found]
        except SHAPE_ERRORS as exc:  # what the server sent for this account is not what the API documents
            out.failures.append(AccountIssue(account_id, account.username, kind,
                                             str(MisshapenAnswer(f"reading {handler.label}", exc))))
            continue
        for c, why in refused:
            if why is None:
                out.changes.append(c)
            else:
                out.blocked.append(Blocked(c.account_id, c.username, kind, why[0], why[1], c))
        if fingerprints:  # a kind that keeps part of the state gives the whole one's
            out.fingerprints[account_id] = result.fingerprints.get(account_id) or fingerprint(live)
    return out


def _resolve(
    handler: KindHandler, wanted: dict[int, Any], desired: DesiredState
) -> tuple[dict[int, Any], list[AccountIssue]]:
    """The kind's ``resolve`` of every account's desired state; one that cannot be read is that
    account's problem, and the account is not read or diffed for this kind."""
    ready: dict[int, Any] = {}
    problems: list[AccountIssue] = []
    for account_id, want in wanted.items():
        try:
            ready[account_id] = handler.resolve(want)
        except LookupError as exc:
            account = desired.accounts.get(account_id, LIBRARY)
            problems.append(AccountIssue(account_id, account.username, handler.kind, str(exc)))
    return ready, problems


def _check_settings(playbook: Playbook, kind: Kind, result: ReadResult) -> list[Diagnostic]:
    """Settings the playbook names that the live API does not have (undocumented fields are
    checked against what the server returns, not against a list of ours)."""
    if result.settings_fields is not None:
        return check_live_settings(playbook, SETTINGS_MODULES[kind], result.settings_fields)
    for live in result.live.values():
        if "settings" in live:
            return check_live_settings(playbook, SETTINGS_MODULES[kind], live["settings"].keys())
    return []
