"""Media files: state and rules, no HTTP.

The emulator keeps each upload's metadata and size, never its bytes: nothing in the API
reads a file back, and a test suite uploading thousands of files should not fill memory.

Upload limits come from the owner's plan, read from optional fields of the user
document (the core's users table holds the plan): ``storage_file_mb`` (largest file,
default 50), ``storage_total_mb`` (all files together, default unlimited) and
``video_processing`` (default false; when true, mov, m4v and mpg are accepted too).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from orchestrator.emulator.context import Ctx, Paging
from orchestrator.emulator.errors import ValidationFailed
from orchestrator.emulator.seed import SeedContext
from orchestrator.emulator.store import Doc, Store, Table

TABLE = "media"
MB = 1024 * 1024
MAX_ID = 2**63 - 1  # SQLite's largest integer: no row can have a larger id
DEFAULT_FILE_MB = 50
IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "gif"})
VIDEO_EXTENSIONS = frozenset({"mp4"})
# Containers Instagram does not take as-is: the server must transcode them first.
PROCESSED_VIDEO_EXTENSIONS = frozenset({"mov", "m4v", "mpg"})
PUBLIC_FIELDS = ("id", "name", "filename", "extension", "type", "filesize", "url", "date")


def table(ctx: Ctx) -> Table:
    return ctx.store.table(TABLE)


def public(doc: Doc, base_url: str) -> dict[str, Any]:
    """The file as the API shows it; ``url`` is absolute under the emulator's own base."""
    out = {k: doc.get(k) for k in PUBLIC_FIELDS}
    out["url"] = base_url.rstrip("/") + doc["path"]
    return out


def kind_of(extension: str) -> str:
    """``image`` or ``video`` for an allowed extension."""
    return "image" if extension in IMAGE_EXTENSIONS else "video"


# -- plan limits -------------------------------------------------------------------
def plan_of(ctx: Ctx) -> Doc:
    return ctx.state.users.get(ctx.user.id) or {}


def allowed_extensions(plan: Doc) -> frozenset[str]:
    allowed = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS
    return allowed | PROCESSED_VIDEO_EXTENSIONS if plan.get("video_processing") else allowed


def file_limit_bytes(plan: Doc) -> int:
    return int(float(plan.get("storage_file_mb") or DEFAULT_FILE_MB) * MB)


def total_limit_bytes(plan: Doc) -> int | None:
    total = plan.get("storage_total_mb")
    return None if total is None else int(float(total) * MB)


def basename(filename: str) -> str:
    """The file's own name: some clients send a path (``C:\\fakepath\\a.jpg``)."""
    return filename.replace("\\", "/").rsplit("/", 1)[-1].strip()


def extension_of(filename: str) -> str:
    _, dot, ext = filename.rpartition(".")
    return ext.lower() if dot else ""


def validate_upload(ctx: Ctx, filename: str, size: int) -> str:
    """Check an upload against the allowed types and the plan's limits; returns its extension."""
    plan = plan_of(ctx)
    ext = extension_of(filename)
    allowed = allowed_extensions(plan)
    if ext not in allowed:
        listed = ", ".join(sorted(allowed))
        raise ValidationFailed({"file": f"File type not allowed: {ext or 'no extension'}. Allowed: {listed}"})
    if size == 0:
        raise ValidationFailed({"file": "The uploaded file is empty"})
    limit = file_limit_bytes(plan)
    if size > limit:
        raise ValidationFailed({"file": f"File exceeds the {limit / MB:g} MB limit of your plan"})
    total = total_limit_bytes(plan)
    if total is not None and used_bytes(ctx, ctx.user.id) + size > total:
        raise ValidationFailed({"file": f"Not enough storage: your plan allows {total / MB:g} MB in total"})
    return ext


def used_bytes(ctx: Ctx, user_id: int) -> int:
    return sum(d["filesize"] for d in table(ctx).iter(user_id=user_id))


# -- writes --------------------------------------------------------------------------
def safe_stem(filename: str) -> str:
    """A URL-safe version of the name without its extension (as stored on disk)."""
    stem = basename(filename).rpartition(".")[0]
    return re.sub(r"[^a-z0-9]+", "-", stem.lower()).strip("-")[:60] or "file"


def new_file(user_id: int, name: str, ext: str, size: int, date: str) -> Doc:
    return {"user_id": user_id, "name": name, "extension": ext, "type": kind_of(ext),
            "filesize": size, "date": date}


def store_file(t: Table, doc: Doc) -> Doc:
    """Insert ``doc`` and give it its storage name and path, which embed the new id."""
    doc = t.insert(doc)
    doc["filename"] = f"{doc['id']}-{safe_stem(doc['name'])}.{doc['extension']}"
    doc["path"] = f"/uploads/{doc['user_id']}/{doc['filename']}"
    return t.update(doc)


def upload(ctx: Ctx, filename: str, size: int) -> Doc:
    """Record an uploaded file of ``size`` bytes for the caller (its bytes are not kept)."""
    name = basename(filename)
    ext = validate_upload(ctx, name, size)
    return store_file(table(ctx), new_file(ctx.user.id, name, ext, size, ctx.clock.stamp()))


def list_media(ctx: Ctx, paging: Paging) -> tuple[list[Doc], int]:
    """The user's files, newest first."""
    return table(ctx).find(user_id=ctx.owner_scope, descending=True, **paging.slice())


def delete(ctx: Ctx, doc: Doc) -> None:
    """Remove a file. Posts naming it keep the id; a scheduled one fails when it publishes."""
    table(ctx).delete(doc["id"])


def owned_by(store: Store, user_id: int, ids: list[int]) -> dict[int, Doc]:
    """The files among ``ids`` that belong to ``user_id``, by id (used by Posts)."""
    queryable = [i for i in ids if i <= MAX_ID]
    return {d["id"]: d for d in store.table(TABLE).all(id=queryable, user_id=user_id)}


# -- seeding -------------------------------------------------------------------------
ALICE_FILES = (
    "summer-lookbook-01.jpg", "summer-lookbook-02.jpg", "summer-lookbook-03.jpg",
    "linen-edit-flatlay.png", "new-drop-teaser.mp4", "studio-bts.mp4",
    "hiit-circuit.mp4", "morning-stretch.jpg", "protein-bowl.jpg",
    "lemon-pasta.jpg", "brunch-table.jpeg", "street-food-tour.mp4",
    "lisbon-sunrise.jpg", "hidden-beach.jpg", "giveaway-banner.gif",
)
BOB_FILES = ("rescue-pup-milo.jpg", "reading-corner.jpg", "treat-time.mp4", "cat-nap.png")


def seed_demo(ctx: SeedContext) -> None:
    """Alice's agency media library (15 files) and a few of bob's, uploaded over past weeks."""
    t = ctx.state.store.table(TABLE)
    now = ctx.state.clock.now()
    for owner, files in (("alice", ALICE_FILES), ("bob", BOB_FILES)):
        user_id = ctx.users[owner]["id"]
        for age, name in zip(range(len(files) * 2, 0, -2), files, strict=True):
            ext = extension_of(name)
            low, high = (3 * MB, 40 * MB) if kind_of(ext) == "video" else (180_000, 6 * MB)
            size = ctx.rng.randint(low, high)
            date = ctx.state.clock.stamp(now - timedelta(days=age, minutes=ctx.rng.randint(0, 900)))
            store_file(t, new_file(user_id, name, ext, size, date))
