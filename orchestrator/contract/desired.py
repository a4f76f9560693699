"""Desired state: what each account should look like, per kind, with the source of every value.

These types are the contract between the playbook and the engine: `orchestrator.playbook`
produces a `DesiredState` (merging entries by precedence, see ``playbook/merge.py``), and the
planner, the kinds and the safety policy consume it. They hold no parsing and do no I/O.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

from orchestrator.contract.accounts import Account, GoneAccount
from orchestrator.contract.kinds import ACCOUNT_KINDS, Kind
from orchestrator.contract.limits import Policy
from orchestrator.contract.secrets import ResolvedSecret, SecretRef
from orchestrator.contract.sourced import Position, Sourced
from orchestrator.contract.windows import Withdrawal

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Target:
    """A Reactions Pro / Repost Pro target. ``key`` is its identity: (type, value), with
    hashtags and usernames compared case-insensitively."""

    type: str
    value: str
    id: str | None = None
    key: tuple[str, str] = field(default=("", ""), repr=False)

    def as_api(self) -> dict[str, str]:
        """The body of ``POST .../targets``: for types without an id, the id is the value."""
        return {"type": self.type, "value": self.value, "id": self.id or self.value}

    def __str__(self) -> str:
        return f"{self.type}:{self.value}" + (f" (id {self.id})" if self.id else "")


@dataclass(frozen=True, slots=True)
class ScheduleDesired:
    """Reactions Pro or Repost Pro for one account.

    ``settings`` holds only the fields the playbook names. ``targets`` is None when no entry
    names targets (they are not managed); otherwise the desired set, additive unless ``exact``.
    ``added_by``: target key -> the windowed entry that wants it, for targets only windowed
    entries (open now) want; ``withdraw``: targets of closed windows no entry wants now.
    """

    kind: Kind
    state: Sourced[str] | None = None
    settings: Mapping[str, Sourced[Any]] = field(default_factory=dict)
    targets: tuple[Sourced[Target], ...] | None = None
    prune: Sourced[bool] | None = None
    added_by: Mapping[tuple[str, str], str] = field(default_factory=dict)
    withdraw: tuple[Withdrawal[Target], ...] = ()

    @property
    def exact(self) -> bool:
        """Whether targets not listed are removed."""
        return self.prune is not None and self.prune.value


@dataclass(frozen=True, slots=True)
class ToggleDesired:
    """Welcome DM or AI-DM for one account: on or off."""

    kind: Kind
    state: Sourced[str]


@dataclass(frozen=True, slots=True)
class LeadsDesired:
    """Leads Finder for one account: a state for every task, and/or per ``task_name``."""

    every: Sourced[str] | None = None
    tasks: Mapping[str, Sourced[str]] = field(default_factory=dict)
    kind: Kind = Kind.LEADS

    def state_for(self, task_name: str | None) -> Sourced[str] | None:
        """The desired state of the live schedule called ``task_name`` (None: not managed)."""
        if task_name is not None and task_name in self.tasks:
            return self.tasks[task_name]
        return self.every


@dataclass(frozen=True, slots=True)
class CommentTarget:
    """An account a first-comment schedule watches."""

    username: str
    user_pk: str | None = None

    def as_api(self) -> dict[str, str | None]:
        return {"username": self.username, "user_pk": self.user_pk}


@dataclass(frozen=True, slots=True)
class CommentScheduleDesired:
    """One first-comment schedule of one account.

    ``match_key`` (the set of target usernames, lower-cased) is how a live schedule is
    recognised: the API has no name field. Fields that are None are not managed; a schedule
    that does not exist live can only be created when ``comments`` is given.
    """

    key: str
    name: str | None
    source: Position
    targets: Sourced[tuple[CommentTarget, ...]] | None = None
    comments: Sourced[tuple[str, ...]] | None = None
    mode: Sourced[str] | None = None
    state: Sourced[str] | None = None

    @property
    def match_key(self) -> frozenset[str]:
        assert self.targets is not None, "checked by desired_state"
        return frozenset(t.username.casefold() for t in self.targets.value)

    @property
    def label(self) -> str:
        """``brands`` or ``[adidas, nike]`` for messages and plans."""
        if self.name is not None:
            return self.name
        return "[" + ", ".join(sorted(self.match_key)) + "]"


@dataclass(frozen=True, slots=True)
class FirstCommentDesired:
    """First Comment for one account: the schedules named, exact when ``prune`` is true.
    ``added_by`` and ``withdraw`` as in `ScheduleDesired`, by schedule key."""

    schedules: tuple[CommentScheduleDesired, ...] = ()
    prune: Sourced[bool] | None = None
    kind: Kind = Kind.FIRST_COMMENT
    added_by: Mapping[str, str] = field(default_factory=dict)
    withdraw: tuple[Withdrawal[CommentScheduleDesired], ...] = ()

    @property
    def exact(self) -> bool:
        return self.prune is not None and self.prune.value


@dataclass(frozen=True, slots=True)
class AccountDesired:
    """Account-level settings: the proxy (a proxy, ``auto``, or a secret reference).

    A `SecretRef` proxy is what the playbook says; the planner has it resolved into a
    `ResolvedSecret` (``KindHandler.resolve``) before the diff sees it."""

    proxy: Sourced[str | SecretRef | ResolvedSecret] | None = None
    password: Sourced[SecretRef] | None = None
    kind: Kind = Kind.ACCOUNT


@dataclass(frozen=True)
class CaptionsDesired:
    """The caption library of the API key's user: caption text by title."""

    captions: Mapping[str, Sourced[str]] = field(default_factory=dict)
    prune: Sourced[bool] | None = None

    @property
    def exact(self) -> bool:
        return self.prune is not None and self.prune.value


