"""The fleet as the last reconcile cycle saw it: one status row per account, one row per cycle.

The drift record (``drift_states``, ``orchestrator.state.drift``) says what differed and since
when; it holds nothing for an account that was in sync, and nothing of what the playbook wants where live
agrees. The status page needs both: where each account stands (in sync, drifted, blocked,
failed, backed off, unmanaged: `AccountState`) and each kind's desired values, with the
playbook line that asks for each. So every cycle that judged the fleet writes:

- ``status_accounts``: one row per account on the installation's list, replaced each cycle
  (rows of accounts gone from the list are deleted). ``since`` is when the account entered
  its state, kept across cycles while the state holds. Kinds, groups and blocked reasons
  are ``,a,b,`` lists, so a filter is one ``LIKE`` on 10,000 rows, not a join.
- ``status_desired``: each account's desired values, by content digest. Accounts of one
  group want the same values from the same lines, so 10,000 accounts share a few dozen
  bodies: a cycle writes about 150 bytes per account instead of a kilobyte or two.
- ``status_cycles``: one row per cycle (its counts, for the drift-over-time chart), a
  failed cycle too (its result, no counts), so the chart shows the gap.
- ``status_recurring``: per (account, kind, field) that ever drifted, how many cycles found
  it changed again after a cycle had put it back: "what keeps drifting", kept as the cycles
  go (a few index lookups per drift row) rather than worked out from thousands of drift
  rows per cycle at every view.

Live values are not stored here: where live differs from desired, the cycle's drift row
says what live was (``before``); everywhere else live equals desired, which is what "in
sync" means. The account page joins the two.

The tables are part of the state store (schema version 3 of both backends, the installation
on every row like every other table): this module makes one cycle's rows and the SQL that
writes them (``status_write``), the same on SQLite and PostgreSQL, and each backend's
``StateStore.record_status`` writes them in one transaction. Reads: ``orchestrator.status.queries``.
Every text passes through the redaction of ``orchestrator.log`` before it is written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from orchestrator.log import redact_value
from orchestrator.state.store import AccountStatus, CycleStatus, DesiredField, DriftRow, Note

__all__ = ["AccountStatus", "CycleStatus", "DesiredField", "Note", "StatusWrite", "Tally", "status_write"]



def _listed(values: Iterable[str]) -> str:
    """``,a,b,``: one ``LIKE '%,a,%'`` finds a member without a join."""
    items = sorted(set(values))
    return "," + ",".join(items) + "," if items else ","


def _body(desired: Mapping[str, Sequence[DesiredField]]) -> str:
    return json.dumps({kind: [[f.path, redact_value(f.value, f.path.rpartition(".")[2]), f.source]
                              for f in fields] for kind, fields in desired.items()},
                      ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


#: The installation's normalised base URL is kept beside its rows (``store_meta``), so the status
#: page can name the installations a shared database holds.
BASE_URL_KEY = "base_url"

# The writes of one cycle, in this order, in one transaction; the same SQL on both backends
# (``?`` placeholders; PostgreSQL's store turns them into ``%s``). Set-wise, every SET reads
# the row as it was: a field put back by an earlier cycle and found changed now came back
# once more; a fix now is the new "put back"; ``since`` is kept while the state holds.
WRITE_CYCLE = (
    "INSERT INTO status_cycles (installation, run_id, at, mode, result, counts) VALUES (?,?,?,?,?,?)"
    " ON CONFLICT (installation, run_id) DO UPDATE SET at=excluded.at, mode=excluded.mode,"
    " result=excluded.result, counts=excluded.counts")
WRITE_BASE_URL = (
    "INSERT INTO store_meta (installation, key, value) VALUES (?,?,?)"
    " ON CONFLICT (installation, key) DO UPDATE SET value=excluded.value")
WRITE_RECURRING = (
    "INSERT INTO status_recurring (installation, account_id, kind, path, username, fixed_run, came_back, last_run,"
    " last_at) VALUES (?,?,?,?,?,?,0,?,?) ON CONFLICT (installation, account_id, kind, path) DO UPDATE SET"
    " username=excluded.username,"
    " came_back=status_recurring.came_back + CASE WHEN status_recurring.fixed_run IS NOT NULL"
    " AND status_recurring.fixed_run < excluded.last_run THEN 1 ELSE 0 END,"
    " fixed_run=coalesce(excluded.fixed_run, status_recurring.fixed_run), last_run=excluded.last_run,"
    " last_at=excluded.last_at")
WRITE_DESIRED = (
    "INSERT INTO status_desired (installation, digest, body) VALUES (?,?,?)"
    " ON CONFLICT (installation, digest) DO NOTHING")
WRITE_ACCOUNT = (
    "INSERT INTO status_accounts (installation, account_id, username, state, since, run_id, at, kinds, groups,"
    " reasons, differences, fixed, notes, desired) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    " ON CONFLICT (installation, account_id) DO UPDATE SET username=excluded.username,"
    " since=CASE WHEN status_accounts.state=excluded.state THEN status_accounts.since ELSE excluded.since END,"
    " state=excluded.state, run_id=excluded.run_id, at=excluded.at, kinds=excluded.kinds,"
    " groups=excluded.groups, reasons=excluded.reasons, differences=excluded.differences,"
    " fixed=excluded.fixed, notes=excluded.notes, desired=excluded.desired")
# Accounts gone from the list (not judged by this cycle): their rows, and what kept drifting on them.
DELETE_GONE = (
    ("DELETE FROM status_recurring WHERE installation=? AND account_id IN"
     " (SELECT account_id FROM status_accounts WHERE installation=? AND run_id != ?)", "iir"),
    ("DELETE FROM status_accounts WHERE installation=? AND run_id != ?", "ir"),
    ("DELETE FROM status_desired WHERE installation=? AND digest NOT IN"
     " (SELECT desired FROM status_accounts WHERE installation=? AND desired IS NOT NULL)", "ii"),
)


@dataclass(frozen=True)
class StatusWrite:
    """One cycle's status as rows (``installation`` first in each), for either backend to
    write in one transaction: ``WRITE_CYCLE`` and ``WRITE_BASE_URL`` once, ``WRITE_RECURRING``,
    ``WRITE_DESIRED`` and ``WRITE_ACCOUNT`` per row; then, when ``fleet``, ``DELETE_GONE``."""

    cycle: tuple[Any, ...]
    base_url: tuple[Any, ...]
    recurring: list[tuple[Any, ...]]
    desired: list[tuple[Any, ...]]
    accounts: list[tuple[Any, ...]]
    fleet: bool
    installation: str
    run_id: int

    def deletes(self) -> list[tuple[str, tuple[Any, ...]]]:
        """``DELETE_GONE`` with their arguments."""
        value = {"i": self.installation, "r": self.run_id}
        return [(sql, tuple(value[c] for c in spec)) for sql, spec in DELETE_GONE]


def status_write(installation: str, base_url: str, cycle: CycleStatus, accounts: Sequence[AccountStatus] | None,
                 drift: Iterable[DriftRow] = ()) -> StatusWrite:
    """The rows of one cycle: its line, what drifted again, and (when it judged the fleet)
    every account's row; ``accounts`` is the whole list (rows of accounts not in it go)."""
    counts = json.dumps(cycle.counts, sort_keys=True) if cycle.counts is not None else None
    recurring = [(installation, r.account_id, r.kind, r.path, r.username,
                  cycle.run_id if r.outcome == "fixed" else None, cycle.run_id, cycle.at)
                 for r in drift if r.outcome != "blocked" and r.path != "*"]
    bodies: dict[str, str] = {}
    rows = []
    for a in accounts or ():
        digest = None
        if a.desired is not None:
            body = _body(a.desired)
            digest = hashlib.sha256(body.encode()).hexdigest()[:24]
            bodies[digest] = body
        notes = json.dumps([[n.kind, n.reason, redact_value(n.message)] for n in a.notes], ensure_ascii=False)
        rows.append((installation, a.account_id, a.username, str(a.state), cycle.at, cycle.run_id, cycle.at,
                     _listed(a.kinds), _listed(a.groups), _listed(a.reasons), a.differences, a.fixed, notes, digest))
    return StatusWrite((installation, cycle.run_id, cycle.at, cycle.mode, cycle.result, counts),
                       (installation, BASE_URL_KEY, base_url), recurring,
                       [(installation, d, b) for d, b in sorted(bodies.items())], rows, accounts is not None,
                       installation, cycle.run_id)


@dataclass
class Tally:
    """Counting helper for `CycleStatus.counts`."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, table: str, key: str, n: int = 1) -> None:
        bucket = self.counts.setdefault(table, {})
        bucket[key] = bucket.get(key, 0) + n

    def public(self, **extra: Any) -> dict[str, Any]:
        return {**{k: dict(sorted(v.items())) for k, v in self.counts.items()}, **extra}
