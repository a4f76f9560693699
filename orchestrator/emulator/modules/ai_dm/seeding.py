"""AI-DM seed data: six of alice's brand accounts answering DMs with an AI, and one of bob's.

Bob's plan lacks ``ai-dm``: his schedule exists (he had the module once), his requests
get 403, and the engine switches his schedule off on its first pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator.emulator.clock import FORMAT
from orchestrator.emulator.modules.ai_dm.models import (
    LOGS,
    MESSAGES,
    SCHEDULES,
    THREADS,
    new_log,
    new_message,
)
from orchestrator.emulator.scheduler import no_pause
from orchestrator.emulator.seed import SeedContext
from orchestrator.emulator.store import Doc

# (sent by us, item_type, content): one message of a conversation.
Item = tuple[bool, str, dict[str, Any]]


def them(text: str) -> Item:
    return (False, "text", {"text": text})


def us(text: str) -> Item:
    return (True, "text", {"text": text})


LIKE: Item = (False, "like", {"like": "❤️"})

# Conversations per niche, oldest message first. A conversation ending with a text from
# them is unanswered: the engine's first pass answers it.
CONVERSATIONS: dict[str, list[list[Item]]] = {
    "fashion": [
        [them("Hi! Is the linen blazer still available in size M?"),
         us("Hi there! Yes, the linen blazer is back in stock in M 🙌 Want the link?"),
         them("Yes please!"),
         us("Here you go: it's under 'New In' in our bio. "
            "Code SPRING15 gives 15% off your first order ✨")],
        [them("Do you ship to Germany?"),
         us("We do! EU shipping takes 3–5 business days and it's free over €80 📦"),
         them("Perfect, and returns?"),
         us("30-day free returns across the EU — just keep the tags on 😊"),
         LIKE],
        [(False, "media_share", {"media_share": {"code": "C5kP2xLrQ9a", "media_type": 1},
                                 "text": "Saw this on your story, how much is it?"}),
         us("That's our Amalfi midi dress, €129 — part of the summer collection 🌊")],
        [them("What's the fabric of the satin slip dress? 🤍")],
    ],
    "fitness": [
        [them("Hey, do you offer online coaching?"),
         us("Yes! Our 12-week online program has custom training plus weekly nutrition "
            "check-ins 💪"),
         them("How much is it?"),
         us("It's $89/month and the first week is free. Want the sign-up link?")],
        [them("Which protein do you recommend for beginners?"),
         us("Our whey isolate is a great start — 25g protein per scoop, low sugar. "
            "Vanilla is the favourite 🥛"),
         them("Thanks!! ordering now")],
        [them("Is the 6am HIIT class still on Saturdays?"),
         us("It is! Saturdays 6am at the Riverside studio. Bring water and a towel 🔥")],
        [them("Do you have a student discount for the gym membership?")],
    ],
    "food": [
        [them("Do you take reservations for 8 people on Friday?"),
         us("We'd love to host you! For groups of 6+ we book by message — what time works?"),
         them("Around 7:30pm"),
         us("7:30pm Friday for 8 is pencilled in 🍝 We'll confirm by tomorrow noon.")],
        [them("Is the sourdough vegan?"),
         us("Yes — just flour, water, salt and starter. 100% vegan 🌱")],
        [them("Can I get the recipe for the chili oil noodles?? 😍"),
         us("Haha it's a family secret… but a video version drops next week! "
            "Turn on notifications 🔔"),
         LIKE],
        [them("Are you open on Easter Monday?")],
    ],
    "travel": [
        [them("How much is the Bali 7-day retreat?"),
         us("The 7-day retreat starts at $1,450 per person, with villa stay, yoga and two "
            "excursions 🌴"),
         them("Are flights included?"),
         us("Flights aren't included, but we can suggest the best routes from your city ✈️")],
        [them("Best time to visit Iceland for the northern lights?"),
         us("Late September to March is ideal — we run small-group tours every week then 🌌")],
        [them("Any spots left for the Lisbon food tour in May?")],
    ],
    "pets": [
        [them("Do you have grain-free kibble for puppies?"),
         us("Yes! Our Puppy Grain-Free formula is made for dogs up to 12 months 🐶")],
        [them("Does the cat tower come in grey?")],
    ],
}
PEOPLE = [
    ("emma.styles", "Emma Laurent"), ("lucas_runs", "Lucas Meyer"), ("sofia.eats", "Sofia Rossi"),
    ("noah.travels", "Noah Kim"), ("mia_k", "Mia Kowalski"), ("liam.fit", "Liam O'Brien"),
    ("chloe.wanders", "Chloé Martin"), ("ben_bakes", "Ben Carter"), ("ava.moves", "Ava Johnson"),
    ("jonas.lens", "Jonas Berg"), ("zoe.plants", "Zoë Ng"), ("omar.shots", "Omar Haddad"),
]
PROMPTS = {
    "fashion": "You are the friendly stylist of {brand}, a sustainable fashion label. Answer in "
               "one or two short sentences, suggest products from the current collection, "
               "never invent prices.",
    "fitness": "You are the coach assistant of {brand}, a fitness studio. Be upbeat, answer "
               "briefly, and invite people to a free trial week when it fits.",
    "food": "You are the host of {brand}, a neighbourhood restaurant. Answer questions about the "
            "menu, opening hours and bookings in a warm, short tone.",
    "travel": "You are the travel advisor of {brand}, a small-group tour company. Answer "
              "briefly, share dates and prices only from the brochure, and offer to hold a spot.",
    "pets": "You are the helpful assistant of {brand}, a pet supplies shop. Keep answers short "
            "and kind.",
}


@dataclass(frozen=True)
class Plan:
    """One seeded AI-DM schedule: which of the owner's accounts, and how it is set up."""

    position: int
    model: str
    cta: dict[str, Any]
    active: bool = True
    pause: tuple[str, str] | None = None
    has_key: bool = True
    running: bool = False


