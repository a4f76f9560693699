"""Posts and the publishing lifecycle: state and rules, no HTTP.

A post belongs to one of the user's accounts and names its files in ``media_ids``, a
comma-separated string of the owner's media ids (as the server stores it). Its status
follows the engine's lifecycle::

    saved ──(is_scheduled + future schedule_date)──> scheduled
    scheduled ──(tick: schedule_date has come)──> publishing
    publishing ──(next tick)──> published | failed (with a ``reason``)

Published and publishing posts are locked: editing them is a conflict (409), and the
engine never touches a published post again.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from orchestrator.emulator.clock import parse_stamp
from orchestrator.emulator.context import Ctx, Paging
from orchestrator.emulator.errors import Conflict, ValidationFailed
from orchestrator.emulator.modules.media import models as media
from orchestrator.emulator.seed import SeedContext
from orchestrator.emulator.state import EmulatorState
from orchestrator.emulator.store import Doc, Table

TABLE = "posts"
# Types are photo, video, album, story, reels (the body model lists them); carousel is an
# alias, and so is reel (the later revision's name).
TYPE_ALIASES = {"carousel": "album", "reel": "reels"}
ALBUM_MIN, ALBUM_MAX = 2, 10  # Instagram's carousel bounds
LOGIN_REQUIRED = "Login required: re-authenticate the account"
MEDIA_FIELDS = frozenset({"media_ids", "type"})
SCHEDULING_FIELDS = frozenset({"is_scheduled", "schedule_date"})
ALL_FIELDS = frozenset({"caption", "first_comment"}) | MEDIA_FIELDS | SCHEDULING_FIELDS
PUBLIC_FIELDS = ("id", "account_id", "status", "type", "caption", "first_comment", "media_ids", "is_scheduled",
                 "schedule_date", "publish_date", "date", "reason", "instagram_code")


def table(ctx: Ctx) -> Table:
    return ctx.store.table(TABLE)


def public(doc: Doc) -> dict[str, Any]:
    """The post as the API shows it (owner and internal fields never leak)."""
    return {k: doc.get(k) for k in PUBLIC_FIELDS}


# -- reads -------------------------------------------------------------------------
def list_posts(
    ctx: Ctx, paging: Paging, status: str | None, account_id: int | None
) -> tuple[list[Doc], int]:
    """The user's posts, newest first. Filtering by another user's account finds nothing."""
    return table(ctx).find(
        user_id=ctx.owner_scope, status=status, account_id=account_id,
        descending=True, **paging.slice(),
    )


# -- writes ------------------------------------------------------------------------
def create(ctx: Ctx, fields: dict[str, Any]) -> Doc:
    """Validate and store a new post; ``fields`` are the request body's values."""
    account = account_for_post(ctx, fields["account_id"])
    post: Doc = {
        "user_id": account["user_id"],  # an admin posting on alice's account posts as alice
        "account_id": account["id"],
        "status": "saved",
        "type": fields.get("type"),
        "type_auto": fields.get("type") is None,
        "caption": fields.get("caption") or "",
        "first_comment": fields.get("first_comment") or None,
        "media_ids": fields.get("media_ids"),
        "is_scheduled": bool(fields.get("is_scheduled")),
        "schedule_date": fields.get("schedule_date"),
        "publish_date": None,
        "date": ctx.clock.stamp(),
        "reason": None,
        "instagram_code": None,
    }
    settle(ctx, post, ALL_FIELDS)
    return table(ctx).insert(post)


def update(ctx: Ctx, doc: Doc, changes: dict[str, Any]) -> Doc:
    """Apply a patch (only the fields given). Locked posts answer 409, bad values 422."""
    ensure_editable(doc)
    if not changes:
        raise ValidationFailed({"body": "Nothing to update: give caption, first_comment, type, media_ids, "
                                        "is_scheduled or schedule_date"})
    if "first_comment" in changes:
        changes = {**changes, "first_comment": changes["first_comment"] or None}  # "" clears it
    post = {**doc, **changes}
    if "type" in changes:
        post["type_auto"] = False
    elif post.get("type_auto") and "media_ids" in changes:
        post["type"] = None  # re-inferred from the new media below
    settle(ctx, post, frozenset(changes))
    return table(ctx).update(post)


def delete(ctx: Ctx, doc: Doc) -> None:
    """Remove a post record. A published post stays on Instagram; only the record goes."""
    if doc["status"] == "publishing":
        raise Conflict("The post is being published and cannot be deleted")
    table(ctx).delete(doc["id"])


