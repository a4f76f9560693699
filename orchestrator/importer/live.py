"""Reading what an installation runs today, for ``import``: every managed kind, as the
playbook would write it.

Each account's state of each kind becomes a *fragment*: the exact value an entry would give
under that kind (``reactions: {state, settings, targets}``, ``leads: [...]``...), checked
against the playbook schema item by item. What the playbook format cannot say (a task
caught between running and stopped, two first-comment schedules watching the same accounts,
a setting with no value) is left out of its fragment and explained in a note, so that the
imported playbook is valid and its plan is empty.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
from pydantic import BaseModel, TypeAdapter, ValidationError

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import ModuleNotEnabled, ModuleNotInstalled, NotFound
from orchestrator.api.resources.posts import Post, read_caption
from orchestrator.contract import Kind, Shape
from orchestrator.contract.kinds import info
from orchestrator.playbook import spintax
from orchestrator.playbook.schema import (
    CommentSchedule,
    PostSpec,
    ReactionsSettings,
    ReactionsTarget,
    RepostSettings,
    RepostTarget,
)
from orchestrator.playbook.positions import NodeMap
from orchestrator.playbook.secret_refs import PROXY_CREDENTIALS, PROXY_KEYS, SECRET_KEY
from orchestrator.contract.target_types import TARGET_TYPES, ValueKind
from orchestrator.api.fanout import each

#: Every kind import can write, in the order the README lists them.
IMPORT_KINDS: tuple[Kind, ...] = tuple(Kind)

_SETTINGS: dict[Kind, TypeAdapter[Any]] = {Kind.REACTIONS: TypeAdapter(ReactionsSettings),
                                          Kind.REPOST: TypeAdapter(RepostSettings)}
_TARGETS: dict[Kind, type[BaseModel]] = {Kind.REACTIONS: ReactionsTarget, Kind.REPOST: RepostTarget}


@dataclass(frozen=True)
class LiveAccount:
    id: int
    username: str


@dataclass
class LiveFleet:
    """What import read: the accounts (all of them: groups are checked against every one),
    the fragments per account and kind, the caption library, and notes on what was left out."""

    accounts: list[LiveAccount]
    fragments: dict[int, dict[Kind, Any]] = field(default_factory=dict)
    captions: dict[str, str] | None = None
    noted: dict[str, list[str]] = field(default_factory=dict)  # message -> usernames it concerns

    def note(self, message: str, username: str | None = None) -> None:
        self.noted.setdefault(message, [])
        if username is not None:
            self.noted[message].append(username)

    @property
    def notes(self) -> list[str]:
        """One line per kind of problem, naming a few of the accounts it concerns."""
        out = []
        for message, usernames in sorted(self.noted.items()):
            names = sorted(usernames, key=str.casefold)
            who = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
            out.append(f"{who} · {message}" if names else message)
        return out


async def read_fleet(client: SharingtoolsClient, kinds: Iterable[Kind], selected: Sequence[LiveAccount] | None,
                     accounts: Sequence[LiveAccount], *, exact_proxies: bool = False,
                     proxies: Mapping[int, str | None] | None = None) -> LiveFleet:
    """Read every kind in ``kinds`` for the ``selected`` accounts (all when None), concurrently.

    ``proxies`` is each account's proxy from the account list the caller read. A kind the
    user's plan or the server lacks is noted and skipped, not fatal."""
    fleet = LiveFleet(list(accounts))
    wanted = list(selected if selected is not None else accounts)
    kinds = [k for k in IMPORT_KINDS if k in set(kinds)]

    async def read(kind: Kind) -> None:
        try:
            shape = info(kind).shape
            if shape is Shape.ACCOUNT:
                _proxies(fleet, wanted, proxies or {}, exact_proxies)
            elif shape is Shape.SCHEDULE:
                await _schedules(client, fleet, kind, wanted)
            elif shape is Shape.TOGGLE:
                await _toggles(client, fleet, kind, wanted)
            elif shape is Shape.TASKS:
                await _leads(client, fleet, wanted)
            elif shape is Shape.COMMENT_SCHEDULES:
                await _first_comments(client, fleet, wanted)
            elif shape is Shape.POSTS:
                await _posts(client, fleet, kind, wanted)
            elif shape is Shape.LIBRARY:
                await _captions(client, fleet)
        except (ModuleNotEnabled, ModuleNotInstalled) as exc:
            why = "your plan does not include it" if isinstance(exc, ModuleNotEnabled) else "it is not installed"
            fleet.note(f"{kind}: not imported ({why})")

    async with anyio.create_task_group() as tg:
        for kind in kinds:
            tg.start_soon(read, kind)
    return fleet


