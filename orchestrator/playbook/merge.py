"""Merging a playbook into desired state: what each account should look like, from every entry that selects it.

Precedence (the whole story, also in the README):

* Entries apply in order: files in the order given (a directory's files sorted by name), then
  entries top to bottom. A later entry overrides an earlier one **field by field**: a later
  ``settings: {likes_speed: 4}`` changes that field only; every other field keeps its value.
* Every value keeps the position that set it (`Sourced`, from the moment it was loaded: the
  models hold it, see `orchestrator.playbook.sourcing`), so plan can say which line asks.
* Targets (and first-comment schedules, and captions) are sets merged by union; a later item
  with the same identity replaces the earlier one. An entry with ``prune: true`` replaces the
  set gathered so far with its own list (last writer wins) and makes the result exact;
  entries after it add to that set again. ``prune`` itself is a field: the last value given wins.
* Leads: an item without ``task_name`` sets every task of the account and overrides what
  earlier entries said about single tasks; within one entry, named tasks beat the catch-all.
* Windows: an entry with ``when:`` takes part only while one of its windows is open at the
  instant the state is desired for (``at``); outside them it says nothing, so what it set goes
  back to what the entries that apply say. What it adds to an additive list (targets,
  first-comment schedules) and no entry that applies wants is a `Withdrawal`: the planner takes
  it back where the state database says the orchestrator added it for a window. While open, a
  target or schedule only windowed entries want is credited to the (last) one in ``added_by``.

Nothing here reads the API: `desired_state` takes the live account list as an argument.
"""

from __future__ import annotations

import hashlib
import random
import zoneinfo
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator.contract import (
    AccountDesired,
    CaptionsDesired,
    CommentScheduleDesired,
    CommentTarget,
    DesiredState,
    FirstCommentDesired,
    GoneAccount,
    Kind,
    KindDesired,
    LeadsDesired,
    MediaFile,
    Position,
    PostDesired,
    PostsDesired,
    ScheduleDesired,
    SecretRef,
    Sourced,
    Target,
    ToggleDesired,
    WindowEvent,
    Withdrawal,
)
from orchestrator.contract.kinds import INFO, Shape
from orchestrator.contract.accounts import Account, accounts_of
from orchestrator.contract.desired import Sharing
from orchestrator.playbook import spintax
from orchestrator.playbook.errors import Diagnostic, PlaybookError, closest, sort_diagnostics
from orchestrator.playbook.groups import resolve_groups, resolve_groups_lenient
from orchestrator.playbook.model import Entry, Playbook
from orchestrator.playbook.schema import (
    CommentSchedule,
    FirstCommentSpec,
    LeadsItem,
    PostSpec,
    ScheduleSpec,
    TargetSpec,
    post_shape_problem,
)
from orchestrator.playbook.values import POST_TYPES, LibraryCaption, MediaRef


