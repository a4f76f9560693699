"""What every managed kind provides, and the small types the planner and the executor share.

A kind knows one API module and nothing of concurrency:

- ``resolve(desired)``: what the desired state refers to outside the playbook, read at the
  edge (a secret reference's value), so that the diff needs no I/O; by default nothing;
- ``read(client, accounts, desired)``: fetch the live state of what the playbooks manage for
  those accounts, reading nothing else (list endpoints once, 100 a page, where they carry
  what is needed; per-account endpoints only for what lists lack);
- ``diff(account, desired, live)``: a pure function from (resolved) desired and live state to
  ``Change``s;
- ``operations(changes)``: group one account's changes into the API calls that realise them;
- ``execute(client, op)`` and, for switches the API has a bulk form of, ``execute_bulk``;
- optionally ``refused(change, live)`` (a change the server refuses for a reason of the kind's
  own, planned as blocked) and ``refusals(...)`` (a whole plan the kind refuses: a quota).

A kind that makes server objects the API gives no name for (posts) keeps which is which in
its ``memory`` (`Memory`): the state database when an apply or a plan has one, else the
process's own.

The engine knows nothing of Instagram: it schedules ``Operation``s by phase, lane and bulk key.
"""

from __future__ import annotations

import re
import sys
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import ModuleNotEnabled, ModuleNotInstalled, SharingtoolsError
from orchestrator.contract import Account, DesiredState, Kind, Position, Sourced
from orchestrator.contract.accounts import LiveAccount
from orchestrator.contract.kinds import info as kind_info
from orchestrator.contract.vocabulary import Action, Phase
from orchestrator.kinds.secret_values import shown_live
from orchestrator.plan import Change

Live = dict[str, Any]

#: A bracketed key in a change's path: ``targets[hashtag:summer]``, ``captions[Summer sale]``.
ITEM = r"\[.+\]"


def paths(**by_action: str) -> dict[Action, re.Pattern[str]]:
    """``changes`` for a handler: action name -> the regular expression its paths match whole."""
    return {Action(action): re.compile(pattern) for action, pattern in by_action.items()}

# Phases run in order for every account: switch off, edit, switch on (`Phase`, the same rule as
# `Action.order`). Pausing first means nothing runs half-configured; activating last means a
# schedule starts with its targets and settings in.
PHASE_OFF, PHASE_EDIT, PHASE_ON = Phase.OFF, Phase.EDIT, Phase.ON


class Op(StrEnum):
    """The API calls kinds make: what an `Operation` does, and what ``execute`` dispatches on.

    A `StrEnum`, so the journal, the run report and the logs keep the plain names."""

    PAUSE = "pause"
    ACTIVATE = "activate"
    START = "start"
    STOP = "stop"
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    UPDATE_SETTINGS = "update_settings"
    ADD_TARGET = "add_target"
    REMOVE_TARGET = "remove_target"
    PROXY = "proxy"
    PROXY_AUTO = "proxy_auto"
    PROXY_SECRET = "proxy_secret"
    # Not calls a kind makes: the steps a failure is reported under when an account's live
    # state could not be read before the plan, or re-read after the writes.
    READ = "read"
    VERIFY = "verify"


@dataclass(frozen=True)
class Operation:
    """One API call (or one account's share of a bulk call) realising some changes.

    ``args`` is JSON-able and holds no secret: it is journaled before the call is sent.
    Operations with the same ``bulk`` key may be coalesced into one bulk request.
    """

    kind: Kind
    account_id: int
    name: Op
    changes: tuple[Change, ...]
    phase: Phase = PHASE_EDIT
    bulk: str | None = None
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AccountIssue:
    """One account's problem, whenever it is found: a kind that cannot be planned (no schedule,
    module off, the account is gone, a read that failed), an operation the server refused, a
    change that did not verify. It stays with that account: the others are planned and applied.

    ``kind`` is None for a problem of the whole account; ``step`` is the operation it happened
    at (`Op.READ` and `Op.VERIFY` for the reads around the writes), None when found in plan."""

    account_id: int
    username: str
    kind: Kind | None
    message: str
    step: Op | None = None

    def public(self) -> dict[str, Any]:
        """As a run report holds it (the report's field names predate this type)."""
        return {"account_id": self.account_id, "username": self.username, "kind": self.kind,
                "operation": self.step, "reason": self.message}

    def __str__(self) -> str:
        if self.kind is None:
            return f"{self.username}: {self.message}"
        return f"{self.username} · {self.kind}: {self.message}"