def ensure_editable(doc: Doc) -> None:
    """Published posts are immutable; a publishing one is in flight to Instagram."""
    if doc["status"] == "published":
        raise Conflict("Published posts cannot be edited")
    if doc["status"] == "publishing":
        raise Conflict("The post is being published and cannot be edited")


def account_for_post(ctx: Ctx, account_id: int) -> Doc:
    """The account a post goes to; unknown and foreign ones are the same 422 (nothing leaks)."""
    account = ctx.store.table("accounts").get(account_id)
    if account is None or not ctx.user.owns(account):
        raise ValidationFailed({"account_id": "Account not found"})
    return account


# -- validation --------------------------------------------------------------------
def settle(ctx: Ctx, post: Doc, touched: frozenset[str]) -> None:
    """Validate the merged ``post`` where ``touched`` fields can matter, normalise its
    media and type, and derive its status when scheduling changed. Raises one 422 with
    every field's problem."""
    errors: dict[str, str] = {}
    if touched & (MEDIA_FIELDS | SCHEDULING_FIELDS):
        files = check_media(ctx, post, errors)
        if files is not None:
            check_type(post, files, errors)
    if touched & SCHEDULING_FIELDS:
        check_schedule(ctx, post, errors)
        post["status"] = "scheduled" if post["is_scheduled"] else "saved"
        post["reason"] = None
    if errors:
        raise ValidationFailed(errors)


def parse_media_ids(value: str | int | list[int] | None) -> list[int]:
    """``"42,43"`` (or 42, or [42, 43]) as ids; raises 422 on junk, repeats or too many."""
    if value is None:
        return []
    tokens = [str(v) for v in value] if isinstance(value, list) else str(value).split(",")
    tokens = [t.strip() for t in tokens if t.strip()]
    # 19 digits is the most an id can have (and keeps int() far from its size limit).
    bad = [t for t in tokens if not (t.isascii() and t.isdigit() and len(t) <= 19)]
    if bad:
        raise ValidationFailed({"media_ids": f"Not media ids: {', '.join(bad)}"})
    if len(tokens) > ALBUM_MAX:
        raise ValidationFailed({"media_ids": f"At most {ALBUM_MAX} media files per post"})
    ids = [int(t) for t in tokens]
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if repeated:
        raise ValidationFailed({"media_ids": f"Repeated media ids: {', '.join(map(str, repeated))}"})
    return ids


def check_media(ctx: Ctx, post: Doc, errors: dict[str, str]) -> list[Doc] | None:
    """The post's files in order, or None (with an error) when some are not the owner's."""
    try:
        ids = parse_media_ids(post["media_ids"])
    except ValidationFailed as exc:
        errors.update({k: v[0] for k, v in (exc.errors or {}).items()})
        return None
    found = media.owned_by(ctx.store, post["user_id"], ids)
    missing = [i for i in ids if i not in found]
    if missing:
        errors["media_ids"] = f"Media not found: {', '.join(map(str, missing))}"
        return None
    post["media_ids"] = ",".join(map(str, ids))
    return [found[i] for i in ids]


def infer_type(files: list[Doc]) -> str:
    if len(files) > 1:
        return "album"
    return "video" if files and files[0]["type"] == "video" else "photo"


def check_type(post: Doc, files: list[Doc], errors: dict[str, str]) -> None:
    """The type must fit the files; a scheduled post needs files at all."""
    post["type"] = TYPE_ALIASES.get(post["type"], post["type"]) or infer_type(files)
    if not files:
        if post["is_scheduled"]:
            errors["media_ids"] = "A scheduled post needs at least one media file"
        return  # a draft may wait for its files
    problem = shape_problem(post["type"], [f["type"] for f in files])
    if problem:
        errors["media_ids"] = problem


def shape_problem(post_type: str, kinds: list[str]) -> str | None:
    """Why ``kinds`` (image/video per file) cannot make a ``post_type`` post, or None."""
    if post_type == "album":
        if not ALBUM_MIN <= len(kinds) <= ALBUM_MAX:
            return f"An album needs {ALBUM_MIN} to {ALBUM_MAX} media files"
        return None
    if len(kinds) != 1:
        return f"A {post_type} post takes exactly one media file (an album takes {ALBUM_MIN} to {ALBUM_MAX})"
    wanted = {"photo": "image", "video": "video", "reels": "video"}.get(post_type)
    if wanted and kinds[0] != wanted:
        return f"A {post_type} post needs {'an image' if wanted == 'image' else 'a video'}"
    return None