def desired_state(playbook: Playbook, accounts: Iterable[Any], limit: Iterable[str] = (), *,
                  deferred: list[Diagnostic] | None = None, known: Iterable[str] = (),
                  at: datetime | None = None, resolved: Mapping[str, Sequence[Account]] | None = None,
                  only: Collection[int] | None = None) -> DesiredState:
    """Merge the playbook's entries into desired state per (account, kind), as desired at
    ``at`` (an aware datetime; None: now): entries whose windows are all closed then take no
    part, but for the `Withdrawal` of what they add (see the module docstring).

    ``accounts`` is the live account list (API items, objects with ``id`` and ``username``, or
    `Account`); ``limit``, group names or usernames, keeps only their accounts (see
    `limited_to`). Raises `PlaybookError` when an explicit account does not exist, when a
    first-comment schedule lacks its targets for some account, or for an unknown ``limit`` name.

    With ``deferred`` (the planner's way), errors in the playbook found here are appended to it
    instead, to be reported with those found later in one pass; accounts that are gone are kept
    in `DesiredState.gone` as problems of their own (``known``: usernames an earlier apply saw
    live, so never typos; see `resolve_groups_lenient`).

    ``resolved`` (the ``groups`` of a state worked out before from the same accounts) skips
    resolving the groups again, and ``only`` keeps these account ids: how a plan works out the
    state at another instant for the accounts a window changes, at fleet scale."""
    live = accounts_of(accounts)
    gone: list[GoneAccount] = []
    if resolved is not None:
        members = {name: list(found) for name, found in resolved.items()}
    elif deferred is None:
        members = resolve_groups(playbook.groups, live)
    else:
        members, gone, typos = resolve_groups_lenient(playbook.groups, live, known)
        deferred += typos
    at = (at or datetime.now(UTC)).astimezone(UTC)
    open_now = open_windows(playbook, at)
    builders: dict[int, dict[Kind, _Builder]] = {}
    for entry in playbook.entries:
        selected = sorted({a.id for name in entry.groups for a in members[name]
                           if only is None or a.id in only})
        windowed = entry.windows is not None
        applies = not windowed or entry.label in open_now
        for kind_key in entry.spec.kinds:
            kind = Kind(kind_key)
            make = _BUILDERS[kind]
            if not applies and not make.withdraws:
                continue  # a closed window's state, settings or switches: nothing to take back
            # What the entry says is read once; applying it per account is a few dict updates,
            # so thousands of accounts times dozens of entries stay cheap.
            said = make.read(entry, kind)
            if not applies and not make.adds(said):
                continue
            window = _Window(entry.label, entry.when_source) if windowed else None
            # What a closed window takes back is made once for all its accounts, like `said`.
            taken = None if applies or window is None else make.taken_back(said, window)
            for account_id in selected:
                per_account = builders.setdefault(account_id, {})
                builder = per_account.get(kind)
                if builder is None:
                    builder = per_account[kind] = make(kind)
                if taken is None:
                    builder.apply(said, window)
                else:
                    builder.closed(taken)
    # Each account's builders freed as it is frozen, and equal frozen values shared (`Sharing`):
    # at fleet scale the builders and one copy per account were most of the desired state's memory.
    share = Sharing()
    by_account = {a: {k: share(b.freeze(a, playbook)) for k, b in builders.pop(a).items()} for a in sorted(builders)}
    accounts_by_id = {a.id: a for a in live}
    try:
        _check_merged(by_account, accounts_by_id)
    except PlaybookError as exc:
        if deferred is None:
            raise
        deferred += exc.diagnostics
    state = DesiredState(
        accounts=accounts_by_id,
        groups={name: tuple(found) for name, found in members.items()},
        by_account=by_account,
        captions=_captions(playbook),
        policy=playbook.policy,
        gone=tuple(gone),
        at=at,
        open_windows=frozenset(open_now),
    )
    limit = list(limit)
    if not limit:
        return state
    try:
        return limited_to(state, limit)
    except PlaybookError as exc:
        if deferred is None:
            raise
        deferred += exc.diagnostics  # reported with the rest; nothing is planned for a bad name
        known_names = [n for n in limit if n in state.groups or
                       n.casefold() in {a.username.casefold() for a in state.accounts.values()}]
        return limited_to(state, known_names)


def limited_to(state: DesiredState, names: Iterable[str]) -> DesiredState:
    """Only the accounts of the given group names or usernames (``plan --limit``).

    The caption library belongs to no account, so a limited state leaves it out. Raises
    `PlaybookError` for a name that is neither a group nor a managed account's username."""
    by_username = {a.username.casefold(): a for a in state.accounts.values()}
    keep: set[int] = set()
    problems = []
    for name in names:
        if name in state.groups:
            keep.update(a.id for a in state.groups[name])
        elif name.casefold() in by_username:
            keep.add(by_username[name.casefold()].id)
        else:
            near = closest(name, [*state.groups, *(a.username for a in state.accounts.values())])
            problems.append(Diagnostic("--limit", 0, 0, f"`{name}` is neither a group nor an account",
                                       f"did you mean `{near}`?" if near else None))
    if problems:
        raise PlaybookError(problems)
    wanted = {n.casefold() for n in names}
    return replace(state, by_account={a: k for a, k in state.by_account.items() if a in keep}, captions=None,
                   fleet_size=state.managed,
                   gone=tuple(g for g in state.gone if g.group in names or str(g.ref).casefold() in wanted))


def open_windows(playbook: Playbook, at: datetime) -> set[str]:
    """The names of the windowed entries open at ``at``."""
    return {e.label for e in playbook.entries if e.windows is not None and e.windows.active(at)}


def window_states(playbook: Playbook, at: datetime) -> dict[str, bool]:
    """Every windowed entry's name and whether it is open at ``at`` (aware), in entry order."""
    return {e.label: e.windows.active(at) for e in playbook.entries if e.windows is not None}


