"""Entry windows in planning: take back only what a window added, and say what is ahead.

* `keep_claimed` / `claimed`: a closed window's items (`Withdrawal`) are taken back only where
  the state database has a `Claim` that an apply added them for a window. Before reading, the
  (account, kind) pairs with no claim at all drop their withdrawals (nothing to read for them);
  after the diff, a removal whose exact item is not claimed is dropped: a target present before
  the window opened, or added by hand, is never removed by one closing.
* `plan_windows`: the instant the plan is desired for, the windows open then, and the next
  transitions: at each instant a windowed entry opens or closes, what the desired state then
  changes (desired just before against just after; pure, no read), grouped across accounts.

Everything here is pure over the playbook, the live account list and the contract's types.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from orchestrator.contract import (
    AccountDesired,
    Claim,
    DesiredState,
    FirstCommentDesired,
    Kind,
    KindDesired,
    LeadsDesired,
    ScheduleDesired,
    SecretRef,
    ToggleDesired,
)
from orchestrator.contract.vocabulary import Action
from orchestrator.plan import Change, PlanWindows, Transition, TransitionChange, canonical
from orchestrator.planning.shard import Shard
from orchestrator.playbook import Playbook, desired_state, window_events, window_states

#: How many openings and closings of each windowed entry a plan looks ahead for, and how many
#: instants it lists at most.
PER_ENTRY = 2
MAX_INSTANTS = 10
_JUST_BEFORE = timedelta(microseconds=1)
_TAKE_BACK = (Action.REMOVE, Action.DELETE)


def has_windows(playbook: Playbook) -> bool:
    return bool(window_states(playbook, _EPOCH))


# -- claims -----------------------------------------------------------------------------------

def keep_claimed(desired: DesiredState, claims: Collection[Claim]) -> DesiredState:
    """``desired`` without the withdrawals of (account, kind) pairs nothing is claimed on, and
    without what is then left desiring nothing (an account only a closed window selects)."""
    pairs = {(c.account_id, c.kind) for c in claims}
    changed = False
    by_account: dict[int, dict[Kind, KindDesired]] = {}
    for account_id, kinds in desired.by_account.items():
        kept: dict[Kind, KindDesired] = {}
        for kind, want in kinds.items():
            if isinstance(want, (ScheduleDesired, FirstCommentDesired)) and want.withdraw \
                    and (account_id, kind.value) not in pairs:
                want = replace(want, withdraw=())  # type: ignore[arg-type]
                changed = True
            if _says_something(want):
                kept[kind] = want
            else:
                changed = True
        if kept:
            by_account[account_id] = kept
    if not changed:
        return desired
    return replace(desired, by_account=by_account, fleet_size=desired.managed)


def claimed(changes: Iterable[Change], claims: Collection[Claim]) -> list[Change]:
    """``changes`` without a closed window's removals of items no apply added for a window."""
    keys = {c.key for c in claims}
    return [c for c in changes if c.window is None or c.action not in _TAKE_BACK
            or (c.account_id, c.kind, c.path) in keys]


def _says_something(want: KindDesired) -> bool:
    if isinstance(want, ScheduleDesired):
        return bool(want.state or want.settings or want.targets is not None or want.prune or want.withdraw)
    if isinstance(want, FirstCommentDesired):
        return bool(want.schedules or want.prune or want.withdraw)
    return True


# -- what is ahead ----------------------------------------------------------------------------

def plan_windows(playbook: Playbook, accounts: Sequence[Any], desired: DesiredState, *, limit: Sequence[str] = (),
                 known: Iterable[str] = (), shard: Shard | None = None) -> PlanWindows | None:
    """The windows side of the plan of ``desired`` (None when the playbook has no windows)."""
    if desired.at is None or not has_windows(playbook):
        return None
    known = tuple(known)
    # Only the accounts of the entries that open or close at an instant can change then, and an
    # account's desired state depends only on the entries that select it: each instant is
    # worked out for those accounts alone (a fleet of 100,000 with a window on one group
    # computes that group's accounts, not the fleet's).
    members = {name: {a.id for a in found} for name, found in desired.groups.items()}
    groups_of = {e.label: e.groups for e in playbook.entries if e.windows is not None}
    kinds_of = {e.label: {Kind(k) for k in e.spec.kinds} for e in playbook.entries if e.windows is not None}
    cache: dict[tuple[frozenset[str], frozenset[int]], DesiredState] = {}

    def at(instant: datetime, ids: frozenset[int]) -> DesiredState:
        open_then = frozenset(name for name, on in window_states(playbook, instant).items() if on)
        key = (open_then, ids)
        if key not in cache:
            if open_then == desired.open_windows:
                state = replace(desired, by_account={a: k for a, k in desired.by_account.items() if a in ids})
            else:
                state = desired_state(playbook, accounts, limit=limit, deferred=[], known=known, at=instant,
                                      resolved=desired.groups, only=ids)
                state = shard.select(state) if shard is not None else state
            cache[key] = state
        return cache[key]

    events = window_events(playbook, desired.at, PER_ENTRY)
    instants = sorted({e.at for e in events})[:MAX_INSTANTS]
    transitions = []
    for instant in instants:
        changing = tuple(e for e in events if e.at == instant)
        ids = frozenset(a for e in changing for group in groups_of.get(e.entry, ()) for a in members.get(group, ()))
        before, after = at(instant - _JUST_BEFORE, ids), at(instant, ids)
        grouped, accounts_changed = _changes(before, after, {k for e in changing for k in kinds_of.get(e.entry, ())})
        transitions.append(Transition(instant, changing, accounts_changed, tuple(grouped)))
    return PlanWindows(desired.at, tuple(sorted(desired.open_windows)), tuple(transitions))


