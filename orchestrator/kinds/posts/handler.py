"""Posts: a content calendar. Each post a playbook lists becomes one scheduled post per account.

**Which post on the server is the playbook's.** The API has no field for a post's name in the
playbook, so a live post is recognised as the copy of playbook post ``name`` on an account by,
in this order:

1. the state database: the post id apply created (or last changed) for (account, name);
2. its mark: every post the playbook makes carries, at the end of its caption, an invisible
   mark derived from (name, account) (``api/resources/posts.py``), which survives anything the playbook
   changes about the post;
3. its content, for a post without either (one ``import`` found): two of the caption, time and
   media the playbook gives it (so that one of them may be what the playbook changes; once a
   change is applied, the post carries the mark).

Losing the state database therefore never makes a second copy: the mark still says which post
is which. Two live posts with the same mark are one post and a duplicate (a create whose answer
was lost and sent again by someone else): the oldest is kept, the other deleted. A marked post
no playbook post claims is one the playbook no longer lists: its copies are deleted while they
are saved or scheduled; published ones stay, as Instagram has them.

**The diff.** A missing copy is created, scheduled at the account's slot. A saved or scheduled
copy is updated in place (caption, media, type, time: one ``PATCH /posts/{id}``). A published
or publishing copy is never touched: a change to it is planned as blocked (`refused`). A failed
copy is a problem of its account with the server's reason, until its time moves to the future
(then it is rescheduled). A copy whose time has passed and that does not exist cannot be made:
a problem too. The plan's "now" is the wall clock at read time (``now``: what tests give).

**Media** are uploaded once per content (SHA-256), under a name that carries the hash
(``teaser-3f2a9c1b7d4e5f60.jpg``), so that a file already uploaded is recognised on the server
even without the state database; the id is reused across accounts and runs.

**Quota.** ``policy: max_posts_per_day`` (default 25): a plan that would make an account
publish more posts than that in any 24 hours is refused (`refusals`), naming the accounts.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import NotFound
from orchestrator.api.fanout import each
from orchestrator.api.resources.posts import MARK_LENGTH, Post, mark_of, marked, read_caption, same_time
from orchestrator.contract import Account, DesiredState, Kind, MediaFile, PostDesired, PostsDesired
from orchestrator.contract.desired import CAPTION_RESERVED
from orchestrator.kinds.base import (
    ITEM,
    PHASE_EDIT,
    AccountIssue,
    KindHandler,
    Live,
    Op,
    Operation,
    ReadContext,
    ReadResult,
    Refusal,
    change,
    paths,
)
from orchestrator.plan import Change, fingerprint
from orchestrator.plan.blocked import PUBLISHED

STAMP = "%Y-%m-%d %H:%M:%S"
LOCKED = ("published", "publishing")  # Instagram has it, or is receiving it: the server refuses edits
DELETABLE = ("saved", "scheduled")  # an unlisted copy that has not been published yet
PUBLISHES = ("scheduled", "publishing", "published")  # what counts against the quota
#: A slot closer than this is as good as past: the create would reach the server too late.
LEAD = timedelta(minutes=1)
DAY = timedelta(hours=24)
#: The API's aliases of the types it stores (an album may be shown as a carousel).
TYPE_NAMES = {"carousel": "album", "reel": "reels"}
#: More distinct files than this are read with the media list, not one by one.
FEW_FILES = 20
_HASHED_NAME = re.compile(r"-([0-9a-f]{16})\.[A-Za-z0-9]+$")
assert MARK_LENGTH == CAPTION_RESERVED, "the playbook keeps room for exactly the mark"


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).strftime(STAMP)


def upload_name(written: str, sha256: str) -> str:
    """The name a file is uploaded under: its own, with its content's hash (``teaser-3f2a….jpg``)."""
    base = written.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = base.rpartition(".")
    return f"{stem or 'file'}-{sha256[:16]}.{ext if dot else 'bin'}"


def hash_in_name(name: str | None) -> str | None:
    """The content hash (first 16 hex digits) an uploaded file's name carries, if it does."""
    found = _HASHED_NAME.search(name or "")
    return found.group(1) if found else None