def window_events(playbook: Playbook, after: datetime, per_entry: int = 2) -> list[WindowEvent]:
    """The next ``per_entry`` openings and closings of each windowed entry after ``after``
    (aware), in time order."""
    events = []
    for entry in playbook.entries:
        if entry.windows is None:
            continue
        for at, opens in entry.windows.changes(after, per_entry):
            events.append(WindowEvent(at, entry.label, opens, entry.when_source, entry.windows.zone))
    return sorted(events, key=lambda e: (e.at, e.source))


def next_window_event(playbook: Playbook, after: datetime) -> datetime | None:
    """The first instant after ``after`` at which some windowed entry opens or closes."""
    found = [c for e in playbook.entries if e.windows is not None if (c := e.windows.next_change(after)) is not None]
    return min(found, default=None)


def target_of(spec: TargetSpec) -> Target:
    """The contract's `Target` for a validated playbook target."""
    return Target(spec.type, spec.value or spec.type, spec.id, spec.key)


# -- merging ----------------------------------------------------------------------------------
#
# Each builder accumulates one (account, kind). `read` turns an entry into what it says for
# that kind, with positions, once; `apply` merges that into the builder, once per account.

@dataclass(frozen=True)
class _Window:
    """The windowed entry a value comes from: its name and its ``when:``."""

    name: str
    source: Position


class _Builder:
    #: Whether what a closed window adds is taken back (additive lists), so a closed entry is read.
    withdraws = False

    def __init__(self, kind: Kind) -> None:
        self.kind = kind

    @classmethod
    def read(cls, entry: Entry, kind: Kind) -> Any:
        raise NotImplementedError

    def apply(self, said: Any, window: _Window | None) -> None:
        """Merge what an entry that applies says (``window``: the open window it applies in)."""
        raise NotImplementedError

    @classmethod
    def taken_back(cls, said: Any, window: _Window) -> Any:
        """What an entry whose window is closed would add, ready for `closed` (only when `withdraws`)."""
        raise NotImplementedError

    def closed(self, taken: Any) -> None:
        """Note what `taken_back` made, for one account."""
        raise NotImplementedError

    @classmethod
    def adds(cls, said: Any) -> bool:
        """Whether ``said`` adds to an additive list (what a closed window's entry is read for)."""
        return False

    def freeze(self, account_id: int, playbook: Playbook) -> KindDesired:
        """The merged desired state of account ``account_id`` (``playbook``: what a kind's
        values refer to elsewhere in it, such as the caption library)."""
        raise NotImplementedError


@dataclass(frozen=True)
class _ScheduleSays:
    state: Sourced[str] | None
    settings: dict[str, Sourced[Any]]
    prune: Sourced[bool] | None
    targets: dict[tuple[str, str], Sourced[Target]] | None
    reset: bool


class _ScheduleBuilder(_Builder):
    withdraws = True

    def __init__(self, kind: Kind) -> None:
        super().__init__(kind)
        self.state: Sourced[str] | None = None
        self.settings: dict[str, Sourced[Any]] = {}
        self.targets: dict[tuple[str, str], Sourced[Target]] | None = None
        self.prune: Sourced[bool] | None = None
        # What windows add and take back: made on first use (a builder per account and kind, at
        # fleet scale; most never see a window). `timeless` keeps the target lists of entries
        # without `when:` as given, not copied, for the same reason.
        self.added_by: dict[tuple[str, str], str] | None = None  # targets an open window wants
        self.timeless: list[Mapping[tuple[str, str], Any]] | None = None
        self.withdrawn: dict[tuple[str, str], Withdrawal[Target]] | None = None

    @classmethod
    def read(cls, entry: Entry, kind: Kind) -> _ScheduleSays:
        spec: ScheduleSpec = getattr(entry.spec, kind.value)
        settings = getattr(spec, "settings", None)
        return _ScheduleSays(
            state=spec.state,
            settings={} if settings is None else settings.sourced(),
            prune=spec.prune,
            targets=None if spec.targets is None else
            {t.key: Sourced(target_of(t), t.source) for t in spec.targets},
            reset=_set(spec.prune),
        )

    def apply(self, said: _ScheduleSays, window: _Window | None) -> None:
        if said.state is not None:
            self.state = said.state
        self.settings.update(said.settings)
        if said.prune is not None:
            self.prune = said.prune
        if said.targets is not None:
            if said.reset or self.targets is None:
                self.targets = dict(said.targets)
                self.added_by = self.timeless = None
            else:
                self.targets.update(said.targets)
            if window is None:
                self.timeless = [*(self.timeless or ()), said.targets]
            else:
                self.added_by = {**(self.added_by or {}), **dict.fromkeys(said.targets, window.name)}

    @classmethod
    def adds(cls, said: _ScheduleSays) -> bool:
        return bool(said.targets)

    @classmethod
    def taken_back(cls, said: _ScheduleSays, window: _Window) -> dict[tuple[str, str], Withdrawal[Target]]:
        return {key: Withdrawal(target.value, window.name, window.source)
                for key, target in (said.targets or {}).items()}

    def closed(self, taken: dict[tuple[str, str], Withdrawal[Target]]) -> None:
        self.withdrawn = {**self.withdrawn, **taken} if self.withdrawn else taken  # `taken` is never written to

    def freeze(self, account_id: int, playbook: Playbook) -> ScheduleDesired:
        targets = None if self.targets is None else tuple(self.targets.values())
        wanted = self.targets or {}
        timeless = self.timeless or ()
        added_by = {k: w for k, w in self.added_by.items()
                    if k in wanted and not any(k in listed for listed in timeless)} if self.added_by else {}
        # `prune: true` already removes every unlisted target: nothing is left to take back.
        exact = self.prune is not None and self.prune.value
        withdraw = () if exact or not self.withdrawn else tuple(
            w for k, w in self.withdrawn.items() if k not in wanted)
        return ScheduleDesired(self.kind, self.state, dict(self.settings), targets, self.prune,
                               added_by=added_by, withdraw=withdraw)


