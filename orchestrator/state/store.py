"""The state store: one interface for everything the orchestrator remembers between runs.

What it holds, per installation: the run history and the reports, the operation journal, the
drift record, the values the last apply set, the accounts an apply saw, the per-account
backoff, the run lock, the fleet's shared budgets (policy allowances and rate shares), the
posts memory (which server object is which playbook item, and which upload holds a file's
content: ``remembered``, ``save_identities``), and the retention that keeps all of it bounded.
Two implementations:

- ``orchestrator.state.sqlite.SqliteStore``: a file (the default ``.orchestrator/state.db``),
  the lock an ``flock`` beside it. Enough on one machine.
- ``orchestrator.state.postgres.PostgresStore``: ``state_db: postgresql://user@host/db``, the
  lock a PostgreSQL advisory lock held on its own connection. For a team, CI plus a
  reconciler, or shards on several machines.

Why an async interface: the engine runs on one event loop, and a journal write that waits on a
lock (another process's transaction, a slow disk) must not stop every other request. SQLite
runs its calls on a worker thread of its own; PostgreSQL uses psycopg's async driver.

Why every row carries its installation: two installations sharing one state database must
never resume, back off, label drift or list history by each other's rows. The installation id
is derived from the normalised base URL (scheme, host, port, path), never from the key, so it
is the same on every machine and in every release, and names nothing secret.

The posts memory is a cache: apply loads it once into the kinds' synchronous ``Memory``
(``kinds.base.ProcessMemory``) and writes what changed back after each wave and at the run's
end. A crash in between costs reads, never a second copy: a post's caption carries the
playbook's mark and an upload's name its content's hash, so the server itself says which is which.

Errors: every failure to use the store is a ``StateStoreError`` whose message is one line
saying what to do; the database's password never appears in it (``mask_url``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit, urlunsplit

from orchestrator.contract import Claim
from orchestrator.contract.vocabulary import AccountState, OpStatus, RunStatus
from orchestrator.log import get_logger, redact_value, register_secret
from orchestrator.plan import Change, canonical

#: The schema both backends are migrated to on first use (``schema_version`` records it).
SCHEMA_VERSION = 6  # 3: the status page's snapshot; 4: window claims; 5: the posts memory;
# 6: operations in doubt (how each was resolved, and when; an index of the unsettled)
#: Seconds a store call waits out another process's lock before it gives up with one line.
DEFAULT_BUSY_TIMEOUT = 30.0
#: How many items of each list a stored run report keeps (the counts are always whole).
REPORT_LIST_ITEMS = 50
#: A stored report above this many bytes keeps only its summary fields.
REPORT_MAX_BYTES = 32 * 1024

Key = tuple[int, str, str]
#: Which server object is which playbook item: (kind, account id, the item's key) -> server id.
Objects = dict[tuple[str, int, str], int]
#: Writes to the posts memory (``save_identities``): a server id (or media id) to remember,
#: or None to forget the entry.
ObjectWrites = Mapping[tuple[str, int, str], int | None]
UploadWrites = Mapping[str, int | None]


# -- errors -----------------------------------------------------------------------------------
class StateStoreError(Exception):
    """The state store cannot be opened, read or written: one line, with what to do."""


class StateDbError(StateStoreError):
    """The state database cannot be opened or written (one line, what to do)."""

    def __init__(self, where: str | os.PathLike[str], reason: str, hint: str | None = None) -> None:
        name = mask_url(os.fspath(where).strip())
        hint = hint or "point --state-db or SHARINGTOOLS_STATE_DB at a writable SQLite file or a postgresql:// URL"
        super().__init__(f"the state database {name if name not in ('', '.') else '(empty path)'} cannot be used "
                         f"({reason}): {hint}")


class StateBusyError(StateStoreError):
    """Another process held the state database's lock longer than the busy timeout."""


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a run lock."""

    host: str
    pid: int
    since: float
    command: str
    base_url: str
    heartbeat: float | None = None

    def describe(self) -> str:
        when = datetime.fromtimestamp(self.since, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"{self.command} (pid {self.pid} on {self.host}, since {when})"


class LockHeld(Exception):
    """Another run holds the lock; ``holder`` says who, when the store knows (else None)."""

    def __init__(self, where: Any, holder: Holder | None) -> None:
        self.path, self.holder = where, holder
        who = holder.describe() if holder else "another process"
        super().__init__(f"another run holds the lock on this installation and state database: {who}; "
                         f"wait for it to finish, or stop it (lock {where})")


# -- installations ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Installation:
    """The installation a store's rows belong to: ``id`` from the normalised ``url``."""

    id: str
    url: str
    raw_url: str = ""  # as configured (only to recognise the lock files older releases made)

    @classmethod
    def of(cls, base_url: str) -> Installation:
        url = normalise_url(base_url)
        return cls(hashlib.sha256(url.encode()).hexdigest()[:16], url, base_url.rstrip("/"))