def _descriptor(file: MediaFile, uploads: Mapping[str, int | None]) -> dict[str, Any]:
    """One file as an operation carries it (JSON, journaled): a library id, or a file to upload
    (with the id found for its content at plan time, if one was)."""
    if not file.local:
        return {"file": file.written, "id": file.media_id}
    return {"file": file.written, "path": file.path, "sha256": file.sha256, "size": file.size,
            "id": uploads.get(file.sha256 or "")}


@dataclass
class Matching:
    """Which live post is which playbook post on one account (see the module docstring)."""

    claimed: dict[str, Live] = field(default_factory=dict)  # post name -> its live copy
    orphans: list[tuple[str, Live]] = field(default_factory=list)  # (label, a copy no post claims, deletable)


def match(account_id: int, desired: PostsDesired, live: Live) -> Matching:
    """Recognise the playbook's posts among an account's live posts: pure."""
    out = Matching()
    free = {p["id"]: p for p in sorted(live["posts"], key=lambda p: p["id"])}
    names = {p.name for p in desired.posts}
    marks = {mark_of(name, account_id): name for name in names}
    recorded = {pid: name for name, pid in live["recorded"].items()}
    for pid, name in sorted(recorded.items()):
        if name in names and name not in out.claimed and pid in free:
            out.claimed[name] = free.pop(pid)
    for pid, post in list(free.items()):
        name = marks.get(post["marker"] or "")
        if name is not None and name not in out.claimed:
            out.claimed[name] = free.pop(pid)
    for want in desired.posts:
        if want.name in out.claimed:
            continue
        scored = [(_likeness(want, p, live), -p["id"], p) for p in free.values() if p["marker"] not in marks]
        best = max(scored, key=lambda s: s[:2], default=None)
        if best is not None and best[0] >= 2:
            out.claimed[want.name] = free.pop(best[2]["id"])
    for pid, post in free.items():
        ours = post["marker"] is not None or pid in recorded
        if ours and post["status"] in DELETABLE:
            label = recorded.get(pid) or marks.get(post["marker"] or "") or f"#{pid}"
            out.orphans.append((label, post))
    return out


def _likeness(want: PostDesired, post: Live, live: Live) -> int:
    """How many of caption, time and media a live post without a mark shares with a playbook
    post: two are enough to recognise it (one of them may be what the playbook changes)."""
    return (int(post["caption"] == want.caption.value) + int(same_time(post["time"], stamp(want.at.value)))
            + int(_same_media(want.media.value, post["media_ids"], live)))


def _same_media(files: Sequence[MediaFile], ids: Sequence[int], live: Live) -> bool:
    """Whether live media ``ids`` hold ``files``, in order: the same library ids, or uploads
    of the same content (by the id found for it, or the hash its name carries)."""
    if len(files) != len(ids):
        return False
    for file, media_id in zip(files, ids, strict=True):
        if not file.local:
            if file.media_id != media_id:
                return False
            continue
        sha = file.sha256 or ""
        known = live["media"].get(str(media_id))
        if live["uploads"].get(sha) != media_id and not (known and sha.startswith(known)):
            return False
    return True


def _api_type(value: str | None) -> str | None:
    return TYPE_NAMES.get(value or "", value)


def _now(live: Live) -> datetime:
    return datetime.fromisoformat(live["now"])