class _ToggleBuilder(_Builder):
    state: Sourced[str] | None = None

    @classmethod
    def read(cls, entry: Entry, kind: Kind) -> Sourced[str]:
        state: Sourced[str] = getattr(entry.spec, kind.value).state
        return state

    def apply(self, said: Sourced[str], window: _Window | None) -> None:
        self.state = said

    def freeze(self, account_id: int, playbook: Playbook) -> ToggleDesired:
        assert self.state is not None
        return ToggleDesired(self.kind, self.state)


class _LeadsBuilder(_Builder):
    def __init__(self, kind: Kind) -> None:
        super().__init__(kind)
        self.every: Sourced[str] | None = None
        self.tasks: dict[str, Sourced[str]] = {}

    @classmethod
    def read(cls, entry: Entry, kind: Kind) -> list[tuple[str | None, Sourced[str]]]:
        items: list[LeadsItem] = list(entry.spec.leads_items)
        # Within one entry the catch-all goes first, so a named task in the same entry beats it.
        items.sort(key=lambda item: item.task_name is not None)
        return [(item.task_name, item.state) for item in items]

    def apply(self, said: list[tuple[str | None, Sourced[str]]], window: _Window | None) -> None:
        for task_name, state in said:
            if task_name is None:
                self.every = state
                self.tasks.clear()
            else:
                self.tasks[task_name] = state

    def freeze(self, account_id: int, playbook: Playbook) -> LeadsDesired:
        return LeadsDesired(self.every, dict(self.tasks))


@dataclass(frozen=True)
class _CommentScheduleSays:
    key: str
    name: str | None
    source: Position
    fields: dict[str, Sourced[Any]]


@dataclass(frozen=True)
class _FirstCommentSays:
    prune: Sourced[bool] | None
    reset: bool
    schedules: list[_CommentScheduleSays]