def check_schedule(ctx: Ctx, post: Doc, errors: dict[str, str]) -> None:
    """``schedule_date`` must parse; a scheduled post needs one in the emulator clock's future."""
    when = post.get("schedule_date")
    try:
        parsed = None if when is None else parse_stamp(when)
    except ValueError:
        errors["schedule_date"] = "Use the format YYYY-MM-DD HH:MM:SS (UTC)"
        return
    if not post["is_scheduled"]:
        return  # a draft may keep a planned date, past or future
    if parsed is None:
        errors["schedule_date"] = "A scheduled post needs a schedule_date"
    elif parsed <= ctx.clock.now():
        errors["schedule_date"] = f"The schedule_date must be in the future (now: {ctx.clock.stamp()})"


# -- the engine ----------------------------------------------------------------------
def tick(state: EmulatorState, now: datetime) -> dict[str, int] | None:
    """Publish what was sending since the last pass, then start sending what has come due.

    In that order, so a post spends at least one tick in ``publishing`` as on the real
    server, where the upload to Instagram takes a cron run of its own."""
    posts = state.store.table(TABLE)
    stamp = state.clock.stamp(now)
    counts: Counter[str] = Counter()
    for post in posts.all(status="publishing"):
        counts[finish_publishing(state, post, stamp)] += 1
        posts.update(post)
    due = [p for p in posts.all(status="scheduled") if p["schedule_date"] <= stamp]
    for post in due:
        post["status"] = "publishing"
        posts.update(post)
    if due:
        counts["publishing"] = len(due)
    return dict(counts) or None


def finish_publishing(state: EmulatorState, post: Doc, stamp: str) -> str:
    """Publish ``post`` or fail it with a reason; returns the new status."""
    reason = publish_blocker(state, post)
    if reason:
        post.update(status="failed", reason=reason)
    else:
        post.update(status="published", publish_date=stamp, reason=None,
                    instagram_code=instagram_code(f"post:{post['id']}"))
    return post["status"]


def publish_blocker(state: EmulatorState, post: Doc) -> str | None:
    """Why the server could not publish ``post`` now, or None."""
    account = state.store.table("accounts").get(post["account_id"])
    if account is None:
        return "Account not found"
    if account.get("login_required"):
        return LOGIN_REQUIRED
    if not account.get("is_active", True):
        return "Account is not active"
    ids = parse_media_ids(post["media_ids"])
    if not ids:
        return "No media to publish"
    found = media.owned_by(state.store, post["user_id"], ids)
    missing = [i for i in ids if i not in found]
    if missing:
        return f"Media file not found: {', '.join(map(str, missing))}"
    return None


