"""Repost Pro demo and scale data.

Demo world: every alice account but travel 24 and 25 has a schedule, every bob account
too, admin's none. Each niche reposts from its own sources with its own caption
template; account 5 is stuck in ``is_running`` (for bulk stop), account 10 reposts at
fixed times, and accounts 9 and 18 are active but need a new login.
"""

from __future__ import annotations

from typing import Any

from orchestrator.emulator.modules.automation import seed_logs, stamp_after, stamp_before
from orchestrator.emulator.modules.repost.models import REPOST
from orchestrator.emulator.seed import SeedContext
from orchestrator.emulator.store import Doc

WITHOUT_SCHEDULE = {24, 25}
ACTIVE = {1, 2, 3, 4, 5, 6, 9, 10, 11, 16, 17, 18, 22, 26, 27}
STUCK_RUNNING = {5}
SPEEDS = ("slow", "medium", "slow", "fast", "very_slow", "medium", "slow", "very_fast")
REMOVE_DELAYS = (0, 0, 24, 72)

TARGETS: dict[str, list[tuple[str, ...]]] = {
    "fashion": [
        ("hashtag", "ootd"), ("hashtag_reels", "streetstyle"), ("people", "fashionnova"),
        ("location", "Le Marais, Paris", "213385402"),
        ("collection", "Spring lookbook", "17912345678901234"),
        ("instagram_post", "https://www.instagram.com/p/C4kz7QvL1xA/"),
    ],
    "fitness": [
        ("hashtag", "fitnessmotivation"), ("people_reels", "kayla_itsines"),
        ("music", "Eye of the Tiger", "349288813019731"), ("tiktok_hashtag", "gymtok"),
    ],
    "food": [
        ("hashtag", "foodstagram"), ("hashtag_reels", "recipes"),
        ("location", "Brooklyn, New York", "213050058"), ("tiktok_user", "cookingwithlynja"),
    ],
    "travel": [
        ("hashtag", "travelphotography"), ("location", "Santorini, Greece", "214590731"),
        ("tiktok_trending", "US"), ("hashtag_reels", "traveltok"),
    ],
    "pets": [
        ("hashtag", "puppiesofinstagram"), ("tiktok_hashtag", "dogsoftiktok"),
        ("people", "dogs.of.instagram"),
    ],
    "decor": [("hashtag", "interiorinspo"), ("people", "studiomcgee")],
}

CAPTIONS = {
    "fashion": "{Obsessed with|Loving|Can't stop staring at} this ✨ {{original_caption}} #ootd",
    "fitness": "{Monday|Daily} motivation 💪 {{original_caption}} #fitness",
    "food": "{Dinner|Lunch} inspo 😋 {{original_caption}} #foodie",
    "travel": "{Take me here|Dream destination} 🌍 {{original_caption}}",
    "pets": "{{original_caption}} 🐾",
    "decor": "Home inspo 🏡 {{original_caption}}",
}

MEDIA: dict[str, dict[str, Any]] = {
    "fashion": {"data.photo": True, "data.album": True, "data.reels": True},
    "fitness": {"data.reels": True, "data.video": True},
    "food": {"data.photo": True, "data.reels": True},
}


def seed_demo(ctx: SeedContext) -> None:
    """Schedules with sources, caption templates and a few log entries."""
    table = REPOST.schedules(ctx.state.store)
    now = ctx.now
    logs: list[Doc] = []
    for account in ctx.accounts.get("alice", []) + ctx.accounts.get("bob", []):
        if account["id"] in WITHOUT_SCHEDULE:
            continue
        doc = table.insert(_demo_schedule(ctx, account, now))
        logs.extend(_demo_logs(ctx, doc, now))
        table.update(doc)
    seed_logs(REPOST.logs(ctx.state.store), logs)


def _demo_schedule(ctx: SeedContext, account: Doc, now: str) -> Doc:
    rng, n = ctx.rng, account["id"]
    niche = account["username"].split("_", 1)[0]
    settings: dict[str, Any] = {
        "speed": SPEEDS[n % len(SPEEDS)],
        "caption": CAPTIONS.get(niche, ""),
        "first_comment": "Credit: original creator 🙏 DM for removal" if n % 2 else "",
        "remove_delay": REMOVE_DELAYS[n % len(REMOVE_DELAYS)],
        **MEDIA.get(niche, {}),
    }
    if n % 4 == 0:
        settings.update(daily_pause=True, daily_pause_from="00:30", daily_pause_to="06:00")
    if n == 10:
        settings["custom_repost_time"] = "repost[09:00],repost[13:00],repost[19:30]"
    if niche == "fashion":
        settings.update(metadata_user="atelier.agency", targets_shuffle=n % 2 == 0)
    pool = TARGETS.get(niche, TARGETS["pets"])
    active = n in ACTIVE
    targets = rng.sample(pool, rng.randint(1, min(4, len(pool))))
    # An active schedule is due within the hour; a paused one was last started days ago.
    due = stamp_after(now, rng.randint(1, 45)) if active else stamp_before(now, rng, 7 * 24 * 60)
    return REPOST.new_schedule(account, now, active=active, settings=settings, targets=targets,
                               schedule_date=due, is_running=n in STUCK_RUNNING)


def _demo_logs(ctx: SeedContext, doc: Doc, now: str) -> list[Doc]:
    """2-5 past reposts, made by the engine's own action code."""
    rng = ctx.rng
    settings = REPOST.read_settings(doc)
    entries = []
    for stamp in sorted(stamp_before(now, rng, 72 * 60) for _ in range(rng.randint(2, 5))):
        entries.append(REPOST.act(doc, settings, stamp, rng))
        doc["action_count"] += 1
        doc["last_action_date"] = stamp
    return entries


def seed_scale(ctx: SeedContext, accounts: list[Doc]) -> None:
    """A schedule per account, every third one active, default settings, 1-2 sources."""
    now = ctx.now
    docs = [
        REPOST.new_schedule(account, now, active=i % 3 == 0, targets=_scale_targets(account, i))
        for i, account in enumerate(accounts)
    ]
    REPOST.schedules(ctx.state.store).insert_many(docs)


def _scale_targets(account: Doc, i: int) -> list[tuple[str, str]]:
    niche = account["username"].split("_", 1)[0]  # scale accounts are <niche>_s00001
    return [("hashtag", niche)] + ([("hashtag_reels", f"{niche}reels")] if i % 2 else [])