class _FirstCommentBuilder(_Builder):
    withdraws = True

    def __init__(self, kind: Kind) -> None:
        super().__init__(kind)
        # key -> (name, first position, fields so far)
        self.schedules: dict[str, tuple[str | None, Position, dict[str, Sourced[Any]]]] = {}
        self.prune: Sourced[bool] | None = None
        self.added_by: dict[str, str] = {}
        self.timeless: list[Mapping[str, Any]] = []  # as for targets: the lists, not copies
        # What closed windows would add, merged the same way: key -> (name, position, fields, window)
        self.withdrawn: dict[str, tuple[str | None, Position, dict[str, Sourced[Any]], _Window]] = {}

    @classmethod
    def read(cls, entry: Entry, kind: Kind) -> _FirstCommentSays:
        spec: FirstCommentSpec = entry.spec.of(kind)
        return _FirstCommentSays(
            prune=spec.prune,
            reset=_set(spec.prune),
            schedules=[cls._schedule(schedule) for schedule in spec.schedules],
        )

    @staticmethod
    def _schedule(spec: CommentSchedule) -> _CommentScheduleSays:
        fields: dict[str, Sourced[Any]] = {}
        if spec.targets is not None:
            targets = tuple(CommentTarget(t.username, t.user_pk) for t in spec.targets.value)
            fields["targets"] = Sourced(targets, spec.targets.source)
        if spec.comments is not None:
            fields["comments"] = Sourced(tuple(spec.comments.value), spec.comments.source)
        for name in ("mode", "state"):
            if getattr(spec, name) is not None:
                fields[name] = getattr(spec, name)
        return _CommentScheduleSays(spec.key, spec.name, spec.source, fields)

    def apply(self, said: _FirstCommentSays, window: _Window | None) -> None:
        if said.prune is not None:
            self.prune = said.prune
        listed = {}
        for schedule in said.schedules:
            name, source, fields = self.schedules.get(schedule.key) or (schedule.name, schedule.source, {})
            listed[schedule.key] = (name, source, {**fields, **schedule.fields})
        if said.reset:
            self.schedules = listed
            self.added_by, self.timeless = {}, []
        else:
            self.schedules.update(listed)
        if window is None:
            self.timeless.append(listed)
        else:
            self.added_by.update(dict.fromkeys(listed, window.name))

    @classmethod
    def adds(cls, said: _FirstCommentSays) -> bool:
        return bool(said.schedules)

    @classmethod
    def taken_back(cls, said: _FirstCommentSays, window: _Window) -> tuple[_FirstCommentSays, _Window]:
        return said, window

    def closed(self, taken: tuple[_FirstCommentSays, _Window]) -> None:
        said, window = taken
        for schedule in said.schedules:
            name, source, fields, _ = self.withdrawn.get(schedule.key) or (schedule.name, schedule.source, {}, window)
            self.withdrawn[schedule.key] = (name, source, {**fields, **schedule.fields}, window)

    def freeze(self, account_id: int, playbook: Playbook) -> FirstCommentDesired:
        exact = self.prune is not None and self.prune.value
        # A schedule whose targets no closed entry gives cannot be found live: nothing to take back.
        withdraw = () if exact else tuple(
            Withdrawal(CommentScheduleDesired(key, name, source, **fields), window.name, window.source)
            for key, (name, source, fields, window) in self.withdrawn.items()
            if key not in self.schedules and "targets" in fields)
        return FirstCommentDesired(
            tuple(CommentScheduleDesired(key, name, source, **fields)
                  for key, (name, source, fields) in self.schedules.items()),
            self.prune,
            added_by={k: w for k, w in self.added_by.items()
                      if k in self.schedules and not any(k in listed for listed in self.timeless)},
            withdraw=withdraw,
        )


class _AccountBuilder(_Builder):
    proxy: Sourced[str | SecretRef] | None = None
    password: Sourced[SecretRef] | None = None

    @classmethod
    def read(cls, entry: Entry, kind: Kind) -> tuple[Sourced[Any] | None, Sourced[Any] | None]:
        spec = entry.spec.of(kind)
        assert spec is not None
        return spec.proxy, spec.password

    def apply(self, said: tuple[Sourced[Any] | None, Sourced[Any] | None], window: _Window | None) -> None:
        proxy, password = said
        if proxy is not None:
            self.proxy = proxy
        if password is not None:
            self.password = password

    def freeze(self, account_id: int, playbook: Playbook) -> AccountDesired:
        return AccountDesired(self.proxy, self.password)


@dataclass(frozen=True)
class _PostSays:
    name: str
    source: Position
    fields: dict[str, Sourced[Any]]


@dataclass(frozen=True)
class _PostsSays:
    source: Position  # the `posts:` key
    posts: list[_PostSays]


_POST_FIELDS = ("type", "media", "caption", "at", "timezone", "stagger")


