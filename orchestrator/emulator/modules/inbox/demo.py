"""InBox demo data: an agency's unified inbox of DMs, post comments and reviews.

Alice gets 30 threads spread over ten of her accounts, every channel type and status,
some archived, and four tags (VIP, Lead, Support, Complaint) on some threads; bob gets a
few threads and one tag of his own (also named VIP, so tag names are seen to be per user).
Conversations are scripted per channel and filled in with each account's niche.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from orchestrator.emulator.modules.inbox import models
from orchestrator.emulator.seed import SeedContext
from orchestrator.emulator.store import Doc

DEMO_TAGS = {
    "alice": [("VIP", "#f59e0b"), ("Lead", "#10b981"), ("Support", "#3b82f6"), ("Complaint", "#ef4444")],
    "bob": [("VIP", "#f59e0b")],
}
# Positions in alice's account list (ids 1-25) that have inbox traffic: every niche.
ALICE_ACCOUNTS = (0, 1, 2, 4, 8, 10, 15, 17, 21, 23)
ALICE_CHANNELS = ["dm"] * 14 + ["comment"] * 9 + ["review"] * 7
BOB_CHANNELS = ["dm", "comment", "dm", "review"]
STATUS_CYCLE = ("open", "pending", "closed", "open", "open")


@dataclass(frozen=True)
class Script:
    """A conversation: turns of ``them``, ``us`` or ``them_image``, and the tags it suggests."""

    turns: tuple[tuple[str, str], ...]
    tags: tuple[str, ...] = ()


PRODUCTS = {
    "fashion": ["linen blazer", "wrap dress", "cargo trousers", "chunky knit cardigan"],
    "fitness": ["12-week strength program", "resistance band set", "1:1 coaching plan", "meal prep guide"],
    "food": ["sourdough starter kit", "chef's tasting menu", "spice box", "plant-based cookbook"],
    "travel": ["Lisbon city guide", "Bali itinerary", "Dolomites photo tour", "Lightroom preset pack"],
    "pets": ["cat tree", "no-pull dog harness", "grooming kit", "monthly treat box"],
}

SCRIPTS: dict[str, list[Script]] = {
    "dm": [
        Script((("them", "Hi! Is the {p} still available?"),
                ("us", "Hi! Yes it is 😊 Which size are you after?"),
                ("them", "Medium please. How long does shipping to Germany take?"),
                ("us", "Usually 3-5 working days within the EU."),
                ("them", "Perfect, ordering now!")), ("Lead",)),
        Script((("them", "Hey, I ordered the {p} last week and still have no tracking number."),
                ("us", "So sorry about that! Could you send us your order number?"),
                ("them", "It's #48213"),
                ("us", "Thanks! Checking with the warehouse now, we'll get back to you today.")), ("Support",)),
        Script((("them", "Do you do collaborations? I'm a creator with 25k followers in your niche."),
                ("us", "We'd love to hear more! Could you send over your media kit?"),
                ("them", "Just emailed it to partnerships@ 🙌")), ("Lead", "VIP")),
        Script((("them", "What's the price of the {p}?"),
                ("us", "It's €49, and 10% off this week with code SPRING10."),
                ("them", "Does the code work with the bundle too?")), ("Lead",)),
        Script((("them", "The {p} arrived damaged 😞"),
                ("us", "Oh no, we're really sorry! Can you share a photo?"),
                ("them_image", "https://cdn.example.com/inbox/damage-48213.jpg"),
                ("them", "The box was crushed too.")), ("Complaint", "Support")),
        Script((("them", "Can I buy the {p} in bulk for my shop?"),
                ("us", "Absolutely, for 10+ units we offer wholesale pricing."),
                ("them", "Amazing, can you send a price list?"),
                ("us", "Sent to your email just now!"),
                ("them", "Got it, thanks!"),
                ("us", "Anytime 🙏")), ("Lead", "VIP")),
    ],
    "comment": [
        Script((("them", "Where can I get this {p}? 😍"),
                ("us", "Link in bio! 🔗"))),
        Script((("them", "Need this in my life 🔥"),
                ("us", "You'll love it! 💛"),
                ("them", "Just ordered 🙌"))),
        Script((("them", "Is there a discount code for the {p}?"),
                ("us", "Use WELCOME10 for 10% off your first order!")), ("Lead",)),
        Script((("them", "Still waiting on my refund, this is ridiculous."),
                ("us", "We're sorry! Please DM us your order number so we can sort this out today."),
                ("them", "Sent.")), ("Complaint",)),
        Script((("them", "Does the {p} come in other colours?"),)),
    ],
    "review": [
        Script((("them", "★★★★★ The {p} exceeded my expectations. Fast delivery too!"),
                ("us", "Thank you so much for the lovely review! 💛"))),
        Script((("them", "★★☆☆☆ Quality is fine but delivery took three weeks."),
                ("us", "We're sorry about the delay, we've switched couriers to speed things up."),
                ("them", "Appreciate the reply, will give you another try.")), ("Complaint",)),
        Script((("them", "★★★★☆ Great {p}, runs slightly small though."),)),
        Script((("them", "★☆☆☆☆ Never received my order and no answer to my emails."),),
               ("Complaint", "Support")),
    ],
}

HANDLES = ["emma.styles", "lucas_runs", "sofia.eats", "noah.wanders", "mia_fitlife", "liam.cooks",
           "olivia.threads", "ethan_lifts", "ava.travels", "mason.bakes", "isla_moda", "leo.trails",
           "chloe_plates", "jack.outdoors", "zoe.minimal", "finn_paws", "ruby.vintage", "theo_trains"]


def seed_demo(ctx: SeedContext) -> None:
    """Tags and threads for alice and bob (see the module docstring)."""
    alice_accounts = [ctx.accounts["alice"][i] for i in ALICE_ACCOUNTS]
    _seed_user(ctx, "alice", alice_accounts, ALICE_CHANNELS)
    _seed_user(ctx, "bob", ctx.accounts["bob"][:2], BOB_CHANNELS)


def _seed_user(ctx: SeedContext, owner: str, accounts: list[Doc], channels: list[str]) -> None:
    store = ctx.state.store
    user_id = ctx.users[owner]["id"]
    tag_table = store.table(models.TAGS, key="name_key")
    tag_ids = {name: tag_table.insert(models.new_tag(user_id, name, color))["id"] for name, color in DEMO_TAGS[owner]}
    channels = list(channels)
    ctx.rng.shuffle(channels)
    now = ctx.state.clock.now()
    threads: list[Doc] = []
    messages: list[Doc] = []
    seen: dict[str, int] = {}
    for i, channel in enumerate(channels):
        account = accounts[i % len(accounts)]
        script = ctx.rng.choice(SCRIPTS[channel])
        # Statuses cycle within each channel, so every channel shows every status.
        nth = seen[channel] = seen.get(channel, -1) + 1
        status = STATUS_CYCLE[nth % len(STATUS_CYCLE)]
        # Some closed threads are archived, and one open one (archiving does not close).
        archived = (status == "closed" and nth % 2 == 0) or (channel, nth) == ("dm", 3)
        thread, thread_messages = _thread(ctx, account, channel, script, tag_ids, now, status, archived)
        threads.append(thread)
        messages.extend(thread_messages)
    if not any(t["tag_ids"] for t in threads):
        # Every user has a tagged thread, so tag filters and cross-user checks find something.
        threads[0]["tag_ids"] = [next(iter(tag_ids.values()))]
    store.table(models.THREADS, key="thread_id").insert_many(threads)
    store.table(models.MESSAGES, key="thread_id").insert_many(messages)


def _thread(ctx: SeedContext, account: Doc, channel: str, script: Script, tag_ids: dict[str, int],
            now: datetime, status: str, archived: bool) -> tuple[Doc, list[Doc]]:
    rng = ctx.rng
    niche = account["username"].split("_", 1)[0]
    product = rng.choice(PRODUCTS.get(niche, PRODUCTS["fashion"]))
    handle = rng.choice(HANDLES)
    them = {"id": str(rng.randrange(17_841_400_000_000_000, 17_841_499_999_999_999)), "username": handle,
            "avatar": None if rng.random() < 0.5 else f"https://cdn.example.com/avatars/{handle}.jpg"}
    prefix = {"dm": "t", "comment": "c", "review": "r"}[channel]
    thread_id = models.make_thread_id(account["id"], channel, f"{prefix}_{rng.randrange(10**13, 10**14)}")
    last_at = now - timedelta(minutes=rng.randint(5, 60 * 24 * 10))
    gaps = [rng.randint(2, 180) for _ in script.turns]
    stamps = [last_at - timedelta(minutes=sum(gaps[k + 1:])) for k in range(len(script.turns))]
    us = {"id": str(account["id"]), "username": account["username"]}
    messages = [
        _message(ctx, account, thread_id, kind, text.format(p=product), stamps[k], them, us)
        for k, (kind, text) in enumerate(script.turns)
    ]
    trailing_theirs = 0
    for m in reversed(messages):
        if m["is_sent_by_us"]:
            break
        trailing_theirs += 1
    thread = {
        "user_id": account["user_id"],
        "account_id": account["id"],
        "channel_type": channel,
        "thread_id": thread_id,
        "participants": [them],
        "unread_count": 0 if status == "closed" else trailing_theirs,
        "last_message": models.preview(messages[-1]),
        "last_activity_at": messages[-1]["timestamp"],
        "is_archived": archived,
        "status": status,
        "tag_ids": [tag_ids[t] for t in script.tags if t in tag_ids and rng.random() < 0.75]
        + ([tag_ids["VIP"]] if "VIP" not in script.tags and rng.random() < 0.1 else []),
    }
    return thread, messages


def _message(ctx: SeedContext, account: Doc, thread_id: str, kind: str, text: str, at: datetime,
             them: dict[str, Any], us: dict[str, Any]) -> Doc:
    sent_by_us = kind == "us"
    return {
        "user_id": account["user_id"],
        "account_id": account["id"],
        "thread_id": thread_id,
        "content_type": "image" if kind == "them_image" else "text",
        "content": text,
        "timestamp": ctx.state.clock.iso(at),
        "is_sent_by_us": sent_by_us,
        "sender": us if sent_by_us else {"id": them["id"], "username": them["username"]},
    }