class FleetReadFailed(SharingtoolsError):
    """A kind's list of every account's state (one read for the whole fleet, such as the
    Reactions Pro schedule list) failed, after the client's retries.

    Nothing is then known of any account's state of that kind: not that it has no schedule
    (the plan would say "create it in the web panel"), not that it has the one it had. Every
    account the kind manages is a read failure (left out of the plan; apply writes nothing for
    it and ends partial, exit 4); the other kinds' accounts go on. The accounts are not read
    one by one instead: a list that lies (a maintenance page) must be seen, not papered over.
    """

    def __init__(self, what: str, error: SharingtoolsError) -> None:
        self.error = error
        super().__init__(f"the list of every account's {what} failed, so this account's is unknown: {error}")


class LibraryReadFailed(SharingtoolsError):
    """The read of something the API key's user owns rather than an account (the caption
    library) failed: no account's problem, so the whole run stops (plan and apply exit 1, and
    apply writes nothing). Read as empty, it would plan to create the library again."""

    def __init__(self, what: str, error: SharingtoolsError) -> None:
        self.error = error
        super().__init__(f"could not read {what}, so nothing was planned: {error}")


@contextmanager
def fleet_list(what: str) -> Iterator[None]:
    """Around a kind's read of a list of every account's ``what``: its failure is
    `FleetReadFailed`. A module refusal (403, or 503 naming the module) keeps its meaning:
    every call of that module is refused, which the planner reports as blocked."""
    try:
        yield
    except (ModuleNotEnabled, ModuleNotInstalled):
        raise
    except SharingtoolsError as exc:
        raise FleetReadFailed(what, exc) from exc