class _PostsBuilder(_Builder):
    """A content calendar: posts by name, the union over entries, each merged field by field."""

    def __init__(self, kind: Kind) -> None:
        super().__init__(kind)
        self.posts: dict[str, tuple[Position, dict[str, Sourced[Any]]]] = {}
        self.source: Position | None = None

    @classmethod
    def read(cls, entry: Entry, kind: Kind) -> _PostsSays:
        specs: list[PostSpec] = entry.spec.of(kind)
        return _PostsSays(entry.locator.key_at(kind.value), [
            _PostSays(p.name, p.source, {f: getattr(p, f) for f in _POST_FIELDS if getattr(p, f) is not None})
            for p in specs])

    def apply(self, said: _PostsSays, window: _Window | None) -> None:
        # A windowed entry's posts are desired while it is open; a closed window takes nothing
        # back of them (`adds` is False): a scheduled post is a one-off, not a standing list.
        self.source = said.source
        for post in said.posts:
            source, fields = self.posts.get(post.name) or (post.source, {})
            self.posts[post.name] = (source, {**fields, **post.fields})

    def freeze(self, account_id: int, playbook: Playbook) -> PostsDesired:
        assert self.source is not None
        posts: list[PostDesired] = []
        unfinished: list[tuple[str, Position, str]] = []
        for name, (source, fields) in self.posts.items():
            missing = [f"`{f}`" for f in ("media", "at") if f not in fields]
            if missing:
                unfinished.append((name, source, f"has no {' or '.join(missing)}"))
                continue
            post = _post_for(account_id, name, source, fields, playbook)
            if isinstance(post, str):
                unfinished.append((name, source, post))
            else:
                posts.append(post)
        return PostsDesired(tuple(posts), self.source, tuple(unfinished))