def _put(fleet: LiveFleet, account: LiveAccount, kind: Kind, fragment: Any) -> None:
    fleet.fragments.setdefault(account.id, {})[kind] = fragment


# -- account --------------------------------------------------------------------------------
def env_name(prefix: str, username: str) -> str:
    """An environment variable name for one account's secret: ``PROXY_FASHION_NOVA``."""
    return prefix + "_" + "".join(c if c.isalnum() else "_" for c in username).upper()


def _proxies(fleet: LiveFleet, accounts: Sequence[LiveAccount], proxies: Mapping[int, str | None],
             exact: bool) -> None:
    for account in accounts:
        proxy = proxies.get(account.id)
        if not proxy:
            continue  # "no proxy" cannot be written: the account kind only assigns one
        if PROXY_CREDENTIALS.match(proxy):
            # Never written: the playbook names a variable that holds it (see the file's header).
            _put(fleet, account, Kind.ACCOUNT, {"proxy": {"env": env_name("PROXY", account.username)}})
        else:
            _put(fleet, account, Kind.ACCOUNT, {"proxy": proxy if exact else "auto"})


# -- Reactions Pro and Repost Pro ----------------------------------------------------------
async def _schedules(client: SharingtoolsClient, fleet: LiveFleet, kind: Kind,
                     accounts: Sequence[LiveAccount]) -> None:
    api = getattr(client, kind.value)
    ids = {a.id for a in accounts}
    schedules: dict[int, Any] = {}
    async for schedule in api.list_schedules():
        if schedule.account_id in ids:
            schedules[schedule.account_id] = schedule
    live: dict[int, dict[str, Any]] = {}

    async def details(account: LiveAccount) -> None:
        schedule = schedules[account.id]
        try:
            settings = await api.get_settings(account.id)
            targets = ([t.model_dump() for t in schedule.targets] if "targets" in schedule.model_fields_set
                       else [t.model_dump() for t in await api.list_targets(account.id)])
        except NotFound:
            return  # deleted while we read: nothing to import
        live[account.id] = {"state": "active" if schedule.is_active else "paused",
                            "settings": settings, "targets": targets}

    await each([a for a in accounts if a.id in schedules], details, workers=client.transport.workers)
    for account in accounts:
        if account.id in live:
            item = live[account.id]
            _put(fleet, account, kind, {"state": item["state"],
                                        "settings": _settings(fleet, kind, account, item["settings"]),
                                        "targets": _targets(fleet, kind, account, item["targets"])})