#: The longest caption a post may have: Instagram's 2,200 characters less what the posts kind
#: appends to recognise its posts on the server (`CAPTION_RESERVED`: the mark, see
#: ``api/resources/posts.py``, whose length is checked equal to it by ``kinds/posts``).
CAPTION_RESERVED = 10
CAPTION_MAX = 2200 - CAPTION_RESERVED


@dataclass(frozen=True)
class MediaFile:
    """One file of a post: a file beside the playbook, uploaded once per content (``sha256``),
    or a file already in the user's media library (``media_id``: what ``import`` writes).

    ``written`` is how the playbook names it (``media/teaser.jpg``, ``{id: 42}``), which plans
    show; ``path`` is where the file was read (absolute)."""

    written: str
    kind: str = "image"  # image | video, from the file's type
    path: str | None = None
    sha256: str | None = None
    size: int = 0
    media_id: int | None = None

    @property
    def local(self) -> bool:
        """Whether this is a file beside the playbook (uploaded by apply), not a library id."""
        return self.media_id is None


@dataclass(frozen=True, slots=True)
class PostDesired:
    """One post of one account, worked out for that account: its caption rendered (spintax
    spun with a seed of the post's name and the account, so every plan renders the same) and
    its time staggered (``at`` is the account's own slot, in UTC).

    ``name`` is the post's identity in the playbook; see ``kinds/posts`` for how a post on the
    server is recognised as this one."""

    name: str
    source: Position
    type: Sourced[str] | None  # the API's type (photo | video | album | reels | story); None: the server's pick
    caption: Sourced[str]
    media: Sourced[tuple[MediaFile, ...]]
    at: Sourced[datetime]


@dataclass(frozen=True, slots=True)
class PostsDesired:
    """Posts for one account: exactly these (posts the playbook made and no longer lists are
    deleted while they are not published). ``source``: the last ``posts:`` that selects it."""

    posts: tuple[PostDesired, ...]
    source: Position
    #: Posts this account's entries leave incomplete: (name, where, what is wrong); an error
    #: in the playbook (the entries giving a field do not select this account), not planned.
    unfinished: tuple[tuple[str, Position, str], ...] = ()
    kind: Kind = Kind.POSTS

    def named(self, name: str) -> PostDesired | None:
        return next((p for p in self.posts if p.name == name), None)