def _seed(purpose: str, name: str, account_id: int) -> int:
    """A number derived from a post's name and an account, the same in every plan."""
    digest = hashlib.sha256(f"{purpose}\0{name}\0{account_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def post_slot(at: datetime, timezone: str | None, stagger: int, name: str, account_id: int) -> datetime:
    """When ``account_id``'s copy of post ``name`` publishes, in UTC: ``at`` (in ``timezone``
    unless it carries its offset) plus an offset in ``[0, stagger)`` seconds derived from the
    post's name and the account. Derived from both and nothing else, so two plans agree and an
    account keeps its slot when others join the group."""
    if at.tzinfo is None:  # UTC needs no time zone database
        at = at.replace(tzinfo=UTC if timezone in (None, "UTC") else zoneinfo.ZoneInfo(timezone))
    offset = _seed("slot", name, account_id) % stagger if stagger > 0 else 0
    return at.astimezone(UTC) + timedelta(seconds=offset)


def _post_for(account_id: int, name: str, source: Position, fields: Mapping[str, Sourced[Any]],
              playbook: Playbook) -> PostDesired | str:
    """One account's copy of a post, or what is wrong with the merged post."""
    media_field: Sourced[tuple[MediaRef, ...]] = fields["media"]
    files: list[MediaFile] = []
    for ref in media_field.value:
        if ref.path is None:
            files.append(MediaFile(str(ref), "", media_id=ref.media_id))
            continue
        local = playbook.media.get((media_field.source.file, ref.path))
        if local is None:  # a file that failed its check: reported by validation already
            return f"cannot use media file `{ref.path}`"
        files.append(MediaFile(ref.path, local.kind, local.path, local.sha256, local.size))
    type_field: Sourced[str] | None = fields.get("type")
    kinds: list[str | None] = [f.kind or None for f in files]
    if type_field is not None:
        problem = post_shape_problem(type_field.value, kinds)
        if problem:
            return problem
        api_type: Sourced[str] | None = Sourced(POST_TYPES[type_field.value], type_field.source)
    elif all(kinds):  # as the server infers it from the files
        inferred = "album" if len(files) > 1 else ("video" if kinds[0] == "video" else "photo")
        api_type = Sourced(inferred, media_field.source)
    else:
        api_type = None  # library files of unknown type: the server's pick
    caption_field = fields.get("caption")
    template, caption_source = "", source
    if caption_field is not None:
        caption_source = caption_field.source
        if isinstance(caption_field.value, LibraryCaption):
            text = playbook.caption_library.get(caption_field.value.title)
            if text is None:
                return f"has no caption `{caption_field.value.title}` in the caption library"
            template = text.value
        else:
            template = caption_field.value
    caption = spintax.spin(template, random.Random(_seed("caption", name, account_id))).strip()
    at_field: Sourced[datetime] = fields["at"]
    zone = fields.get("timezone")
    stagger = fields.get("stagger")
    slot = post_slot(at_field.value, zone.value if zone else None, stagger.value if stagger else 0, name,
                     account_id)
    return PostDesired(name, source, api_type, Sourced(caption, caption_source),
                       Sourced(tuple(files), media_field.source), Sourced(slot, at_field.source))


#: How each shape of desired state is merged, entry after entry (a kind's shape: `contract.kinds`).
_BUILDERS_BY_SHAPE: dict[Shape, type[_Builder]] = {
    Shape.ACCOUNT: _AccountBuilder,
    Shape.SCHEDULE: _ScheduleBuilder,
    Shape.TOGGLE: _ToggleBuilder,
    Shape.TASKS: _LeadsBuilder,
    Shape.COMMENT_SCHEDULES: _FirstCommentBuilder,
    Shape.POSTS: _PostsBuilder,
}
_BUILDERS: dict[Kind, type[_Builder]] = {k: _BUILDERS_BY_SHAPE[i.shape] for k, i in INFO.items()
                                         if i.shape in _BUILDERS_BY_SHAPE}


def _captions(playbook: Playbook) -> CaptionsDesired | None:
    if not playbook.captions:
        return None
    library: dict[str, Sourced[str]] = {}
    prune: Sourced[bool] | None = None
    for block in playbook.captions:
        listed = dict(block.spec.library)
        if block.spec.prune is not None:
            prune = block.spec.prune
        if _set(block.spec.prune):
            library = listed
        else:
            library.update(listed)
    return CaptionsDesired(library, prune)


def _set(flag: Sourced[bool] | None) -> bool:
    """Whether an optional flag (``prune``) is given and true."""
    return flag is not None and flag.value


def _check_merged(by_account: Mapping[int, Mapping[Kind, KindDesired]], accounts: Mapping[int, Account]) -> None:
    """What only the merged state shows is wrong: first-comment schedules, posts."""
    problems: list[Diagnostic] = []
    for check in (_check_comment_schedules, _check_posts):
        try:
            check(by_account, accounts)
        except PlaybookError as exc:
            problems += exc.diagnostics
    if problems:
        raise PlaybookError(sort_diagnostics(problems))


def _check_posts(by_account: Mapping[int, Mapping[Kind, KindDesired]], accounts: Mapping[int, Account]) -> None:
    """Every post complete for every account it selects (fields from several entries merge)."""
    found: dict[tuple[Position, str, str], list[str]] = {}
    for account_id, kinds in by_account.items():
        for desired in kinds.values():
            if isinstance(desired, PostsDesired):
                for name, position, problem in desired.unfinished:
                    found.setdefault((position, name, problem), []).append(accounts[account_id].username)
    problems = []
    for (position, name, problem), usernames in found.items():
        shown = ", ".join(usernames[:5]) + (f" and {len(usernames) - 5} more" if len(usernames) > 5 else "")
        problems.append(Diagnostic.at(position, f"post `{name}` {problem} for {shown}",
                                      "the entries that give the rest of the post do not select these accounts"))
    if problems:
        raise PlaybookError(sort_diagnostics(problems))


def _check_comment_schedules(by_account: Mapping[int, Mapping[Kind, KindDesired]],
                             accounts: Mapping[int, Account]) -> None:
    """Every merged schedule has targets (they identify it live) and no two share a target set."""
    no_targets: dict[Position, tuple[str, list[str]]] = {}
    problems: list[Diagnostic] = []
    for account_id, kinds in by_account.items():
        desired = kinds.get(Kind.FIRST_COMMENT)
        if not isinstance(desired, FirstCommentDesired):
            continue
        seen: dict[frozenset[str], CommentScheduleDesired] = {}
        for schedule in desired.schedules:
            if schedule.targets is None:
                no_targets.setdefault(schedule.source, (schedule.label, []))[1].append(accounts[account_id].username)
                continue
            other = seen.get(schedule.match_key)
            if other is not None:
                problems.append(Diagnostic.at(
                    schedule.source,
                    f"first-comment schedules `{other.label}` and `{schedule.label}` watch the same targets "
                    f"for {accounts[account_id].username}",
                    "a live schedule is recognised by its targets: merge the two, or change one's targets"))
            seen[schedule.match_key] = schedule
    for position, (label, usernames) in no_targets.items():
        shown = ", ".join(usernames[:5]) + (f" and {len(usernames) - 5} more" if len(usernames) > 5 else "")
        problems.append(Diagnostic.at(
            position, f"first-comment schedule `{label}` has no targets for {shown}",
            "the entries that give its targets do not select these accounts"))
    if problems:
        raise PlaybookError(sort_diagnostics(problems))