def cta(platform: str | None = None, username: str | None = None,
        spintax: str | None = None) -> dict[str, Any]:
    return {"platform": platform, "username": username, "spintax": spintax}


ALICE_PLANS = [
    Plan(0, "gpt-4o-mini", cta("whatsapp", "+14155550123")),
    Plan(2, "gpt-4", cta("website", "https://luxe-atelier.example/shop",
                         "{Shop|Browse} the new collection"), running=True),
    Plan(9, "gpt-4o", cta("telegram", "@flexstudio", "{Chat with|Message} our coaches on Telegram"),
         pause=("23:00", "07:00")),
    Plan(15, "gpt-3.5-turbo", cta(), active=False, has_key=False),
    Plan(17, "gpt-4o-mini", cta("whatsapp", "+442071838750"), pause=("22:30", "09:00")),
    Plan(21, "gpt-4o", cta("whatsapp", "+34911234567",
                           "{Plan your trip|Talk to an advisor} on WhatsApp")),
]
BOB_PLAN = Plan(0, "gpt-3.5-turbo", cta("website", "https://pawsandtails.example"))


def niche(account: Doc) -> str:
    return account["username"].split("_", 1)[0]


def seed_demo(ctx: SeedContext) -> None:
    """AI-DM schedules with realistic brand conversations, and the logs of the replies sent."""
    plans = [(ctx.accounts["alice"][p.position], p) for p in ALICE_PLANS]
    plans.append((ctx.accounts["bob"][BOB_PLAN.position], BOB_PLAN))
    messages: list[Doc] = []
    logs: list[Doc] = []
    for n, (account, plan) in enumerate(plans):
        schedule = ctx.state.store.table(SCHEDULES).insert(demo_schedule(ctx, account, n, plan))
        conversations = CONVERSATIONS.get(niche(account), CONVERSATIONS["pets"])
        for i, conversation in enumerate(conversations):
            thread, thread_messages = demo_thread(ctx, account, n * 5 + i, conversation)
            messages += thread_messages
            logs += reply_logs(schedule, thread, thread_messages)
        logs += problem_logs(schedule, account, plan)
    ctx.state.store.table(MESSAGES).insert_many(messages)
    # Inserted in date order, so id order is time order and lists can sort by id.
    logs.sort(key=lambda log: log["date"])
    ctx.state.store.table(LOGS).insert_many(logs)