KindDesired = ScheduleDesired | ToggleDesired | LeadsDesired | FirstCommentDesired | AccountDesired | PostsDesired


@dataclass(frozen=True)
class DesiredState:
    """What the playbook asks for, per account and kind, with the source of every value."""

    accounts: Mapping[int, Account]
    groups: Mapping[str, tuple[Account, ...]]
    by_account: Mapping[int, Mapping[Kind, KindDesired]]
    captions: CaptionsDesired | None = None
    policy: Policy = field(default_factory=Policy)
    #: Accounts groups name that no longer exist: per-account problems, not playbook errors.
    gone: tuple[GoneAccount, ...] = ()
    #: How many accounts the whole playbook manages, kept when the state is limited
    #: (``--limit``) so that percentage limits stay relative to the fleet (0: ``by_account``'s).
    fleet_size: int = 0
    #: The instant (aware, UTC) entry windows were evaluated at: what this state is desired for
    #: (not part of what is desired: two states that ask the same are equal whenever computed).
    at: datetime | None = field(default=None, compare=False)
    #: The windowed entries open at ``at``, by name.
    open_windows: frozenset[str] = frozenset()

    @property
    def managed(self) -> int:
        """How many accounts the playbook manages, before any ``--limit``."""
        return self.fleet_size or len(self.by_account)

    def get(self, account_id: int, kind: Kind | str) -> KindDesired | None:
        """The desired state of ``kind`` for one account, or None when not managed."""
        return self.by_account.get(account_id, {}).get(Kind(kind))

    def items(self) -> Iterator[tuple[Account, Kind, KindDesired]]:
        """(account, kind, desired) for everything managed: by account id, then kind order."""
        for account_id in sorted(self.by_account):
            kinds = self.by_account[account_id]
            for kind in ACCOUNT_KINDS:
                if kind in kinds:
                    yield self.accounts[account_id], kind, kinds[kind]

    def of_kind(self, kind: Kind | str) -> dict[int, KindDesired]:
        """Account id -> desired state, for the accounts where ``kind`` is managed."""
        kind = Kind(kind)
        return {a: kinds[kind] for a, kinds in sorted(self.by_account.items()) if kind in kinds}

    def kinds(self) -> frozenset[Kind]:
        """Every kind the playbook manages (what plan needs to read)."""
        found = {kind for kinds in self.by_account.values() for kind in kinds}
        if self.captions is not None:
            found.add(Kind.CAPTIONS)
        return frozenset(found)


def _identity(value: Any) -> Any:
    """What tells ``value`` apart inside a frozen desired value: a plain scalar itself; a
    tuple's or a dict's parts by object identity (the merge hands every account of an entry
    the same `Sourced` objects); anything else its own identity."""
    if value is None or isinstance(value, (str, int, float)):  # bool and the enums are among these
        return value
    if isinstance(value, tuple):
        return ("tuple", *map(id, value))
    if isinstance(value, dict):
        return ("dict", *((k, id(v)) for k, v in value.items()))
    return id(value)


class Sharing:
    """One object for equal per-account desired values (accounts of the same entries).

    A fleet's desired state was one `ScheduleDesired` (with its own settings dict, targets
    tuple, and so on) per account and kind, the same for thousands of accounts: 1.3 KB an
    account. The values are frozen, and which account they are for is never part of them, so
    the accounts can share them. Two values are the same when their fields are the same
    objects (or equal scalars): objects the first holder keeps alive, so an identity seen in a
    key is never reused by another object while the table holds it."""

    def __init__(self) -> None:
        self._seen: dict[tuple[Any, ...], Any] = {}

    def __call__(self, value: _T) -> _T:
        if not dataclasses.is_dataclass(value) or isinstance(value, type):
            return value
        key = (type(value), *(_identity(getattr(value, f.name)) for f in dataclasses.fields(value)))
        return cast(_T, self._seen.setdefault(key, value))
