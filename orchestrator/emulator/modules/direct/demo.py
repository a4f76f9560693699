"""Direct Basic demo data: native Instagram DM inboxes for five of alice's accounts and one of bob's.

fashion_nova (account 1) is the busy one: more primary threads than one page holds, and
a group chat whose history needs two pages of messages. Every seeded account has one to
three message requests waiting. Conversations are scripted and filled in per niche.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from orchestrator.emulator.modules.direct import models
from orchestrator.emulator.seed import SeedContext
from orchestrator.emulator.store import Doc

# Position in the owner's account list -> (primary threads, general threads, pending requests).
ALICE_LAYOUT = {0: (13, 3, 3), 4: (2, 1, 1), 9: (4, 2, 2), 16: (3, 2, 1), 22: (3, 1, 2)}
BOB_LAYOUT = {0: (2, 1, 1)}

Turn = tuple[str, str, str | None]  # (who: "them" | "me", item type, text)

PRODUCTS = {
    "fashion": ["linen blazer", "satin slip dress", "wide-leg jeans"],
    "fitness": ["8-week shred plan", "kettlebell course", "online coaching"],
    "food": ["weekend brunch menu", "pasta masterclass", "gift hamper"],
    "travel": ["Amalfi guide", "Iceland road trip map", "preset bundle"],
    "pets": ["orthopedic dog bed", "catnip toy set", "puppy starter box"],
}

CONVERSATIONS: list[list[Turn]] = [
    [("them", "text", "Hi, do you ship internationally?"),
     ("me", "text", "Hi! Yes, we ship to 40+ countries 🌍"),
     ("them", "text", "Amazing, ordering the {p} tonight then")],
    [("them", "media_share", None),
     ("them", "text", "Is this the {p} from your last post?"),
     ("me", "text", "Yes! It's back in stock since Monday."),
     ("them", "like", "❤️")],
    [("them", "text", "Hey! My order hasn't arrived yet, it's been 10 days"),
     ("me", "text", "Sorry to hear that! Can you send your order number?"),
     ("them", "text", "#58120"),
     ("me", "text", "Thanks, it's with the courier and should arrive tomorrow."),
     ("them", "text", "Great, thank you!")],
    [("them", "text", "Do you offer gift cards?"),
     ("me", "text", "We do! From €25, delivered by email.")],
    [("me", "text", "Hi! Thanks for tagging us in your story 💛 Can we repost it?"),
     ("them", "text", "Of course, go ahead!"),
     ("me", "like", "❤️")],
    [("them", "text", "What's the price of the {p}?"),
     ("me", "text", "It's €59, with free shipping over €50."),
     ("them", "text", "Perfect, thanks"),
     ("them", "text", "Any discount for students?")],
]

REQUESTS: list[list[Turn]] = [
    [("them", "text", "Hi! Love your page 😍 Are you open to a paid collab?")],
    [("them", "text", "Hey, quick question about the {p}"), ("them", "text", "Does it run true to size?")],
    [("them", "text", "Grow your page to 100k real followers 🚀 DM for prices")],
    [("them", "text", "Hello! I'm a photographer in Lisbon, would love to shoot your next campaign"),
     ("them", "media_share", None)],
]

# The busy account's group chat: (speaker index, or -1 for the account itself; text).
GROUP_TITLE = "Spring shoot crew 📸"
GROUP_CHAT: list[tuple[int, str]] = [
    (-1, "Morning team! Shoot is confirmed for Saturday at 9"), (0, "Yay! Where are we meeting?"),
    (-1, "Studio on Rua Augusta, I'll send the pin"), (1, "Do we have the final shot list?"),
    (-1, "Uploading it to the drive now"), (2, "Got it, looks great"), (0, "Who's bringing the steamer?"),
    (2, "I can bring mine"), (-1, "Thanks Marta 🙏"), (1, "Models arrive at 9:30 right?"),
    (-1, "Yes, hair and makeup start at 9:45"), (0, "Should we shoot the blazers first? Best light"),
    (-1, "Good call, blazers first then dresses"), (2, "Lunch order?"), (1, "Poke bowls for everyone"),
    (0, "+1"), (2, "Ordered for 13:00"), (-1, "Reminder: bring the backup SD cards"),
    (1, "Packed 4 of them"), (0, "Weather looks sunny for the outdoor set ☀️"),
    (-1, "Perfect, we'll do the terrace at 16:00"), (2, "I'll scout the terrace on Friday"),
    (1, "Anyone need a ride?"), (0, "Me please!"), (-1, "See you all Saturday!"), (2, "🙌"),
]
GROUP_MEMBERS = ["marta.lens", "joao_styles", "ines.mua"]

HANDLES = ["jane_smith", "carlos.fit", "amelie_eats", "oscar.roams", "hannah_knits", "dev.lifts",
           "lena.bakes", "milo_outdoors", "sara.chic", "ben_wanders", "nora.cooks", "felix_runs",
           "iris.vintage", "tom_trails", "maya.moves", "kai_plates", "elsa.threads", "rio_paws",
           "ada.studio", "hugo_climbs", "vera.brunch", "nico.shoots", "lola_linen", "arlo.hikes"]


def seed_demo(ctx: SeedContext) -> None:
    """DM inboxes and pending requests (see the module docstring)."""
    for owner, layout in (("alice", ALICE_LAYOUT), ("bob", BOB_LAYOUT)):
        for position, (primary, general, requests) in layout.items():
            _seed_account(ctx, ctx.accounts[owner][position], primary, general, requests)


def _seed_account(ctx: SeedContext, account: Doc, primary: int, general: int, requests: int) -> None:
    rng = ctx.rng
    now = ctx.state.clock.now()
    niche = account["username"].split("_", 1)[0]
    product = rng.choice(PRODUCTS.get(niche, PRODUCTS["fashion"]))
    plan = [("inbox", 0)] * primary + [("inbox", 1)] * general + [("pending", 0)] * requests
    group_first = account["username"] == "fashion_nova"
    handles = rng.sample(HANDLES, len(plan))  # one thread per person in an account
    for n, (box, folder) in enumerate(plan):
        last_at = now - timedelta(minutes=rng.randint(3, 60 * 24 * 14))
        if group_first and n == 0:
            _group_thread(ctx, account, last_at)
            continue
        script = rng.choice(REQUESTS if box == "pending" else CONVERSATIONS)
        them = {"id": str(rng.randrange(10**9, 10**11)), "username": handles[n]}
        turns = [(them["id"] if who == "them" else None, kind, text and text.format(p=product))
                 for who, kind, text in script]
        _insert_thread(ctx, account, box, folder, [them], them["username"], turns, last_at)


def _group_thread(ctx: SeedContext, account: Doc, last_at: datetime) -> None:
    members = [{"id": str(ctx.rng.randrange(10**9, 10**11)), "username": u} for u in GROUP_MEMBERS]
    turns = [(None if who < 0 else members[who]["id"], "text", text) for who, text in GROUP_CHAT]
    _insert_thread(ctx, account, "inbox", 0, members, GROUP_TITLE, turns, last_at)


def _insert_thread(ctx: SeedContext, account: Doc, box: str, folder: int, participants: list[dict[str, str]],
                   title: str, turns: Sequence[tuple[str | None, str, str | None]], last_at: datetime) -> None:
    """One thread and its messages; a turn's sender None is the account itself."""
    rng = ctx.rng
    store = ctx.state.store
    last_us = int(last_at.timestamp()) * 1_000_000
    # Messages step back from the last one by a few minutes each.
    stamps = [last_us]
    for _ in turns[1:]:
        stamps.append(stamps[-1] - rng.randint(60, 3 * 3600) * 1_000_000)
    stamps.reverse()
    trailing_theirs = 0
    for sender, _, _ in reversed(turns):
        if sender is None:
            break
        trailing_theirs += 1
    thread = store.table(models.THREADS, key="thread_id").insert({
        "user_id": account["user_id"],
        "account_id": account["id"],
        "thread_id": f"34028236684171030{rng.randrange(10**22):022d}",
        "thread_title": title,
        "is_group": len(participants) > 1,
        "unread_count": trailing_theirs if box == "pending" or rng.random() < 0.6 else 0,
        "participants": participants,
        "last_message": None,
        "last_activity": last_us,
        "folder": folder,
        "box": box,
        "archived": box == "inbox" and rng.random() < 0.1,
    })
    messages = [
        {
            "user_id": account["user_id"],
            "account_id": account["id"],
            "thread_id": thread["thread_id"],
            "item_id": f"{thread['id']}:{seq}",
            "type": kind,
            "timestamp": stamp,
            "sender_pk": sender or models.account_pk(account["id"]),
            "text": text,
            "is_sent_by_me": sender is None,
        }
        for seq, ((sender, kind, text), stamp) in enumerate(zip(turns, stamps, strict=True), start=1)
    ]
    store.table(models.MESSAGES, key="thread_id").insert_many(messages)
    thread["last_message"] = models.preview(messages[-1])
    store.table(models.THREADS, key="thread_id").update(thread)