def demo_schedule(ctx: SeedContext, account: Doc, n: int, plan: Plan) -> Doc:
    now = ctx.state.clock.now()
    brand = account["username"].replace("_", " ").title()
    key = "sk-proj-" + "".join(ctx.rng.choice("0123456789abcdef") for _ in range(48))
    last_action = now - (timedelta(minutes=3 + 11 * n) if plan.active else timedelta(days=3))
    pause = no_pause()
    if plan.pause:
        pause = {"enabled": True, "from": plan.pause[0], "to": plan.pause[1]}
    return {
        "user_id": account["user_id"],
        "account_id": account["id"],
        "account_name": account["username"],
        "is_active": plan.active,
        "is_running": plan.running,
        "daily_pause": pause,
        "cta": plan.cta,
        "settings": {
            "system_prompt": PROMPTS.get(niche(account), PROMPTS["pets"]).format(brand=brand),
            "openai_api_key": key if plan.has_key else None,
            "model": plan.model,
            "folder": "0" if n % 3 else "1",
            "max_per_conversation": 3 + n % 3,
            "max_per_day_requests": 200,
            "max_per_run_requests": 50,
            "max_per_day_messages": 100 - 10 * (n % 3),
            "max_per_run_messages": 25,
            "max_time": 300,
        },
        "usage": None,
        "schedule_date": ctx.state.clock.stamp(now - timedelta(days=4 + n)),
        "last_action_date": ctx.state.clock.stamp(last_action),
    }


def demo_thread(ctx: SeedContext, account: Doc, n: int,
                conversation: list[Item]) -> tuple[Doc, list[Doc]]:
    """Insert one thread; return it and its messages (not yet inserted), over recent days."""
    now = ctx.state.clock.now()
    stamp = ctx.state.clock.stamp
    username, fullname = PEOPLE[n % len(PEOPLE)]
    thread = ctx.state.store.table(THREADS).insert({
        "user_id": account["user_id"],
        "account_id": account["id"],
        "thread_v2_id": str(ctx.rng.randrange(10**16, 10**17)),
        "them_user_pk": str(ctx.rng.randrange(10**9, 10**11)),
        "them_username": username,
        "them_fullname": fullname,
    })
    when = now - timedelta(days=ctx.rng.randint(1, 6), hours=ctx.rng.randint(0, 12))
    times: list[datetime] = []
    for _ in conversation:
        when += timedelta(minutes=ctx.rng.randint(1, 90))
        times.append(min(when, now - timedelta(minutes=1)))
    messages = [new_message(thread, at, by_us, item_type, content, ctx.rng)
                for at, (by_us, item_type, content) in zip(times, conversation, strict=True)]
    ours = [at for at, item in zip(times, conversation, strict=True) if item[0]]
    theirs = [at for at, item in zip(times, conversation, strict=True) if not item[0]]
    # Their last message, unless only a like, awaits an answer: it came after the last check.
    last_by_us, last_type, _ = conversation[-1]
    awaiting = not last_by_us and last_type != "like"
    checked = times[-1] - timedelta(minutes=5) if awaiting else times[-1] + timedelta(seconds=30)
    thread.update({
        "item_count": len(conversation),
        "last_activity_at": stamp(times[-1]),
        "last_seen_by_us": stamp(min(checked, times[-1])),
        "last_seen_by_them": stamp(ours[-1] + timedelta(minutes=4)) if ours else None,
        "last_permanent_item_at": stamp(times[-1]),
        "last_non_sender_item_at": stamp(theirs[-1]) if theirs else None,
        "last_checked": stamp(checked),
        "sent_by_us": len(ours),
        "awaiting_reply": awaiting,
    })
    ctx.state.store.table(THREADS).update(thread)
    return thread, messages


def reply_logs(schedule: Doc, thread: Doc, messages: list[Doc]) -> list[Doc]:
    """A success log for every message the AI sent in a thread."""
    model = schedule["settings"]["model"]
    return [
        new_log(schedule, "reply", "success", stamp_of(m["timestamp"]),
                f"Replied to @{thread['them_username']}.", thread_id=thread["id"],
                details={"model": model, "tokens": 60 + len(m["content"]["text"]) // 2})
        for m in messages if m["is_sent_by_us"]
    ]


def problem_logs(schedule: Doc, account: Doc, plan: Plan) -> list[Doc]:
    """What went wrong before the demo starts: a missing key, an expired session."""
    logs = []
    if not plan.has_key:
        logs.append(new_log(schedule, "system", "error", schedule["last_action_date"],
                            "OpenAI API key is not configured.",
                            details={"code": "missing_api_key"}))
    if account.get("login_required"):
        logs.append(new_log(schedule, "reply", "error", schedule["last_action_date"],
                            "Instagram session expired: the account needs a new login.",
                            details={"code": "login_required"}))
    return logs


def stamp_of(microseconds: str) -> str:
    return datetime.fromtimestamp(int(microseconds) // 1_000_000, UTC).strftime(FORMAT)