def _changes(before: DesiredState, after: DesiredState, kinds: set[Kind]) -> tuple[list[TransitionChange], int]:
    """What changes from ``before`` to ``after`` in ``kinds`` (the only ones the entries that open
    or close set), grouped across accounts; and how many accounts change."""
    groups: dict[tuple[Any, ...], tuple[Any, Any, list[str]]] = {}
    touched: set[int] = set()
    for account_id in sorted(set(before.by_account) | set(after.by_account)):
        account = after.accounts.get(account_id) or before.accounts.get(account_id)
        if account is None:
            continue
        present = set(before.by_account.get(account_id, {})) | set(after.by_account.get(account_id, {}))
        for kind in sorted(present & kinds, key=list(Kind).index):
            for action, path, was, will in desired_changes(before.get(account_id, kind), after.get(account_id, kind)):
                key = (kind, action, path, _key(was), _key(will))
                found = groups.get(key)
                if found is None:
                    found = groups[key] = (was, will, [])
                found[2].append(account.username)
                touched.add(account_id)
    out = [TransitionChange(kind, action, path, _plain(was), _plain(will), len(names), tuple(sorted(names)))
           for (kind, action, path, _, _), (was, will, names) in groups.items()]
    out.sort(key=lambda c: (list(Kind).index(c.kind), c.action.order, c.path, -c.accounts))
    return out, len(touched)


def desired_changes(before: KindDesired | None, after: KindDesired | None) -> list[tuple[Action, str, Any, Any]]:
    """What one (account, kind)'s desired state changes from ``before`` to ``after``:
    (action, path, value before, value after), paths as the kinds' changes name them. Only what
    ``after`` manages changes (a field no entry names any more keeps its live value), and a
    closed window's items are taken back (where an apply added them)."""
    if after is None:
        return []
    out: list[tuple[Action, str, Any, Any]] = []
    if isinstance(after, ScheduleDesired):
        was = before if isinstance(before, ScheduleDesired) else ScheduleDesired(after.kind)
        out += _state(was.state, after.state, "state")
        for name, want in sorted(after.settings.items()):
            had = was.settings.get(name)
            if had is None or _key(had.value) != _key(want.value):
                out.append((Action.UPDATE, f"settings.{name}", _shown(had.value) if had else None, _shown(want.value)))
        old = {t.value.key: t.value for t in was.targets or ()}
        new = {t.value.key: t.value for t in after.targets or ()}
        out += [(Action.ADD, f"targets[{t.type}:{t.value}]", None, t.as_api()) for k, t in new.items() if k not in old]
        out += [(Action.REMOVE, f"targets[{w.value.type}:{w.value.value}]", w.value.as_api(), None)
                for w in after.withdraw if w.value.key in old]
    elif isinstance(after, ToggleDesired):
        out += _state(before.state if isinstance(before, ToggleDesired) else None, after.state, "state")
    elif isinstance(after, LeadsDesired):
        was_leads = before if isinstance(before, LeadsDesired) else LeadsDesired()
        out += _state(was_leads.every, after.every, "tasks[*].state")
        for task, state in sorted(after.tasks.items()):
            out += _state(was_leads.tasks.get(task), state, f"tasks[{task}].state")
    elif isinstance(after, FirstCommentDesired):
        was_fc = before if isinstance(before, FirstCommentDesired) else FirstCommentDesired()
        old_schedules = {s.key: s for s in was_fc.schedules}
        for schedule in after.schedules:
            base = f"schedules[{schedule.label}]"
            existing = old_schedules.get(schedule.key)
            if existing is None:
                out.append((Action.CREATE, base, None, schedule.comments.value if schedule.comments else None))
                continue
            for name in ("comments", "mode", "targets"):
                now, then = getattr(schedule, name), getattr(existing, name)
                if now is not None and (then is None or canonical(now.value) != canonical(then.value)):
                    path = f"{base}.{'comment_mode' if name == 'mode' else name}"
                    out.append((Action.UPDATE, path, then.value if then else None, now.value))
            out += _state(existing.state, schedule.state, f"{base}.state")
        out += [(Action.DELETE, f"schedules[{w.value.label}]", w.value.label, None)
                for w in after.withdraw if w.value.key in old_schedules]
    elif isinstance(after, AccountDesired):
        was_proxy = before.proxy if isinstance(before, AccountDesired) else None
        if after.proxy is not None and (was_proxy is None or _shown(was_proxy.value) != _shown(after.proxy.value)):
            out.append((Action.SET, "proxy", _shown(was_proxy.value) if was_proxy else None, _shown(after.proxy.value)))
    return out


def _state(was: Any, want: Any, path: str) -> list[tuple[Action, str, Any, Any]]:
    if want is None or (was is not None and was.value == want.value):
        return []
    value = want.value
    action = {"active": Action.ACTIVATE, "paused": Action.PAUSE, "running": Action.START, "stopped": Action.STOP}[value]
    return [(action, path, was.value if was is not None else None, value)]


def _shown(value: Any) -> Any:
    """A desired value as plans show it: a secret by its reference, never resolved."""
    return str(value) if isinstance(value, SecretRef) else value


def _key(value: Any) -> Any:
    """What tells two desired values apart: themselves when plain (``True`` is not ``1``), their
    canonical JSON otherwise."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return (type(value).__name__, value)
    return canonical(_shown(value))


def _plain(value: Any) -> Any:
    """A desired value as JSON would carry it (tuples as lists, a secret by its reference)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return json.loads(canonical(_shown(value)))


_EPOCH = datetime.fromisoformat("2000-01-01T00:00:00+00:00")