def normalise_url(base_url: str) -> str:
    """``HTTPS://Host:443/api/v1/`` -> ``https://host/api/v1``: credentials, query, fragment,
    a default port and trailing slashes dropped, scheme and host lower-cased."""
    parts = urlsplit(base_url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    port = parts.port
    if port is not None and (scheme, port) not in (("http", 80), ("https", 443)):
        host = f"{host}:{port}"
    if ":" in (parts.hostname or "") and not host.startswith("["):  # IPv6 literal
        host = f"[{parts.hostname}]" + (f":{port}" if port and (scheme, port) not in (("http", 80), ("https", 443))
                                        else "")
    return urlunsplit((scheme, host, parts.path.rstrip("/"), "", ""))


def installation_id(base_url: str) -> str:
    """The id every row of ``base_url``'s installation carries (16 hex of sha256)."""
    return Installation.of(base_url).id


# -- URLs and masking -------------------------------------------------------------------------
def is_postgres_url(target: str | os.PathLike[str]) -> bool:
    return os.fspath(target).strip().lower().startswith(("postgresql://", "postgres://"))


def mask_url(text: str) -> str:
    """``postgresql://ana:secret@db/x`` -> ``postgresql://ana:***@db/x``; anything else as is."""
    if not is_postgres_url(text):
        return text
    parts = urlsplit(text)
    if parts.password is None:
        return _mask_query(text)
    userinfo = f"{parts.username}:***@" if parts.username else ":***@"
    host = parts.netloc.rsplit("@", 1)[-1]
    return _mask_query(urlunsplit((parts.scheme, userinfo + host, parts.path, parts.query, parts.fragment)))


def _mask_query(text: str) -> str:
    """``?password=...`` in a libpq URL, masked too."""
    import re

    return re.sub(r"(?i)(password=)[^&#]*", r"\1***", text)


def register_url_secret(url: str) -> None:
    """Register the password of ``url`` (if any) with the log redaction, so no log shows it."""
    if is_postgres_url(url):
        parts = urlsplit(url)
        if parts.password:
            register_secret(parts.password)
            from urllib.parse import unquote

            register_secret(unquote(parts.password))


# -- records ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RunRecord:
    id: int
    started: float
    finished: float | None
    command: str
    status: str
    accounts: list[int]
    report: dict[str, Any] | None
    playbook_hash: str | None = None
    host: str | None = None
    user: str | None = None
    resumes: int | None = None  # the run this one resumed
    resumed_by: int | None = None  # the run that resumed this one
    shard: str | None = None  # "K/N" for a shard's run
    installation: str | None = None

    @property
    def duration(self) -> float | None:
        return None if self.finished is None else self.finished - self.started


@dataclass(frozen=True)
class InDoubt:
    """A journaled operation whose effect on the server is not known: left ``pending`` by a run
    (killed, or still running when read without the lock) or marked ``in_doubt`` (cancelled in
    flight, or an answer lost that a read-back did not find). ``since``: when it was given up
    (its end, when recorded), else when it was journaled, just before it was sent (seconds
    since the epoch)."""

    id: int
    run_id: int
    account_id: int
    kind: str
    name: str
    args: dict[str, Any]
    status: OpStatus
    since: float
    error: str | None = None


@dataclass(frozen=True)
class Resolution:
    """What a run found of an operation in doubt: ``status`` `OpStatus.DONE` (it took effect
    after all) or `OpStatus.RESOLVED` (it did not, or a repeat is harmless), and why."""

    op_id: int
    status: OpStatus
    note: str


@dataclass(frozen=True)
class DriftRow:
    """One difference a cycle found, and what it did about it."""

    account_id: int
    username: str
    kind: str
    path: str
    action: str
    before: Any
    after: Any
    outcome: str
    reason: str | None = None

    def public(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class DriftState:
    """One fact of the drift record, kept as a state: what an (account, kind, path) looked like
    from ``first_seen`` to ``last_seen``, over ``cycles`` cycles (runs ``first_run``..``last_run``),
    and whether it still holds (``open``)."""

    row: DriftRow
    first_run: int
    last_run: int
    first_seen: float
    last_seen: float
    cycles: int
    open: bool
    shard: str | None = None


# The status page's snapshot (written by ``record_status``, rows made by ``orchestrator.state.snapshot``).
@dataclass(frozen=True)
class Note:
    """Something about one account a person reads: what waits on them, or what failed.
    ``reason`` is a blocked reason code, or ``failed``, ``backed_off``, ``held``."""

    kind: str
    reason: str
    message: str


@dataclass(frozen=True)
class DesiredField:
    """One value the playbook wants, at the path changes use (``settings.likes_speed``)."""

    path: str
    value: Any
    source: str | None


@dataclass(frozen=True)
class AccountStatus:
    """Where one account stands after a cycle, and what the playbook wants of it."""

    account_id: int
    username: str
    state: AccountState
    kinds: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    differences: int = 0
    fixed: int = 0
    notes: tuple[Note, ...] = ()
    desired: Mapping[str, Sequence[DesiredField]] | None = None  # kind -> fields; None: unmanaged


@dataclass(frozen=True)
class CycleStatus:
    """One cycle's line in ``status_cycles``: ``counts`` holds ``states`` (accounts per
    `AccountState`), ``blocked`` (accounts per reason), ``outcomes`` (drift rows per outcome),
    ``kinds`` (drift rows per kind, blocked ones apart) and ``read`` (accounts read)."""

    run_id: int
    at: float
    mode: str
    result: str
    counts: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Backoff:
    account_id: int
    username: str
    failures: int
    next_try: float
    last_error: str | None


@dataclass(frozen=True)
class BackoffPolicy:
    """Exponential per-account delays, as client-go's workqueue: ``base * 2**(n-1)``, capped."""

    base: float = 60.0
    cap: float = 6 * 3600.0

    def delay(self, failures: int) -> float:
        return float(min(self.cap, self.base * 2 ** max(0, failures - 1)))


DAY = 86400.0


@dataclass(frozen=True)
class RetentionPolicy:
    """What the store keeps: runs (with their reports and journal) newer than ``older_than``
    seconds *and* among the newest ``keep`` of their installation; drift states closed longer
    ago than ``older_than``. The newest run is always kept (it may be resumed).

    The defaults keep a 10,000-account fleet reconciled every 15 minutes well under 1 GB for a
    year: see the README's "Retention" for the arithmetic."""

    older_than: float = 90 * DAY
    keep: int = 10_000


@dataclass(frozen=True)
class PruneResult:
    runs: int = 0
    operations: int = 0
    drift: int = 0

    def __str__(self) -> str:
        return f"pruned {self.runs} runs, {self.operations} journal entries and {self.drift} drift states"


@dataclass(frozen=True)
class Reservation:
    """The answer to a shard's reservation of fleet-wide allowances: ``granted`` all or none;
    ``used`` per rule is what the round had used before this one (with it, when granted)."""

    granted: bool
    round: str
    used: dict[str, int] = field(default_factory=dict)
    limits: dict[str, int] = field(default_factory=dict)
    asked: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FleetShare:
    """A live member's share of the installation's budget: ``live`` members share ``rate``
    requests per second and ``concurrency`` slots."""

    live: int
    rate: float
    concurrency: int


# -- the interface ----------------------------------------------------------------------------
@runtime_checkable
class StateStore(Protocol):
    """What the engine asks of the state store (see the module docstring).

    Every method reads and writes the rows of ``installation`` only. Writes are committed
    before the method returns, except ``op_finished``, which is committed with the next write
    (or ``flush``): a crash leaves that operation ``pending``, as any operation in flight."""

    installation: Installation
    #: The shard label runs get (``"K/N"``), None unsharded.
    shard: str | None
    #: Where the store is, fit to print (a password masked).
    where: str

    # runs and the journal
    async def start_run(self, command: str, playbook_hash: str | None, accounts: Sequence[int],
                        resumes: int | None = None) -> int: ...
    async def finish_run(self, run_id: int, status: str, report: Mapping[str, Any]) -> None: ...
    async def runs(self, limit: int = 20, *, every_installation: bool = False) -> list[RunRecord]: ...
    async def run(self, run_id: int) -> RunRecord | None: ...
    async def unfinished(self) -> RunRecord | None: ...
    async def op_started(self, run_id: int, account_id: int, kind: str, name: str, args: Any) -> int: ...
    # ``status``: by default done (no error) or failed; `OpStatus.IN_DOUBT` for a call sent
    # whose answer never came (cancelled in flight, or lost and not found by its read-back).
    def op_finished(self, op_id: int, error: str | None = None, status: OpStatus | None = None) -> None: ...
    async def operations(self, run_id: int) -> list[dict[str, Any]]: ...
    # Operations in doubt (see `InDoubt`) of this installation and shard, oldest first; and
    # what a run found of them (committed at once, with when).
    async def in_doubt(self) -> list[InDoubt]: ...
    async def resolve(self, resolutions: Sequence[Resolution]) -> None: ...
    async def flush(self) -> None: ...

    # applied values and known accounts
    async def record_applied(self, changes: Iterable[Change], run_id: int | None = None) -> None: ...
    async def record_accounts(self, accounts: Iterable[Any]) -> None: ...
    async def known_usernames(self) -> frozenset[str]: ...
    async def last_applied(self, account_id: int, kind: str, path: str) -> object | None: ...
    async def applied_drift(self, changes: Iterable[Change]) -> frozenset[Key]: ...
    # Window claims: which windowed entry an apply added an item of an additive list for (a
    # target, a first-comment schedule), written by `record_applied` with each add or create
    # that carries `Change.window`, forgotten with any removal of the path. A closing window
    # takes back only what is claimed: never a target present before or added by hand.
    async def window_claims(self) -> frozenset[Claim]: ...

    # which server object is which playbook item, and uploads by content (the posts memory: a
    # cache of what the server also tells, by a post's caption mark and an upload's name)
    async def remembered(self) -> tuple[Objects, dict[str, int]]: ...
    async def save_identities(self, objects: ObjectWrites, uploads: UploadWrites) -> None: ...

    # drift and backoff
    async def record_drift(self, run_id: int, rows: Sequence[DriftRow], read: Collection[int],
                           now: float | None = None) -> None: ...
    async def drift_of_run(self, run_id: int) -> list[DriftRow]: ...
    async def drift_states(self, *, open_only: bool = False) -> list[DriftState]: ...
    async def hot_spots(self, limit: int = 10, min_cycles: int = 2, recent: int = 50) -> list[dict[str, Any]]: ...
    async def backoffs(self) -> dict[int, Backoff]: ...
    async def backoff_failed(self, account_id: int, username: str, error: str, policy: BackoffPolicy,
                             now: float | None = None) -> Backoff: ...
    async def backoff_forget(self, account_ids: Iterable[int]) -> None: ...

    # the status page's snapshot (orchestrator.state.snapshot): one cycle's line, what drifted
    # again and, when it judged the fleet, every account's row, in one transaction
    async def record_status(self, cycle: CycleStatus, accounts: Sequence[AccountStatus] | None,
                            drift: Iterable[DriftRow] = ()) -> None: ...

    # the run lock, the fleet's budgets
    def lock(self, command: str) -> contextlib.AbstractAsyncContextManager[RunLockGrant]: ...
    async def reserve(self, shards: int, amounts: Mapping[str, int], limits: Mapping[str, int], *,
                      round_id: str | None = None, window: float = 600.0) -> Reservation: ...
    def fleet_member(self, rate: float, concurrency: int,
                     on_share: Any) -> contextlib.AbstractAsyncContextManager[None]: ...

    # retention
    async def prune(self, policy: RetentionPolicy | None = None, *, now: float | None = None) -> PruneResult: ...
    async def maybe_prune(self, policy: RetentionPolicy | None = None) -> PruneResult | None: ...

    async def close(self) -> None: ...


@dataclass
class RunLockGrant:
    """A lock held: ``previous`` names a holder that died holding it (taken over), if any."""

    me: Holder
    previous: Holder | None = None


# -- helpers both backends use -----------------------------------------------------------------
def user_name() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container's arbitrary uid)
        return None


def holder_now(command: str, installation: Installation) -> Holder:
    import socket

    return Holder(socket.gethostname(), os.getpid(), time.time(), command, installation.url)


def compact_report(report: Mapping[str, Any]) -> str:
    """The JSON a run's report is stored as: redacted, each list cut to ``REPORT_LIST_ITEMS``
    (with its full length beside it), and no more than ``REPORT_MAX_BYTES`` in all, so that
    a fleet of any size writes reports of bounded size (the full report is ``--report FILE``'s)."""
    def cut(value: Any, depth: int = 0) -> Any:
        if isinstance(value, list):
            items = [cut(v, depth + 1) for v in value[:REPORT_LIST_ITEMS]]
            return items if len(value) <= REPORT_LIST_ITEMS else [*items, {"more": len(value) - REPORT_LIST_ITEMS}]
        if isinstance(value, dict) and depth < 6:
            return {k: cut(v, depth + 1) for k, v in value.items()}
        return value

    text = json.dumps(cut(redact_value(dict(report))), default=str, separators=(",", ":"))
    if len(text) <= REPORT_MAX_BYTES:
        return text
    keep = {k: v for k, v in redact_value(dict(report)).items() if not isinstance(v, list | dict) or k in ("plan",)}
    keep["truncated"] = True
    return json.dumps(keep, default=str, separators=(",", ":"))


def drift_key(row: DriftRow) -> tuple[int, str, str]:
    return row.account_id, row.kind, row.path


def drift_value(row: DriftRow) -> tuple[str, str, str, str, str | None]:
    """What makes two sightings of a fact the same state: action, values, outcome, reason."""
    return (row.action, json.dumps(redact_value(row.before), default=str, sort_keys=True),
            json.dumps(redact_value(row.after), default=str, sort_keys=True), row.outcome,
            redact_value(row.reason) if row.reason else None)


def applied_rows(changes: Iterable[Change], run_id: int | None, now: float
                 ) -> tuple[list[tuple[int, str, str, str, int | None, float]], list[tuple[int, str, str]]]:
    """(rows to upsert, keys to forget) for the applied values of ``changes``."""
    rows, gone = [], []
    for c in changes:
        if c.action in ("remove", "delete"):
            gone.append((c.account_id, str(c.kind), c.path))
        else:
            rows.append((c.account_id, str(c.kind), c.path, canonical(redact_value(c.after)), run_id, now))
    return rows, gone


def claim_rows(changes: Iterable[Change], run_id: int | None, now: float
               ) -> list[tuple[int, str, str, str, int | None, float]]:
    """(account_id, kind, path, entry, run_id, at) of the adds and creates done for a window."""
    return [(c.account_id, str(c.kind), c.path, c.window, run_id, now) for c in changes
            if c.window is not None and c.action in ("add", "create")]


def wanted_values(changes: Iterable[Change]) -> dict[Key, str]:
    return {(c.account_id, str(c.kind), c.path): canonical(c.after) for c in changes
            if c.action not in ("create", "add", "remove", "delete")}


def end_row(op_id: int, error: str | None, status: OpStatus | None, at: float) -> tuple[str, str | None, float, int]:
    """The buffered end of an operation, as both backends write it: (status, error, finished, id)."""
    final = status if status is not None else (OpStatus.FAILED if error else OpStatus.DONE)
    return str(final), redact_value(error) if error else None, at, op_id


UNSETTLED = tuple(str(s) for s in OpStatus if s.unsettled)


def in_doubt_of(row: Sequence[Any]) -> InDoubt:
    """An `InDoubt` from (id, run_id, account_id, kind, name, args JSON, status, since, error)."""
    return InDoubt(int(row[0]), int(row[1]), int(row[2]), row[3], row[4], json.loads(row[5]), OpStatus(row[6]),
                   float(row[7]), row[8])


def account_field(item: Any, name: str) -> Any:
    return item[name] if isinstance(item, dict) else getattr(item, name)


RESUMABLE = (RunStatus.RUNNING, RunStatus.INTERRUPTED, RunStatus.PARTIAL)
#: Seconds a fleet member's lease lives without a heartbeat: a dead shard's share returns
#: to the others within this (plus one heartbeat).
LEASE_TTL = 3.0
HEARTBEAT = 1.0
#: A shard assumes all N of its fleet are live for this long after it joins, so the first one
#: up does not take the whole rate while the others are still starting.
JOIN_GRACE = 3.0
#: Shards reserving within this many seconds of a round's opening share its allowances.
ROUND_WINDOW = 600.0
#: The environment variable naming the fleet's round explicitly (a Job's uid).
FLEET_RUN_ENV = "SHARINGTOOLS_FLEET_RUN"


def share_of(rate: float, concurrency: int, live: int, shards: int, joined_for: float) -> FleetShare:
    """A member's share: the budget split among the live members (all ``shards`` while it is
    new, as the others are likely still starting)."""
    members = max(1, live, shards if joined_for < JOIN_GRACE else 1)
    return FleetShare(members, rate / members, max(1, concurrency // members))


async def heartbeat_loop(beat: Any, every: float = HEARTBEAT) -> None:
    """``await beat()`` every ``every`` seconds until cancelled (a failed beat is logged, the
    loop goes on: the lease simply runs out if the store stays away)."""
    import anyio

    log = get_logger("orchestrator.state")
    while True:
        await anyio.sleep(every)
        try:
            await beat()
        except StateStoreError as exc:
            log.warning("fleet heartbeat failed", error=str(exc))


@contextlib.asynccontextmanager
async def nothing() -> AsyncIterator[None]:
    yield
