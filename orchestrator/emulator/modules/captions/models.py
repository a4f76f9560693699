"""Caption library: state and rules, no HTTP.

A caption is a reusable text template (``title`` + ``caption`` body, which may use
spintax ``{a|b}`` and hashtags). Titles are not unique: the reference documents no 409
for captions, and a PHP caption library that stores rows by auto-increment id has no
reason to refuse a second "Summer sale". Clients that key captions by title must
handle duplicates themselves.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from orchestrator.emulator.context import Ctx, Paging
from orchestrator.emulator.seed import SeedContext
from orchestrator.emulator.store import Doc, Table

TABLE = "captions"
PUBLIC_FIELDS = ("id", "title", "caption", "date")


def table(ctx: Ctx) -> Table:
    return ctx.store.table(TABLE)


def public(doc: Doc) -> dict[str, Any]:
    """The caption as the API shows it (owner and internal fields never leak)."""
    return {k: doc.get(k) for k in PUBLIC_FIELDS}


def matches(doc: Doc, needle: str) -> bool:
    """Case-insensitive substring match on title or body (Unicode-aware, unlike SQL LIKE)."""
    return needle in doc["title"].casefold() or needle in doc["caption"].casefold()


def list_captions(ctx: Ctx, paging: Paging, search: str | None) -> tuple[list[Doc], int]:
    """The user's captions, newest first, optionally filtered by ``search``."""
    needle = (search or "").strip().casefold()
    if not needle:
        return table(ctx).find(user_id=ctx.owner_scope, descending=True, **paging.slice())
    # A caption library holds hundreds of rows at most: filtering in Python is cheap.
    hits = [d for d in table(ctx).iter(user_id=ctx.owner_scope) if matches(d, needle)]
    hits.reverse()
    start = (paging.page - 1) * paging.per_page
    return hits[start : start + paging.per_page], len(hits)


def create(ctx: Ctx, title: str, caption: str) -> Doc:
    """Store a new caption for the caller; duplicate titles are allowed."""
    return table(ctx).insert(
        {"user_id": ctx.user.id, "title": title, "caption": caption, "date": ctx.clock.stamp()}
    )


def update(ctx: Ctx, doc: Doc, changes: dict[str, str]) -> Doc:
    """Apply ``changes`` (title and/or caption, already validated) to ``doc``."""
    doc.update(changes)
    return table(ctx).update(doc)


def delete(ctx: Ctx, doc: Doc) -> None:
    table(ctx).delete(doc["id"])


# -- seeding -------------------------------------------------------------------
ALICE_LIBRARY = (
    ("Summer sale", "{Summer sale|Sun's out, sale's on} ☀️ Up to 40% off the whole collection "
                    "this weekend only. Link in bio! #summersale #fashion #ootd"),
    ("New drop", "{New drop|Just landed|Fresh in} 🔥 Meet the {linen edit|capsule collection}. "
                 "Which piece is your favourite? #newdrop #newcollection #style"),
    ("Motivation Monday", "{Start strong|New week, new goals|Rise and grind} 💪 "
                          "Small steps every day add up. #motivationmonday #fitness #mindset"),
    ("Behind the scenes", "A little look behind the scenes of today's shoot 🎬 "
                          "{Swipe to see the bloopers|More in our stories}! #bts #behindthescenes"),
    ("Giveaway", "🎁 GIVEAWAY 🎁 To enter: 1. Follow us 2. Like this post 3. Tag two friends. "
                 "Winner announced Friday! #giveaway #contest #win"),
    ("Recipe of the week", "{Recipe of the week|This week's favourite}: {creamy|zesty} lemon pasta 🍋 "
                           "Full recipe in bio. #recipe #foodie #homecooking"),
    ("Wanderlust Wednesday", "Where should we go next? {Drop a pin|Tell us} below 🌍 "
                             "#wanderlust #travelgram #wanderlustwednesday"),
    ("Flash sale", "⚡ Flash sale: 24 hours only ⚡ {Use code FLASH20|20% off everything} "
                   "at checkout. #flashsale #shopnow"),
    ("Thank you 10k", "We just hit 10k! 🙏 Thank you for {being here|all the love}. "
                      "Something special is coming… #thankyou #10k #community"),
    ("Workout tip", "Tip of the day: {don't skip the warm-up|form before weight|hydrate!} "
                    "Save this for your next session. #workouttips #gym #fitnessmotivation"),
    ("Weekend brunch", "Weekend brunch goals 🥞 {Sweet|Savoury} or both? #brunch #weekendvibes #foodstagram"),
    ("Travel diaries", "Travel diaries, day {3|4|5}: {sunrise hikes|hidden beaches|street food tours} "
                       "and zero regrets. #traveldiaries #travel #explore"),
)
BOB_LIBRARY = (
    ("Adopt don't shop", "Every pet deserves a home 🐾 {Adopt, don't shop|Visit your local shelter}. "
                         "#adoptdontshop #rescuedog #pets"),
    ("Cozy corner", "Our {cozy|favourite} reading corner this week 🛋️ #homedecor #interiors #cozyhome"),
    ("Treat time", "Treat time! {Who's a good boy?|Paws up if you're hungry} 🦴 #dogsofinstagram #treats"),
)


def seed_demo(ctx: SeedContext) -> None:
    """Alice's agency caption library (12) and a few of bob's, created over past weeks."""
    store_table = ctx.state.store.table(TABLE)
    now = ctx.state.clock.now()
    for owner, library in (("alice", ALICE_LIBRARY), ("bob", BOB_LIBRARY)):
        user_id = ctx.users[owner]["id"]
        for age, (title, caption) in zip(range(len(library) * 3, 0, -3), library, strict=True):
            stamp = ctx.state.clock.stamp(now - timedelta(days=age, minutes=ctx.rng.randint(0, 600)))
            store_table.insert({"user_id": user_id, "title": title, "caption": caption, "date": stamp})
