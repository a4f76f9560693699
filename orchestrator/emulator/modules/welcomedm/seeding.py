"""Welcome DM seed data: the demo agency's campaigns, and one schedule per account at scale."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from orchestrator.emulator.clock import parse_stamp
from orchestrator.emulator.scheduler import no_pause
from orchestrator.emulator.modules.welcomedm.models import LOGS, SCHEDULES, new_log
from orchestrator.emulator.seed import SeedContext
from orchestrator.emulator.store import Doc

CDN = "https://cdn.sharingtools.test/welcomedm"


def text(body: str, image: str | None = None) -> dict[str, Any]:
    """A message variant: text, and optionally an image sent with it."""
    variant: dict[str, Any] = {"text": body}
    if image:
        variant["media"] = {"type": "image", "url": f"{CDN}/{image}"}
    return variant


# Message sets per niche; {username} and {link} are filled in by the server when sending.
MESSAGES: dict[str, list[list[dict[str, Any]]]] = {
    "fashion": [
        [text("Hey {username}, welcome! 👋 Check our latest drops at {link}"),
         text("Thanks for following! Use code WELCOME10 for 10% off 🎉")],
        [text("{Hi|Hey|Hello} {username}! So happy to have you here 💖 New arrivals every Friday."),
         text("Welcome to the family ✨ Here's a peek at the spring lookbook:",
              "lookbook-spring.jpg")],
    ],
    "fitness": [
        [text("Welcome to the squad, {username}! 💪 Grab our free 4-week plan: {link}")],
        [text("{Hey|Yo} {username}! Ready to crush it? Reply 'PLAN' for a free workout guide 🏋️"),
         text("Thanks for the follow! New training tips every Monday 🔥"),
         text("Welcome {username}! First class at the studio is on us — just show this DM 🙌")],
    ],
    "food": [
        [text("Hi {username}! 🍕 Thanks for the follow — 10% off your first order: TASTY10")],
        [text("Welcome {username}! Our weekly menu drops every Monday 🥗"),
         text("{Thanks|Thank you} for following! Reply 'MENU' for this week's specials 🍜")],
    ],
    "travel": [
        [text("Hey {username}, welcome aboard ✈️ Our free packing checklist: {link}")],
        [text("Thanks for following! Dreaming of Bali? 🌴 Reply 'TRIP' for our retreat dates."),
         text("Welcome {username}! 🌍 Here's our 2026 small-group tour calendar:",
              "tours-2026.jpg")],
    ],
    "pets": [
        [text("Welcome to the pack, {username}! 🐾 Use PAWS15 for 15% off treats.")],
    ],
}
GENERIC = [[text("Thanks for following, {username}! 👋")]]
SPEEDS: list[int | str] = ["auto", 2, 3, "auto", 1, 4, 5, 2, 3]
PAUSES = [("22:00", "08:00"), ("23:30", "07:00"), ("01:00", "06:00")]
ATTACHMENTS = {"fashion": "lookbook-spring.pdf", "travel": "tour-brochure-2026.pdf"}
# Alice's accounts (by position) without a welcome DM: most, not all, of an agency's run one.
ALICE_WITHOUT = {4, 12, 19, 24}
BOB_WITH = {0, 2}
ERRORS = [
    ("Feedback required: Instagram blocked this action.", {"code": "feedback_required"}),
    ("Could not open a thread with this user.", {"code": "thread_unavailable"}),
]


def niche(account: Doc) -> str:
    return account["username"].split("_", 1)[0]


def demo_schedule(ctx: SeedContext, account: Doc, n: int) -> Doc:
    """A varied, realistic schedule for the ``n``-th seeded account."""
    now = ctx.state.clock.now()
    stamp = ctx.state.clock.stamp
    kind = niche(account)
    variants = MESSAGES.get(kind, GENERIC)
    pause = no_pause()
    if n % 3 == 1:
        start, end = PAUSES[(n // 3) % len(PAUSES)]
        pause = {"enabled": True, "from": start, "to": end}
    attachment = ATTACHMENTS.get(kind) if n % 2 == 0 else None
    path = f"/var/www/sharingtools/uploads/{account['user_id']}/welcomedm/{attachment}"
    active = n % 7 != 5
    last_action = now - (timedelta(minutes=5 + 7 * n) if active else timedelta(days=2))
    ends = kind == "travel" and n % 2 == 0  # a seasonal campaign
    return {
        "user_id": account["user_id"],
        "account_id": account["id"],
        "is_active": active,
        "messages": variants[n % len(variants)],
        "speed": SPEEDS[n % len(SPEEDS)],
        "daily_pause": pause,
        "settings": {
            "skip_opened": n % 4 != 3,
            "mute_thread": n % 5 == 2,
            "attachment_path": path if attachment else None,
            "debug_mode": n == 11,
        },
        "schedule_date": stamp(now - timedelta(days=3 + n % 10, hours=n % 5)),
        "end_date": stamp(now + timedelta(days=30)) if ends else None,
        "last_action_date": stamp(last_action),
    }


def demo_logs(ctx: SeedContext, schedule: Doc) -> list[Doc]:
    """Two days of greetings up to the last action: mostly sent, some skipped, a few errors."""
    latest = parse_stamp(schedule["last_action_date"])
    logs = []
    for _ in range(ctx.rng.randint(3, 8)):
        date = ctx.state.clock.stamp(latest - timedelta(minutes=ctx.rng.randint(0, 48 * 60)))
        follower = str(ctx.rng.randrange(10**9, 10**11))
        roll = ctx.rng.random()
        if roll < 0.8:
            logs.append(new_log(schedule, "sent", date, follower_id=follower))
        elif roll < 0.94:
            logs.append(new_log(schedule, "skipped", date, follower_id=follower,
                                message="Follower has already opened a DM from us."))
        else:
            message, details = ctx.rng.choice(ERRORS)
            logs.append(new_log(schedule, "error", date, follower_id=follower,
                                message=message, details=details))
    return logs


def seed_demo(ctx: SeedContext) -> None:
    """Welcome DM schedules for most of alice's accounts and two of bob's, with their logs."""
    schedules = ctx.state.store.table(SCHEDULES)
    chosen = [a for i, a in enumerate(ctx.accounts["alice"]) if i not in ALICE_WITHOUT]
    chosen += [a for i, a in enumerate(ctx.accounts["bob"]) if i in BOB_WITH]
    logs: list[Doc] = []
    for n, account in enumerate(chosen):
        schedule = schedules.insert(demo_schedule(ctx, account, n))
        logs += demo_logs(ctx, schedule)
    # Inserted in date order, so id order is time order and lists can sort by id.
    logs.sort(key=lambda log: log["date"])
    ctx.state.store.table(LOGS).insert_many(logs)


def seed_scale(ctx: SeedContext, accounts: list[Doc]) -> None:
    """One active schedule per account, built as plain dicts and bulk-inserted."""
    now = ctx.now
    settings = {"skip_opened": True, "mute_thread": False, "attachment_path": None,
                "debug_mode": False}
    docs = []
    for n, account in enumerate(accounts):
        variants = MESSAGES.get(niche(account), GENERIC)
        docs.append({
            "user_id": account["user_id"],
            "account_id": account["id"],
            "is_active": True,
            "messages": variants[n % len(variants)],
            "speed": SPEEDS[n % len(SPEEDS)],
            "daily_pause": no_pause(),
            "settings": settings,
            "schedule_date": now,
            "end_date": None,
            "last_action_date": None,
        })
    ctx.state.store.table(SCHEDULES).insert_many(docs)