@dataclass
class ReadContext:
    """What every read gets: the client, and the live account list already read (with proxies)."""

    client: SharingtoolsClient
    accounts: Mapping[int, LiveAccount]  # account id -> the account as the list gave it

    def few(self, n: int) -> bool:
        """Whether ``n`` single reads cost less than paging a list that has one item per account."""
        return n < max(1, -(-len(self.accounts) // 100))


@dataclass
class ReadResult:
    """What a kind read. A kind that keeps only part of a live state (what its diff compares)
    gives the fingerprint of the whole state as read in ``fingerprints``, and the field names
    of one settings answer as read in ``settings_fields``."""

    live: dict[int, Live] = field(default_factory=dict)
    problems: list[AccountIssue] = field(default_factory=list)
    fingerprints: dict[int, str] = field(default_factory=dict)
    settings_fields: tuple[str, ...] | None = None


class Memory(Protocol):
    """Which server object is which playbook item, and uploads by content: what the state
    store remembers (``StateStore.remembered``), seen by the kinds that need it. Synchronous:
    apply and plan load it once into a `ProcessMemory`, and apply writes what changed back to
    the store after each wave and at the run's end."""

    def objects(self, kind: str, account_ids: Collection[int]) -> dict[tuple[int, str], int]:
        """(account id, key) -> server id, for these accounts."""

    def remember_object(self, kind: str, account_id: int, key: str, server_id: int) -> None: ...

    def forget_object(self, kind: str, account_id: int, key: str) -> None: ...

    def upload(self, sha256: str) -> int | None:
        """The media id a file of this content was uploaded as, if it was."""

    def remember_upload(self, sha256: str, media_id: int) -> None: ...

    def forget_upload(self, sha256: str) -> None: ...


class ProcessMemory:
    """A `Memory` kept in the process: what a run without a state database learns (forgotten at
    exit), a plan's copy of what the state store held (a plan never writes it), and an apply's
    copy, whose writes since the last `take_writes` are pending until the apply stores them.

    A crash before they are stored costs reads, never a second copy: a post carries a mark in
    its caption and an upload's name its content's hash, so the server tells them again."""

    def __init__(self, objects: Mapping[tuple[str, int, str], int] | None = None,
                 uploads: Mapping[str, int] | None = None) -> None:
        self._objects = dict(objects or {})
        self._uploads = dict(uploads or {})
        self._pending_objects: dict[tuple[str, int, str], int | None] = {}
        self._pending_uploads: dict[str, int | None] = {}

    def objects(self, kind: str, account_ids: Collection[int]) -> dict[tuple[int, str], int]:
        wanted = set(account_ids)
        return {(a, key): s for (k, a, key), s in self._objects.items() if k == kind and a in wanted}

    def remember_object(self, kind: str, account_id: int, key: str, server_id: int) -> None:
        self._objects[(kind, account_id, key)] = server_id
        self._pending_objects[(kind, account_id, key)] = server_id

    def forget_object(self, kind: str, account_id: int, key: str) -> None:
        self._objects.pop((kind, account_id, key), None)
        self._pending_objects[(kind, account_id, key)] = None

    def upload(self, sha256: str) -> int | None:
        return self._uploads.get(sha256)

    def remember_upload(self, sha256: str, media_id: int) -> None:
        self._uploads[sha256] = media_id
        self._pending_uploads[sha256] = media_id

    def forget_upload(self, sha256: str) -> None:
        self._uploads.pop(sha256, None)
        self._pending_uploads[sha256] = None

    def take_writes(self) -> tuple[dict[tuple[str, int, str], int | None], dict[str, int | None]]:
        """The writes since the last call (an id remembered, or None: forgotten), now no longer pending."""
        writes = self._pending_objects, self._pending_uploads
        self._pending_objects, self._pending_uploads = {}, {}
        return writes

    def put_back(self, objects: Mapping[tuple[str, int, str], int | None], uploads: Mapping[str, int | None]) -> None:
        """Writes `take_writes` gave that could not be stored: pending again, unless written since."""
        for key, value in objects.items():
            self._pending_objects.setdefault(key, value)
        for sha, media in uploads.items():
            self._pending_uploads.setdefault(sha, media)


@dataclass(frozen=True)
class Refusal:
    """A plan a kind refuses as a whole (a campaign over a publishing quota): an error in the
    playbook at ``source``, reported as its diagnostics are."""

    source: Position
    message: str
    hint: str | None = None


class KindHandler(ABC):
    """What one managed kind knows: how to read it, diff it, and carry a change out.

    Subclasses set ``kind`` and ``changes``; ``label`` comes from the registry of kinds."""

    kind: Kind
    #: The changes this kind's diff makes: action -> the paths it makes them on. A saved plan's
    #: change must match one (`apply.saved_plan`), so a change no kind makes is never applied.
    changes: ClassVar[Mapping[Action, re.Pattern[str]]] = {}
    #: The operations a repeat of which makes a second copy (creates the server does not
    #: deduplicate). One left in doubt (sent, never answered) holds its account's changes of
    #: this kind until ``recover`` finds it or it is too old to still take effect
    #: (``orchestrator.apply.doubt``); a repeat of any other operation is harmless.
    undeduplicated: ClassVar[frozenset[Op]] = frozenset()

    _memory: Memory | None = None

    @property
    def label(self) -> str:
        """The module's name as the API reference gives it (``Reactions Pro``)."""
        return kind_info(self.kind).label

    @property
    def memory(self) -> Memory:
        """What this kind remembers of the server objects it made (see `Memory`); the process's
        own unless the registry was given the state database's (`KindRegistry.remembering`)."""
        if self._memory is None:
            self._memory = ProcessMemory()
        return self._memory

    @memory.setter
    def memory(self, memory: Memory) -> None:
        self._memory = memory

    def resolve(self, desired: Any) -> Any:
        """``desired`` ready to diff: what it refers to outside the playbook read now (the
        planner calls this before ``read``). Raises `LookupError` with a message that names what
        cannot be read, never a secret; the planner makes it a problem of the account."""
        return desired

    @abstractmethod
    async def read(self, ctx: ReadContext, accounts: Sequence[Account], desired: Mapping[int, Any]) -> ReadResult:
        """Live state for ``accounts`` (those with a ``desired`` entry), reading only what is managed."""

    @abstractmethod
    def diff(self, account: Account, desired: Any, live: Live) -> list[Change]: ...

    @abstractmethod
    def operations(self, changes: Sequence[Change]) -> list[Operation]: ...

    @abstractmethod
    async def execute(self, client: SharingtoolsClient, op: Operation) -> None: ...

    async def execute_bulk(self, client: SharingtoolsClient, bulk: str, ops: Sequence[Operation]) -> set[int]:
        """Run coalesced operations; returns the account ids done (the rest fall back to
        ``execute`` one by one). Kinds without bulk forms never get here."""
        raise NotImplementedError(bulk)

    def refused(self, change: Change, live: Live) -> tuple[str, str] | None:
        """(reason, message) when the server refuses ``change`` for a reason of this kind's own
        (a published post cannot be edited): planned as blocked, never attempted. ``live`` is
        the account's state as read. By default nothing is refused."""
        return None

    def refusals(self, desired: DesiredState, live: Mapping[int, Live], changes: Sequence[Change]) -> list[Refusal]:
        """What makes this kind's part of a plan unacceptable as a whole (a campaign over a
        publishing quota), given the desired state, the live states read (account id -> state)
        and the changes diffed: errors in the playbook, so nothing is applied. By default none."""
        return []

    async def recover(self, client: SharingtoolsClient, op: Operation) -> bool:
        """Whether ``op`` already took effect. The executor asks before it sends ``op`` again
        after a failure that may have applied it (the client gave up on an answer that never
        came): a create the server does not deduplicate must be found, not made twice. For
        the other operations a repeat is harmless, so by default nothing is read."""
        return False


# -- helpers for diffs -------------------------------------------------------------------------
def same(a: Any, b: Any) -> bool:
    """Equality the way a person means it between YAML and JSON values: 3 == 3.0, but True != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return bool(a == b)


#: Each playbook position's text, made once: every account an entry applies to has changes of
#: the same few sources, which were one new string per change.
_WHERE: dict[Position, str] = {}


def where(value: Sourced[Any] | None) -> str | None:
    if value is None:
        return None
    text = _WHERE.get(value.source)
    if text is None:
        if len(_WHERE) >= 100_000:  # a bound for a long-lived process that loads playbooks anew
            _WHERE.clear()
        text = _WHERE[value.source] = str(value.source)
    return text


def change(account: Account, kind: Kind, action: Action | str, path: str, before: Any = None,
           after: Any = None, source: Sourced[Any] | str | None = None, ref: Any = None,
           window: str | None = None) -> Change:
    """A `Change` of ``account``; ``source`` is the sourced desired value (or its position as text);
    ``window``: the windowed entry it adds an item for, or takes one back for."""
    src = source if isinstance(source, str) or source is None else where(source)
    # "before" is the server's value: it may hold credentials someone set in the web panel.
    # Paths repeat across a fleet (``settings.likes_speed``, ``targets[hashtag:summer]``): one
    # string each, as the plan holds hundreds of thousands of changes.
    return Change(account.id, account.username, kind, Action(action), sys.intern(path), shown_live(path, before),
                  after, src, ref, window)