def instagram_code(seed: str) -> str:
    """An Instagram-style 11-character shortcode, stable for ``seed``."""
    digest = hashlib.sha256(f"sharingtools:{seed}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:11]


# -- seeding -------------------------------------------------------------------------

class SeedPost(NamedTuple):
    account: int  # position in the owner's account list, 1-based
    status: str
    type: str
    files: tuple[str, ...]  # media names
    hours: float | None  # schedule_date relative to now; None: no date
    caption: str
    reason: str | None = None


ALICE_POSTS = (
    SeedPost(1, "published", "album", ("summer-lookbook-01.jpg", "summer-lookbook-02.jpg",
             "summer-lookbook-03.jpg"), -240, "Summer lookbook ☀️ Which look is yours? #summersale #ootd"),
    SeedPost(2, "published", "photo", ("linen-edit-flatlay.png",), -200,
             "Just landed 🔥 Meet the linen edit. #newdrop #style"),
    SeedPost(3, "published", "reels", ("new-drop-teaser.mp4",), -150,
             "Fresh in: the capsule collection 🎬 #newdrop"),
    SeedPost(10, "published", "video", ("hiit-circuit.mp4",), -130,
             "20-minute HIIT circuit. Save it for later! #workouttips #gym"),
    SeedPost(16, "published", "photo", ("lemon-pasta.jpg",), -100,
             "Recipe of the week: zesty lemon pasta 🍋 #recipe #foodie"),
    SeedPost(22, "published", "photo", ("lisbon-sunrise.jpg",), -72,
             "Travel diaries, day 3: sunrise hikes and zero regrets. #traveldiaries"),
    SeedPost(4, "published", "story", ("giveaway-banner.gif",), -30, ""),
    # Due three minutes ago and already sending: the next tick publishes it.
    SeedPost(3, "publishing", "photo", ("summer-lookbook-02.jpg",), -0.05,
             "Sun's out, sale's on ☀️ Up to 40% off this weekend. #summersale"),
    SeedPost(1, "scheduled", "photo", ("summer-lookbook-03.jpg",), 20,
             "Flash sale: 24 hours only ⚡ Use code FLASH20. #flashsale #shopnow"),
    SeedPost(5, "scheduled", "album", ("summer-lookbook-01.jpg", "linen-edit-flatlay.png"), 44,
             "New week, new looks. Swipe ➡️ #ootd #fashion"),
    # On an account that needs a new login: it will fail when it comes due.
    SeedPost(9, "scheduled", "photo", ("morning-stretch.jpg",), 50,
             "Start strong 💪 Small steps every day add up. #motivationmonday"),
    SeedPost(12, "scheduled", "reels", ("studio-bts.mp4",), 70,
             "Behind the scenes of today's shoot 🎬 #bts"),
    SeedPost(17, "scheduled", "photo", ("brunch-table.jpeg",), 96,
             "Weekend brunch goals 🥞 Sweet or savoury? #brunch"),
    SeedPost(23, "scheduled", "album", ("hidden-beach.jpg", "lisbon-sunrise.jpg", "street-food-tour.mp4"),
             168, "Where should we go next? 🌍 #wanderlust #travelgram"),
    SeedPost(6, "saved", "photo", (), None, "Draft: autumn preview, waiting for the shoot"),
    SeedPost(11, "saved", "video", ("hiit-circuit.mp4",), None,
             "Workout tip: form before weight. #workouttips"),
    SeedPost(19, "saved", "album", ("protein-bowl.jpg", "brunch-table.jpeg"), None,
             "Meal prep Sunday 🥗 #mealprep"),
    SeedPost(24, "saved", "photo", ("hidden-beach.jpg",), 120, "Hidden beaches of the Algarve 🏝️ #travel"),
    SeedPost(9, "failed", "photo", ("protein-bowl.jpg",), -48, "Protein bowl, 3 ways. #fitfood",
             LOGIN_REQUIRED),
    SeedPost(18, "failed", "video", ("street-food-tour.mp4",), -20, "Street food tour 🌮 #foodstagram",
             LOGIN_REQUIRED),
)
BOB_POSTS = (
    SeedPost(1, "published", "photo", ("rescue-pup-milo.jpg",), -60, "Meet Milo 🐾 #adoptdontshop"),
    SeedPost(3, "scheduled", "video", ("treat-time.mp4",), 30, "Treat time! 🦴 #dogsofinstagram"),
    SeedPost(4, "saved", "photo", ("reading-corner.jpg",), None, "Our cozy reading corner 🛋️ #homedecor"),
    SeedPost(2, "failed", "photo", ("cat-nap.png",), -10, "Nap o'clock 😴 #catsofinstagram", LOGIN_REQUIRED),
)


def seed_demo(ctx: SeedContext) -> None:
    """About twenty posts of alice's across accounts and statuses, and a few of bob's."""
    posts = ctx.state.store.table(TABLE)
    for owner, specs in (("alice", ALICE_POSTS), ("bob", BOB_POSTS)):
        user_id = ctx.users[owner]["id"]
        files = {d["name"]: d["id"] for d in ctx.state.store.table(media.TABLE).iter(user_id=user_id)}
        for spec in specs:
            posts.insert(seeded_post(ctx, owner, user_id, files, spec))


def seeded_post(ctx: SeedContext, owner: str, user_id: int, files: dict[str, int], spec: SeedPost) -> Doc:
    """The stored document for one demo post, its dates relative to the clock's now."""
    clock = ctx.state.clock
    now = clock.now()
    when = None if spec.hours is None else now + timedelta(hours=spec.hours)
    made = (when or now) - timedelta(days=ctx.rng.randint(1, 5), minutes=ctx.rng.randint(0, 600))
    published = spec.status == "published"
    return {
        "user_id": user_id,
        "account_id": ctx.accounts[owner][spec.account - 1]["id"],
        "status": spec.status,
        "type": spec.type,
        "type_auto": False,
        "caption": spec.caption,
        "media_ids": ",".join(str(files[name]) for name in spec.files),
        "is_scheduled": spec.status != "saved",
        "schedule_date": None if when is None else clock.stamp(when),
        "publish_date": clock.stamp(when) if published and when else None,
        "date": clock.stamp(min(made, now)),
        "reason": spec.reason,
        "instagram_code": instagram_code(f"seed:{owner}:{spec.account}:{spec.caption}") if published else None,
    }