class PostsKind(KindHandler):
    kind = Kind.POSTS
    changes = paths(create=f"posts{ITEM}", delete=f"posts{ITEM}", update=rf"posts{ITEM}\.(caption|media|type|time)")
    undeduplicated = frozenset({Op.CREATE})  # the server does not deduplicate creates

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        #: The plan's "now" (aware, UTC): the wall clock unless a caller (a test) gives its own.
        self.now = now or (lambda: datetime.now(UTC))
        self._uploading: dict[str, anyio.Event] = {}  # uploads in flight, by content

    # -- read ----------------------------------------------------------------------------------
    async def read(self, ctx: ReadContext, accounts: Sequence[Account], desired: Mapping[int, Any]) -> ReadResult:
        now = self.now()
        ids = [a.id for a in accounts if a.id in desired]
        found: dict[int, list[Post]] = {a: [] for a in ids}
        if ctx.few(len(ids)):
            async def one(account_id: int) -> None:
                found[account_id] = [p async for p in ctx.client.posts.list(account_id=account_id)]

            await each(ids, one, workers=ctx.client.transport.workers)
        else:
            async for post in ctx.client.posts.list():
                if post.account_id in found:
                    found[post.account_id].append(post)
        posts = {a: [_live_post(p) for p in found[a]] for a in ids}
        recorded = self.memory.objects(self.kind, ids)
        media, uploads = await self._media(ctx.client, desired.values(), posts, recorded)
        result = ReadResult()
        for account in accounts:
            if account.id not in found:
                continue
            live: Live = {"now": now.isoformat(), "posts": sorted(posts[account.id], key=lambda p: p["id"]),
                          "recorded": {k: s for (a, k), s in recorded.items() if a == account.id},
                          "media": media, "uploads": uploads}
            result.live[account.id] = live
            result.fingerprints[account.id] = fingerprint(live["posts"])  # not the clock: it moves every read
            result.problems += self._problems(account, desired[account.id], live)
        return result

    async def _media(self, client: SharingtoolsClient, desired: Iterable[PostsDesired],
                     posts: Mapping[int, list[Live]], recorded: Mapping[tuple[int, str], int]
                     ) -> tuple[dict[str, str], dict[str, int | None]]:
        """What the diff needs of the media library: for the files the playbook's posts hold
        live, the content hash their names carry (``media``: id -> hash prefix); and for each
        file the playbook names, the id of an upload of its content (``uploads``: sha -> id or
        None). The state database's uploads are checked against the server (a file deleted
        since is forgotten); the media list is read only when a file is still unaccounted for."""
        wanted = {f.sha256: f for d in desired for p in d.posts for f in p.media.value if f.local and f.sha256}
        if not wanted:
            return {}, {}  # library ids compare as they are: nothing to look up
        ours = {pid for (_, _), pid in recorded.items()}
        look = {i for account_posts in posts.values() for p in account_posts
                if p["marker"] is not None or p["id"] in ours for i in p["media_ids"]}
        known = {sha: self.memory.upload(sha) for sha in wanted}
        look |= {i for i in known.values() if i is not None}
        files: dict[int, Any] = {}
        listed = len(look) > FEW_FILES
        if listed:
            files = {f.id: f for f in [f async for f in client.media.list()]}
        else:
            async def one(media_id: int) -> None:
                with contextlib.suppress(NotFound):  # deleted: a post naming it fails when it publishes
                    files[media_id] = await client.media.get(media_id)

            await each(sorted(look), one, workers=client.transport.workers)
        media = {str(i): h for i, f in files.items() if (h := hash_in_name(f.name))}
        uploads: dict[str, int | None] = {}
        for sha, file in wanted.items():
            uploads[sha] = self._upload_of(sha, file, known.get(sha), files)
        if any(v is None for v in uploads.values()) and not listed:
            files = {f.id: f for f in [f async for f in client.media.list()]}
            for sha, file in wanted.items():
                if uploads[sha] is None:
                    uploads[sha] = self._upload_of(sha, file, None, files)
        for sha, media_id in uploads.items():
            if media_id is None:
                if known.get(sha) is not None:
                    self.memory.forget_upload(sha)  # deleted from the library since it was uploaded
            elif known.get(sha) != media_id:
                self.memory.remember_upload(sha, media_id)
        return media, uploads

    @staticmethod
    def _upload_of(sha: str, file: MediaFile, known: int | None, files: Mapping[int, Any]) -> int | None:
        """The id of an upload of ``file``'s content among ``files``: the remembered one if it
        is still there, else the newest whose name carries the content's hash and whose size
        is the file's."""
        if known is not None and known in files and files[known].filesize in (None, file.size):
            return known
        same = [i for i, f in files.items() if hash_in_name(f.name) == sha[:16] and f.filesize in (None, file.size)]
        return max(same) if same else None

    def _problems(self, account: Account, desired: PostsDesired, live: Live) -> list[AccountIssue]:
        """A failed copy (with the server's reason) and a copy whose time passed before it could
        be scheduled: what the diff leaves alone, and the account's owner must look at."""
        out = []
        now = _now(live)
        matched = match(account.id, desired, live)
        for want in desired.posts:
            post = matched.claimed.get(want.name)
            moved = post is not None and not same_time(post["time"], stamp(want.at.value))
            if post is not None and post["status"] == "failed" and not (moved and want.at.value > now + LEAD):
                out.append(AccountIssue(account.id, account.username, self.kind,
                                        f"post `{want.name}` failed: {post['reason'] or 'no reason given'} "
                                        "(give it a new `at` to try again, or remove it from the playbook)"))
            elif (post is None or (moved and post["status"] in DELETABLE)) and want.at.value <= now + LEAD:
                what = "could not be scheduled" if post is None else "cannot move"
                out.append(AccountIssue(account.id, account.username, self.kind,
                                        f"post `{want.name}` {what}: its time {stamp(want.at.value)} UTC has passed "
                                        "(give it a later `at`, or remove it from the playbook)"))
        return out

    # -- diff ----------------------------------------------------------------------------------
    def diff(self, account: Account, desired: PostsDesired, live: Live) -> list[Change]:
        out: list[Change] = []
        now = _now(live)
        matched = match(account.id, desired, live)
        for want in desired.posts:
            post = matched.claimed.get(want.name)
            if post is None:
                if want.at.value > now + LEAD:
                    out.append(self._create(account, want, live))
                continue
            out += self._update(account, want, post, live, now)
        for label, post in matched.orphans:
            shown = {"caption": post["caption"], "time": post["time"], "status": post["status"]}
            out.append(change(account, self.kind, "delete", f"posts[{label}]", shown, None, str(desired.source),
                              ref={"id": post["id"], "name": None if label.startswith("#") else label}))
        return out

    def _create(self, account: Account, want: PostDesired, live: Live) -> Change:
        after = {"type": want.type.value if want.type else None, "caption": want.caption.value,
                 "media": [f.written for f in want.media.value], "time": stamp(want.at.value)}
        ref = {"name": want.name, "media": [_descriptor(f, live["uploads"]) for f in want.media.value]}
        return change(account, self.kind, "create", f"posts[{want.name}]", None, after, str(want.source), ref=ref)

    def _update(self, account: Account, want: PostDesired, post: Live, live: Live, now: datetime) -> list[Change]:
        out: list[Change] = []
        base = f"posts[{want.name}]"
        ref = {"id": post["id"], "name": want.name}
        moved = not same_time(post["time"], stamp(want.at.value)) or post["status"] == "saved"
        if post["status"] == "failed" and not (moved and want.at.value > now + LEAD):
            return []  # a problem of the account (see `_problems`), until its time moves on
        if moved and post["status"] in (*DELETABLE, "failed") and want.at.value <= now + LEAD:
            moved = False  # the server refuses a time in the past: a problem, the rest still applies
        if post["caption"] != want.caption.value:
            out.append(change(account, self.kind, "update", f"{base}.caption", post["caption"], want.caption.value,
                              want.caption, ref=ref))
        if want.type is not None and _api_type(post["type"]) != want.type.value:
            out.append(change(account, self.kind, "update", f"{base}.type", _api_type(post["type"]),
                              want.type.value, want.type, ref=ref))
        if not _same_media(want.media.value, post["media_ids"], live):
            out.append(change(account, self.kind, "update", f"{base}.media", [f"#{i}" for i in post["media_ids"]],
                              [f.written for f in want.media.value], want.media,
                              ref={**ref, "media": [_descriptor(f, live["uploads"]) for f in want.media.value]}))
        if moved:
            before = post["time"] if post["status"] != "saved" else "draft"
            out.append(change(account, self.kind, "update", f"{base}.time", before, stamp(want.at.value), want.at,
                              ref=ref))
        return out

    def refused(self, change: Change, live: Live) -> tuple[str, str] | None:
        """A change to a published (or publishing) post: the server refuses it, and Instagram has it."""
        if change.action != "update":
            return None
        post = next((p for p in live.get("posts", ()) if p["id"] == change.ref["id"]), None)
        if post is None or post["status"] not in LOCKED:
            return None
        state = "published" if post["status"] == "published" else "being published"
        return PUBLISHED, (f"{change.username}'s post `{change.ref['name']}` is {state}: a published post is never "
                           "changed (to post a new version, give it a new name)")

    def refusals(self, desired: DesiredState, live: Mapping[int, Live], changes: Sequence[Change]) -> list[Refusal]:
        """Campaigns that would make an account publish more than ``max_posts_per_day`` posts
        in some 24 hours, counting what is scheduled or published there already."""
        quota = desired.policy.posts_per_day
        by_account: dict[int, list[Change]] = {}
        for c in changes:
            by_account.setdefault(c.account_id, []).append(c)
        over: dict[str, dict[str, int]] = {}  # post name -> username -> the most posts in 24 hours
        for account_id, account_changes in by_account.items():
            state = live.get(account_id)
            if state is None:
                continue
            times, placed = _publications(state["posts"], account_changes)
            for name, when in placed.items():
                most = _busiest(times, when)
                if most > quota:
                    user = account_changes[0].username
                    over.setdefault(name, {})[user] = max(most, over.get(name, {}).get(user, 0))
        out = []
        for name, accounts in sorted(over.items()):
            want = next((p for a in by_account if isinstance(d := desired.get(a, self.kind), PostsDesired)
                         and (p := d.named(name)) is not None), None)
            if want is None:
                continue
            names = sorted(accounts, key=str.casefold)
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            out.append(Refusal(want.at.source,
                               f"post `{name}` would exceed the publishing quota of {quota} posts in 24 hours on "
                               f"{shown} (up to {max(accounts.values())} posts)",
                               "spread the posts (`at`, `stagger`), or raise `policy: max_posts_per_day`"))
        return out

    # -- apply ---------------------------------------------------------------------------------
    def operations(self, changes: Sequence[Change]) -> list[Operation]:
        deletes: list[Operation] = []
        creates: list[Operation] = []
        updates: dict[int, list[Change]] = {}
        for c in changes:
            if c.action == "create":
                after = c.after
                creates.append(Operation(self.kind, c.account_id, Op.CREATE, (c,), PHASE_EDIT, args={
                    "name": c.ref["name"], "type": after["type"], "caption": after["caption"],
                    "time": after["time"], "media": c.ref["media"]}))
            elif c.action == "delete":
                deletes.append(Operation(self.kind, c.account_id, Op.DELETE, (c,), PHASE_EDIT,
                                         args={"post_id": c.ref["id"], "name": c.ref["name"]}))
            else:
                updates.setdefault(int(c.ref["id"]), []).append(c)
        edits: list[Operation] = []
        for post_id, group in updates.items():
            fields: dict[str, Any] = {}
            for c in group:
                part = c.path.rsplit(".", 1)[1]
                fields[part] = c.ref["media"] if part == "media" else c.after
            edits.append(Operation(self.kind, group[0].account_id, Op.UPDATE, tuple(group), PHASE_EDIT,
                                   args={"post_id": post_id, "name": group[0].ref["name"], "fields": fields}))
        # Deletions first: what leaves an account's calendar makes room before anything joins it.
        return [*deletes, *edits, *creates]

    async def execute(self, client: SharingtoolsClient, op: Operation) -> None:
        a = op.args
        match op.name:
            case Op.CREATE:
                media_ids = await self._media_ids(client, a["media"])
                post = await client.posts.create(
                    op.account_id, caption=marked(a["caption"], a["name"], op.account_id), type=a["type"],
                    media_ids=media_ids, is_scheduled=True, schedule_date=a["time"])
                self.memory.remember_object(self.kind, op.account_id, a["name"], post.id)
            case Op.UPDATE:
                f = a["fields"]
                body: dict[str, Any] = {}
                if "caption" in f:
                    body["caption"] = marked(f["caption"], a["name"], op.account_id)
                if "type" in f:
                    body["type"] = f["type"]
                if "media" in f:
                    body["media_ids"] = await self._media_ids(client, f["media"])
                if "time" in f:
                    body.update(is_scheduled=True, schedule_date=f["time"])
                await client.posts.update(int(a["post_id"]), **body)
                self.memory.remember_object(self.kind, op.account_id, a["name"], int(a["post_id"]))
            case Op.DELETE:
                with contextlib.suppress(NotFound):  # gone already: a repeated delete whose answer was lost
                    await client.posts.delete(int(a["post_id"]))
                if a.get("name"):
                    self.memory.forget_object(self.kind, op.account_id, a["name"])
            case _:  # pragma: no cover - operations() makes only the names above
                raise ValueError(op.name)

    async def recover(self, client: SharingtoolsClient, op: Operation) -> bool:
        """A create whose answer was lost: its post carries its mark, if it was made."""
        if op.name != Op.CREATE:
            return False
        mark = mark_of(op.args["name"], op.account_id)
        async for post in client.posts.list(account_id=op.account_id):
            if read_caption(post.caption)[1] == mark:
                self.memory.remember_object(self.kind, op.account_id, op.args["name"], post.id)
                return True
        return False

    async def _media_ids(self, client: SharingtoolsClient, files: Sequence[Mapping[str, Any]]) -> list[int]:
        return [int(f["id"]) if f.get("id") is not None else await self._upload(client, f) for f in files]

    async def _upload(self, client: SharingtoolsClient, file: Mapping[str, Any]) -> int:
        """The media id of ``file``'s content, uploading it once: the accounts of a run that
        need the same file wait for the first one's upload and reuse its answer."""
        sha = str(file["sha256"])
        while (busy := self._uploading.get(sha)) is not None:
            await busy.wait()
        known = self.memory.upload(sha)
        if known is not None:
            return known
        self._uploading[sha] = anyio.Event()
        try:
            content = await anyio.Path(str(file["path"])).read_bytes()
            if hashlib.sha256(content).hexdigest() != sha:
                raise ValueError(f"media file {file['file']} changed since the plan: run plan again")
            uploaded = await client.media.upload(upload_name(str(file["file"]), sha), content)
            self.memory.remember_upload(sha, uploaded.id)
            return uploaded.id
        finally:
            self._uploading.pop(sha).set()