def _settings(fleet: LiveFleet, kind: Kind, account: LiveAccount, live: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a playbook can name: every field whose live value passes the playbook's
    own validation. Fields without a value (null) cannot be written and stay unmanaged."""
    out: dict[str, Any] = {}
    for name, value in live.items():
        if value is None:
            continue
        if SECRET_KEY.match(name) or (name in PROXY_KEYS and isinstance(value, str) and PROXY_CREDENTIALS.match(value)):
            fleet.note(f"{kind} settings.{name}: holds a secret, not imported", account.username)
            continue
        if not _accepted(kind, name, _canonical(value)):
            fleet.note(f"{kind} settings.{name}: its live value is not one a playbook accepts, not imported",
                       account.username)
            continue
        out[name] = value
    return out


@functools.lru_cache(maxsize=65536)
def _accepted(kind: Kind, name: str, value: str) -> bool:
    """Whether the playbook schema accepts ``name: value`` (JSON) in ``kind``'s settings. A
    fleet repeats the same values thousands of times: each is validated once."""
    try:
        _SETTINGS[kind].validate_python(_node({name: json.loads(value)}))
    except ValidationError:
        return False
    return True


def _node(data: dict[str, Any]) -> NodeMap:
    """``data`` as the loader hands a mapping to the schema (positions unknown here)."""
    node = NodeMap()
    node.update(data)
    return node


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _targets(fleet: LiveFleet, kind: Kind, account: LiveAccount, live: Sequence[Mapping[str, Any]]) -> list[Any]:
    """Live targets in the playbook's short form, oldest first; one per identity."""
    types = TARGET_TYPES[kind.value]
    out: list[Any] = []
    seen: set[tuple[str, str]] = set()
    model = _TARGETS[kind]
    for target in sorted(live, key=lambda t: (t.get("target_id") is None, t.get("target_id") or 0)):
        type_, value, id_ = str(target.get("type")), target.get("value"), target.get("id")
        spec = types.get(type_)
        written: Any
        if spec is not None and spec.value is ValueKind.NONE:
            written = type_
        else:
            text = "" if value is None else str(value).strip()
            if spec is not None and spec.value in (ValueKind.HASHTAG, ValueKind.USERNAME):
                text = text.lstrip("#@")
            written = {type_: text}
            if spec is not None and spec.needs_id:
                written["id"] = str(id_)
        try:
            parsed: Any = model.model_validate(_node(written) if isinstance(written, dict) else written)
        except ValidationError:
            fleet.note(f"{kind} target {type_}:{value}: not one a playbook accepts, not imported", account.username)
            continue
        if parsed.key in seen:
            continue  # the same target twice live: one entry covers both
        seen.add(parsed.key)
        out.append(written)
    return out


# -- Welcome DM and AI-DM ------------------------------------------------------------------
async def _toggles(client: SharingtoolsClient, fleet: LiveFleet, kind: Kind, accounts: Sequence[LiveAccount]) -> None:
    found: dict[int, set[bool]] = {}
    ids = {a.id for a in accounts}
    async for schedule in getattr(client, kind.value).list_schedules():
        if schedule.account_id in ids:
            found.setdefault(schedule.account_id, set()).add(bool(schedule.is_active))
    for account in accounts:
        states = found.get(account.id)
        if not states:
            continue
        if len(states) > 1:
            fleet.note(f"{kind}: some schedules are on and some off; a playbook switches them all, "
                       "so not imported", account.username)
            continue
        _put(fleet, account, kind, {"state": "active" if states.pop() else "paused"})


# -- Leads Finder --------------------------------------------------------------------------
async def _leads(client: SharingtoolsClient, fleet: LiveFleet, accounts: Sequence[LiveAccount]) -> None:
    tasks: dict[int, list[tuple[str | None, str | None]]] = {}
    ids = {a.id for a in accounts}
    async for s in client.leads.list_schedules():
        if s.account_id in ids:
            # running: switched on; stopped: off and idle; None: switched off but still running
            state = "running" if s.is_active else ("stopped" if not s.is_running else None)
            tasks.setdefault(s.account_id, []).append((s.task_name, state))
    for account in accounts:
        if account.id in tasks:
            fragment = leads_fragment(tasks[account.id])
            if fragment is None:
                fleet.note("leads: the tasks' states cannot be written as a playbook (a task is stopping, "
                           "or tasks of one name differ), not imported", account.username)
                continue
            _put(fleet, account, Kind.LEADS, fragment)


def leads_fragment(tasks: Sequence[tuple[str | None, str | None]]) -> Any:
    """The shortest ``leads:`` value that gives each (task_name, state) its state, or None.

    A catch-all item covers the most common state; named items the tasks that differ. Tasks
    without a name, or sharing a name with a task in another state, can only take the
    catch-all. A task caught between states (None) cannot be managed: then there is no
    catch-all, only the named tasks that are settled."""
    by_name: dict[str | None, set[str | None]] = {}
    for name, state in tasks:
        by_name.setdefault(name, set()).add(state)
    if any(None in states for states in by_name.values()):
        items = [{"task_name": n, "state": s.pop()} for n, s in sorted(by_name.items(), key=lambda kv: str(kv[0]))
                 if n is not None and len(s) == 1 and None not in s]
        return items or None
    # Tasks only a catch-all can reach: no name, or one name in two states.
    forced = {s for n, states in by_name.items() if n is None or len(states) > 1 for s in states}
    if len(forced) > 1:
        return None
    counts = Counter(state for _, state in tasks)
    every = forced.pop() if forced else max(sorted(counts, key=str), key=lambda s: counts[s])
    named = [{"task_name": n, "state": next(iter(s))} for n, s in sorted(by_name.items(), key=lambda kv: str(kv[0]))
             if n is not None and len(s) == 1 and next(iter(s)) != every]
    return {"state": every} if not named else [{"state": every}, *named]


# -- First Comment -------------------------------------------------------------------------
async def _first_comments(client: SharingtoolsClient, fleet: LiveFleet, accounts: Sequence[LiveAccount]) -> None:
    found: dict[int, list[Any]] = {}
    ids = {a.id for a in accounts}
    async for s in client.first_comment.list_schedules():
        if s.account_id in ids:
            found.setdefault(s.account_id, []).append(s)
    for account in accounts:
        schedules = []
        seen: set[frozenset[str]] = set()
        for s in sorted(found.get(account.id, []), key=lambda s: s.id):
            key = frozenset(t.username.casefold() for t in s.targets)
            if not key:
                fleet.note("first_comment: a schedule watching no account (a playbook recognises a schedule "
                           "by its targets), not imported", account.username)
                continue
            if key in seen:
                fleet.note("first_comment: a schedule watching the same accounts as an older one (a playbook "
                           "recognises a schedule by its targets), not imported", account.username)
                continue
            schedule: dict[str, Any] = {
                "targets": [{"username": t.username, "user_pk": str(t.user_pk)} if t.user_pk else t.username
                            for t in sorted(s.targets, key=lambda t: t.username.casefold())],
                "comments": list(s.comments),
                "mode": s.comment_mode,
                "state": "active" if s.is_active else "paused",
            }
            for name in ("comments", "mode"):  # an empty pool or an unknown mode: not managed
                if not schedule[name]:
                    del schedule[name]
            try:
                CommentSchedule.model_validate(_node(schedule))
            except ValidationError:
                fleet.note("first_comment: a schedule a playbook cannot write, not imported", account.username)
                continue
            seen.add(key)
            schedules.append(schedule)
        if schedules:
            _put(fleet, account, Kind.FIRST_COMMENT, {"schedules": schedules})


# -- posts ---------------------------------------------------------------------------------
#: The API's post types as a playbook writes them.
_POST_TYPES = {"photo": "photo", "video": "video", "album": "album", "carousel": "album", "reels": "reel",
               "reel": "reel", "story": "story"}
_SLUG = re.compile(r"[^a-z0-9]+")


async def _posts(client: SharingtoolsClient, fleet: LiveFleet, kind: Kind, accounts: Sequence[LiveAccount]) -> None:
    """The scheduled posts, each as a playbook post at its own time (UTC, no stagger), with its
    files by media id: what is published, publishing, failed or a draft is history, not plan."""
    found: dict[int, list[Post]] = {}
    ids = {a.id for a in accounts}
    async for post in client.posts.list(status="scheduled"):
        if post.account_id in ids:
            found.setdefault(post.account_id, []).append(post)
    for account in accounts:
        items = [item for post in sorted(found.get(account.id, []), key=lambda p: (p.schedule_date or "", p.id))
                 if (item := _post_item(fleet, kind, account, post)) is not None]
        if items:
            _put(fleet, account, kind, items)


def _post_item(fleet: LiveFleet, kind: Kind, account: LiveAccount, post: Post) -> dict[str, Any] | None:
    caption, _ = read_caption(post.caption)  # a playbook's mark is not text to write
    if spintax.check(caption) is not None or spintax.variant_count(caption) > 1:
        fleet.note(f"{kind}: a post whose caption would read as spintax (braces), not imported", account.username)
        return None
    words = _SLUG.sub("-", caption.casefold()).strip("-").split("-")[:4]
    item: dict[str, Any] = {"name": "-".join([w for w in words if w] + [str(post.id)]),
                            "media": [{"id": i} for i in post.media_id_list], "caption": caption,
                            "at": (post.schedule_date or "").replace(" ", "T")}
    if post.type in _POST_TYPES:
        item["type"] = _POST_TYPES[post.type]
    try:
        PostSpec.model_validate(_node(item))
    except ValidationError:
        fleet.note(f"{kind}: a scheduled post a playbook cannot write (its media, time or caption), not imported",
                   account.username)
        return None
    return item


# -- captions ------------------------------------------------------------------------------
async def _captions(client: SharingtoolsClient, fleet: LiveFleet) -> None:
    library: dict[str, str] = {}
    captions = sorted([c async for c in client.captions.list()], key=lambda c: c.id)
    for c in captions:  # the oldest copy of a title is the one plan compares
        library.setdefault(c.title, c.caption)
    fleet.captions = library
