"""First Comment seed data: the demo agency's comment campaigns on big brands' posts, and one
schedule per account at scale."""

from __future__ import annotations

from datetime import timedelta

from orchestrator.emulator.modules.first_comment.models import (
    LOGS,
    SCHEDULES,
    new_log,
    post_code,
)
from orchestrator.text.spintax import spin
from orchestrator.emulator.seed import SeedContext
from orchestrator.emulator.store import Doc

# Targets per niche: (username, user_pk). Nike and adidas as in the reference's example.
TARGETS: dict[str, list[tuple[str, str]]] = {
    "fashion": [("nike", "19038780"), ("adidas", "17841400"), ("zara", "4936431"),
                ("hm", "1393578"), ("gucci", "9335628")],
    "fitness": [("gymshark", "232192182"), ("nike", "19038780"), ("adidas", "17841400"),
                ("underarmour", "23811137"), ("lululemon", "289735")],
    "food": [("tasty", "1425851"), ("bonappetitmag", "11233"), ("foodnetwork", "20245632"),
             ("jamieoliver", "17302131")],
    "travel": [("beautifuldestinations", "2106221"), ("natgeotravel", "25947578"),
               ("lonelyplanet", "1423718"), ("doyoutravel", "282437")],
    "pets": [("dogsofinstagram", "20132025"), ("petco", "4165418")],
}
COMMENTS: dict[str, list[str]] = {
    "fashion": ["{Love|Adore|Obsessed with} this look! 😍", "Stunning {fit|outfit|style} ✨",
                "This is {pure|total} fashion goals 🔥", "Need this in my wardrobe 🙌"],
    "fitness": ["{Beast|Absolute beast} mode! 💪", "{Great|Amazing|Insane} form 🔥",
                "Goals right here 🏋️", "So {motivating|inspiring}! 💯"],
    "food": ["{Yum|Wow|Omg}, this looks delicious 😋", "Saving this recipe 🙌",
             "{Need|Want} this right now 🤤"],
    "travel": ["{Breathtaking|Stunning|Unreal} view! 🌍", "Adding this to my bucket list ✈️",
               "{Wow|Incredible}, where is this? 😍"],
    "pets": ["{Cutest|Sweetest} pup ever 🐶", "Those eyes! 🥺❤️"],
}
# Alice's accounts (by position) with schedules, and how many each has.
ALICE_PLAN = {0: 2, 1: 1, 3: 1, 5: 1, 8: 1, 9: 2, 11: 1, 15: 2, 16: 1, 21: 1, 23: 1}
BOB_PLAN = {0: 1}
OUTCOMES = [
    ("skipped", "Comments are turned off for this post."),
    ("skipped", "Another account commented first."),
    ("error", "Comment blocked by Instagram (feedback_required)."),
]


def niche(account: Doc) -> str:
    return account["username"].split("_", 1)[0]


def demo_schedule(ctx: SeedContext, account: Doc, n: int) -> Doc:
    """A schedule on 1-3 of the niche's big accounts, with a spintax comment pool."""
    now = ctx.state.clock.now()
    kind = niche(account)
    pool = TARGETS.get(kind, TARGETS["pets"])
    targets = ctx.rng.sample(pool, k=min(len(pool), 1 + n % 3))
    active = n % 6 != 4
    last_action = now - (timedelta(minutes=5 + n % 5) if active else timedelta(days=4))
    return {
        "user_id": account["user_id"],
        "account_id": account["id"],
        "is_active": active,
        "running": False,
        "comment_mode": "sequential" if n % 2 else "random",
        "targets": [{"username": u, "user_pk": pk} for u, pk in targets],
        "comments": COMMENTS.get(kind, COMMENTS["pets"])[: 2 + n % 3],
        "next_comment": 0,
        "schedule_date": ctx.state.clock.stamp(now - timedelta(minutes=n % 5)),
        "last_action_date": ctx.state.clock.stamp(last_action),
    }


def demo_logs(ctx: SeedContext, schedule: Doc) -> list[Doc]:
    """A few past runs: one log per target per run, mostly successes."""
    logs = []
    last = ctx.state.clock.now() - timedelta(minutes=30)
    for runs_ago in range(ctx.rng.randint(2, 4)):
        date = ctx.state.clock.stamp(last - timedelta(hours=runs_ago * ctx.rng.randint(3, 9)))
        for target in schedule["targets"]:
            code = post_code(ctx.rng)
            if ctx.rng.random() < 0.8:
                text = spin(ctx.rng.choice(schedule["comments"]), ctx.rng)
                logs.append(new_log(schedule, "success", date, target=target, post_code=code,
                                    comment_text=text))
            else:
                status, message = ctx.rng.choice(OUTCOMES)
                logs.append(new_log(schedule, status, date, target=target, post_code=code,
                                    message=message))
    return logs


def seed_demo(ctx: SeedContext) -> None:
    """Schedules for 11 of alice's accounts (1-2 each), one for bob, and their logs."""
    table = ctx.state.store.table(SCHEDULES)
    chosen = [(ctx.accounts["alice"][pos], count) for pos, count in ALICE_PLAN.items()]
    chosen += [(ctx.accounts["bob"][pos], count) for pos, count in BOB_PLAN.items()]
    logs: list[Doc] = []
    n = 0
    for account, count in chosen:
        for _ in range(count):
            schedule = table.insert(demo_schedule(ctx, account, n))
            logs += demo_logs(ctx, schedule)
            n += 1
    # Inserted in date order, so id order is time order and lists can sort by id.
    logs.sort(key=lambda log: log["date"])
    ctx.state.store.table(LOGS).insert_many(logs)


def seed_scale(ctx: SeedContext, accounts: list[Doc]) -> None:
    """One active schedule per account on two of its niche's targets, bulk-inserted."""
    now = ctx.now
    docs = []
    for n, account in enumerate(accounts):
        kind = niche(account)
        targets = ctx.rng.sample(TARGETS.get(kind, TARGETS["fashion"]), k=2)
        docs.append({
            "user_id": account["user_id"],
            "account_id": account["id"],
            "is_active": True,
            "running": False,
            "comment_mode": "random" if n % 2 else "sequential",
            "targets": [{"username": u, "user_pk": pk} for u, pk in targets],
            "comments": COMMENTS.get(kind, COMMENTS["fashion"]),
            "next_comment": 0,
            "schedule_date": now,
            "last_action_date": now,
        })
    ctx.state.store.table(SCHEDULES).insert_many(docs)
