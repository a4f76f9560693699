"""Reactions Pro demo and scale data.

Demo world (see tests/conftest.py for the accounts): every alice and bob account has a
schedule, admin's account has none. The fashion_* campaigns mostly run, the food_* and
travel_* ones mostly sit paused; speeds, daily pauses and targets vary by niche. Account 8
is stuck in ``is_running`` (for bulk stop), accounts 9 and 18 are active but need a new
login (the first engine pass switches them off), account 12 expires in two weeks.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from orchestrator.emulator.clock import FORMAT, parse_stamp
from orchestrator.emulator.modules.automation import seed_logs, stamp_after, stamp_before
from orchestrator.emulator.modules.reactions.models import COUNTERS, REACTIONS, count
from orchestrator.emulator.seed import SeedContext
from orchestrator.emulator.store import Doc

ACTIVE = {1, 2, 3, 5, 6, 8, 9, 10, 11, 12, 16, 17, 18, 22, 26, 27}
STUCK_RUNNING = {8}
EXPIRING = {12}
SPEEDS = (3, 2, 4, 3, 5, 2, 3, 1)  # by account id, so neighbours differ
PAUSES = (("23:00", "07:00"), ("01:00", "06:30"), ("13:00", "14:00"))

TARGETS: dict[str, list[tuple[str, ...]]] = {
    "fashion": [
        ("hashtag", "ootd"), ("hashtag", "streetstyle"), ("hashtag_likers", "fashionweek"),
        ("people_followers", "zara", "27451342"), ("location", "Le Marais, Paris", "213385402"),
        ("explore", ""),
    ],
    "fitness": [
        ("hashtag", "fitness"), ("hashtag", "gymlife"), ("keyword", "home workout"),
        ("people_followers", "nikewomen", "11630937"), ("location", "Venice Beach", "212999109"),
    ],
    "food": [
        ("hashtag", "foodporn"), ("hashtag", "veganrecipes"), ("keyword_reels", "sourdough"),
        ("location", "Brooklyn, New York", "213050058"),
        ("people_likers", "bonappetitmag", "7372712"),
    ],
    "travel": [
        ("hashtag", "wanderlust"), ("hashtag", "travelgram"), ("timeline", ""),
        ("location", "Santorini, Greece", "214590731"), ("user_followers", "lonelyplanet"),
    ],
    "pets": [
        ("hashtag", "dogsofinstagram"), ("hashtag", "catsofinstagram"),
        ("user_followers", "dogs.of.instagram"),
    ],
    "decor": [
        ("hashtag", "interiordesign"), ("hashtag", "homedecor"),
        ("keyword", "scandinavian interior"),
    ],
}

SETTINGS: dict[str, dict[str, Any]] = {
    "fashion": {
        "is_likes": True, "likes_speed": 3, "likes_per_user": 2,
        "is_follow": True, "follow_speed": 2, "follow_limit": 150,
        "is_unfollow": True, "unfollow_interval": 72,
        "is_masslooking": True, "is_story_likes": True, "is_emoji": True, "emojis": "🔥,😍,✨",
        "is_metrics_filter": True, "followers_min": 200, "followers_max": 25000,
        "verified_filter": 2,
    },
    "fitness": {
        "is_likes": True, "is_follow": True, "follow_limit": 120,
        "is_comment": True, "comment_interval": 90,
        "comments": "{Great|Awesome|Solid} {form|session}! 💪\nKeep it up 🔥",
        "is_masslooking": True, "masslooking_interval": 3.0, "is_poll": True, "is_quiz": True,
    },
    "food": {
        "is_likes": True, "likes_speed": 3, "is_story_likes": True,
        "is_comment": True, "comments": "{Yum|Looks delicious|Need this recipe}! 😋",
        "is_metrics_filter": True, "posts_min": 10, "last_posted_max": 30,
    },
    "travel": {
        "is_likes": True, "is_masslooking": True, "masslooking_speed": 4,
        "language_filter": "en,es",
        "activity_time": True, "activity_time_min_h": "08:00", "activity_time_max_h": "22:00",
    },
    "pets": {"is_likes": True, "likes_speed": 2},
    "decor": {"is_likes": True, "is_follow": True, "follow_limit": 60},
}


def seed_demo(ctx: SeedContext) -> None:
    """Schedules with targets, settings, stats and a few log entries for alice's and bob's."""
    table = REACTIONS.schedules(ctx.state.store)
    now = ctx.now
    logs: list[Doc] = []
    for account in ctx.accounts.get("alice", []) + ctx.accounts.get("bob", []):
        doc = table.insert(_demo_schedule(ctx, account, now))
        logs.extend(_demo_logs(ctx, doc, now))
        table.update(doc)  # the logs' actions moved its counters
    seed_logs(REACTIONS.logs(ctx.state.store), logs)


def _demo_schedule(ctx: SeedContext, account: Doc, now: str) -> Doc:
    rng, n = ctx.rng, account["id"]
    niche = account["username"].split("_", 1)[0]
    settings = dict(SETTINGS.get(niche, SETTINGS["pets"]), speed=SPEEDS[n % len(SPEEDS)])
    if n % 3 == 0:
        start, end = PAUSES[n % len(PAUSES)]
        settings.update(daily_pause=True, daily_pause_from=start, daily_pause_to=end)
    if n in EXPIRING:
        settings.update(expiration=True, expiration_date=stamp_after(now, 14 * 24 * 60))
    if n % 5 == 1:
        settings.update(is_telegram_errors=True, tg_chat_id=-1001000000000 - n)
    pool = TARGETS.get(niche, TARGETS["pets"])
    targets = rng.sample(pool, rng.randint(1, min(4, len(pool))))
    active = n in ACTIVE
    # An active schedule is due within half an hour; a paused one was last started days ago.
    due = stamp_after(now, rng.randint(1, 30)) if active else stamp_before(now, rng, 7 * 24 * 60)
    doc = REACTIONS.new_schedule(
        account, now, active=active, settings=settings, targets=targets, schedule_date=due,
        is_running=n in STUCK_RUNNING, stats={"totals": {}, "days": {}},
    )
    _baseline_stats(ctx, doc, now, active)
    return doc


def _baseline_stats(ctx: SeedContext, doc: Doc, now: str, active: bool) -> None:
    """Totals from months of running, and a week of daily counts for the active ones."""
    rng = ctx.rng
    scale = doc["settings"]["speed"] * (40 if active else 8)
    for counter in COUNTERS:
        top = 40 if counter == "dms" else scale * 60
        doc["stats"]["totals"][counter] = rng.randint(0, top)
    noon = parse_stamp(now).replace(hour=12, minute=0, second=0)
    for back in range(1, 8):
        day = (noon - timedelta(days=back)).strftime(FORMAT)
        for counter in ("likes", "follows", "story_views"):
            count(doc, counter, day, rng.randint(0, scale))


def _demo_logs(ctx: SeedContext, doc: Doc, now: str) -> list[Doc]:
    """3-6 past actions, performed by the engine's own action code so they look like its logs."""
    rng = ctx.rng
    settings = REACTIONS.read_settings(doc)
    stamps = sorted(stamp_before(now, rng, 48 * 60) for _ in range(rng.randint(3, 6)))
    entries = []
    for stamp in stamps:
        entries.append(REACTIONS.act(doc, settings, stamp, rng))
        doc["action_count"] += 1
        doc["last_action_date"] = stamp
    return entries


def seed_scale(ctx: SeedContext, accounts: list[Doc]) -> None:
    """A schedule per account, every other one active, default settings, 1-2 targets."""
    now = ctx.now
    docs = [
        REACTIONS.new_schedule(account, now, active=i % 2 == 0, targets=_scale_targets(account, i))
        for i, account in enumerate(accounts)
    ]
    REACTIONS.schedules(ctx.state.store).insert_many(docs)


def _scale_targets(account: Doc, i: int) -> list[tuple[str, str]]:
    niche = account["username"].split("_", 1)[0]  # scale accounts are <niche>_s00001
    return [("hashtag", niche)] + ([("keyword", f"{niche} ideas")] if i % 2 else [])