def _live_post(post: Post) -> Live:
    """A post as the diff compares it: the caption as people read it, and its mark apart."""
    caption, mark = read_caption(post.caption)
    return {"id": post.id, "status": post.status, "type": post.type, "caption": caption, "marker": mark,
            "media_ids": post.media_id_list, "time": post.schedule_date, "published": post.publish_date,
            "reason": post.reason}


def _publications(posts: Sequence[Live], changes: Sequence[Change]) -> tuple[list[datetime], dict[str, datetime]]:
    """The account's publication times once ``changes`` are made (sorted), and the times of
    the posts the changes place (created or moved), by post name."""
    gone = {c.ref["id"] for c in changes if c.action == "delete"}
    moved = {int(c.ref["id"]): (c.ref["name"], c.after) for c in changes if c.path.endswith(".time")}
    placed: dict[str, datetime] = {}
    times: list[datetime] = []
    for post in posts:
        if post["id"] in gone or post["status"] not in PUBLISHES and post["id"] not in moved:
            continue
        if post["id"] in moved:
            name, when = moved[post["id"]]
            placed[name] = _parse(when)
            times.append(placed[name])
        elif (when_text := post["published"] or post["time"]) is not None:
            with contextlib.suppress(ValueError):
                times.append(_parse(when_text))
    for c in changes:
        if c.action == "create":
            placed[c.ref["name"]] = _parse(c.after["time"])
            times.append(placed[c.ref["name"]])
    return sorted(times), placed


def _busiest(times: Sequence[datetime], when: datetime) -> int:
    """The most publications in any 24 hours that include ``when`` (``times`` sorted)."""
    most = 0
    for start in times[bisect_left(times, when - DAY + timedelta(seconds=1)):bisect_right(times, when)]:
        most = max(most, bisect_left(times, start + DAY) - bisect_left(times, start))
    return most


def _parse(text: str) -> datetime:
    return datetime.strptime(text.strip()[:19].replace("T", " "), STAMP).replace(tzinfo=UTC)
