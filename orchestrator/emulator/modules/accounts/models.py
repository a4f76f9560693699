"""Accounts and account actions: state and rules, no HTTP.

An account belongs to one user and is unique by (user, username). Its password is kept
only as a SHA-256 and never rendered; ``public()`` is the only way a document leaves.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from orchestrator.emulator.context import Ctx, Paging
from orchestrator.emulator.errors import Conflict, ValidationFailed
from orchestrator.emulator.modules.accounts.credentials import Credentials
from orchestrator.emulator.seed import SeedContext
from orchestrator.emulator.store import Doc, to_json

TABLE = "accounts"
PUBLIC_FIELDS = ("id", "username", "full_name", "platform", "is_active", "login_required",
                 "is_slave", "proxy", "is_private", "date", "last_login")
DEMO_NICHES = {"fashion": 8, "fitness": 7, "food": 6, "travel": 4}
MAX_BULK = 1000


def public(doc: Doc) -> dict[str, Any]:
    return {k: doc.get(k) for k in PUBLIC_FIELDS}


def new_account(ctx_now: str, user_id: int, username: str, n: int, proxy: str | None) -> Doc:
    return {
        "user_id": user_id,
        "username": username,
        "full_name": username.replace("_", " ").title(),
        "platform": "instagram",
        "is_active": True,
        "login_required": False,
        "is_slave": False,
        "proxy": proxy,
        "is_private": False,
        "date": ctx_now,
        "last_login": ctx_now,
        "followers": 1000 + (n * 7919) % 50000,
        "following": 200 + (n * 104729) % 1500,
        "posts": 10 + (n * 31) % 400,
        "password_sha256": hashlib.sha256(f"seed-password-{n}".encode()).hexdigest(),
        "options": {"engagement": {"likes_today": 0, "follows_today": 0}},
        "login_activity": [{"date": ctx_now, "event": "login", "ip": f"203.0.113.{n % 250 + 1}", "status": "success"}],
        "backup_codes": [f"{(n * 7 + i * 1234567) % 100000000:08d}" for i in range(5)],
        "proxy_seq": 0,
    }


def proxy_for(account_id: int, seq: int) -> str:
    """Allocate from the emulated proxy pool (TEST-NET-3 addresses: documentation only)."""
    return f"socks5://203.0.113.{(account_id * 7 + seq * 13) % 254 + 1}:{1080 + seq % 10}"


# -- reads -----------------------------------------------------------------
def list_accounts(
    ctx: Ctx,
    paging: Paging,
    platform: str | None = None,
    *,
    search: str | None = None,
    login_required: bool | None = None,
    is_slave: bool | None = None,
    is_active: bool | None = None,
) -> tuple[list[bytes], int]:
    """The caller's accounts matching every filter given, each as the JSON text of its public
    view; ``search`` is a case-insensitive substring of the username or the full name."""
    flags: dict[str, Any] = {"platform": platform, "login_required": login_required, "is_slave": is_slave,
                             "is_active": is_active}
    table = ctx.store.table(TABLE)
    needle = (search or "").strip().lower()
    if not needle:
        return table.find_rendered(public, user_id=ctx.owner_scope, page=paging.page, per_page=paging.per_page,
                                   **flags)
    docs, total = _search(ctx, paging, needle, flags)
    return [to_json(public(d)).encode() for d in docs], total


def _search(ctx: Ctx, paging: Paging, needle: str, flags: dict[str, Any]) -> tuple[list[Doc], int]:
    # The store's finder matches equality only; a substring match in SQL spares decoding every
    # account of a 10,000-account user (about 10 times faster than filtering in Python).
    # SQLite's lower() folds ASCII only, which is what Instagram usernames are made of.
    clauses = ["(instr(lower(json_extract(data, '$.username')), ?) > 0"
               " OR instr(lower(ifnull(json_extract(data, '$.full_name'), '')), ?) > 0)"]
    args: list[Any] = [needle, needle]
    if ctx.owner_scope is not None:
        clauses.append("user_id = ?")
        args.append(ctx.owner_scope)
    for field, value in flags.items():
        if value is not None:
            clauses.append(f"json_extract(data, '$.{field}') = ?")
            args.append(int(value) if isinstance(value, bool) else value)
    where = " WHERE " + " AND ".join(clauses)
    db = ctx.store.db
    # One scan gives the page and the total (a window count); a page past the end needs a count.
    rows = db.execute(f"SELECT data, COUNT(*) OVER () FROM {TABLE}{where} ORDER BY id LIMIT ? OFFSET ?",
                      [*args, paging.per_page, (paging.page - 1) * paging.per_page]).fetchall()
    total = rows[0][1] if rows else db.execute(f"SELECT COUNT(*) FROM {TABLE}{where}", args).fetchone()[0]
    return [json.loads(r[0]) for r in rows], total


def stats(doc: Doc) -> dict[str, Any]:
    return {"account_id": doc["id"], "followers": doc["followers"], "following": doc["following"],
            "posts": doc["posts"]}


# -- account actions ---------------------------------------------------------
def refresh_cookies(ctx: Ctx, doc: Doc) -> None:
    if doc.get("challenge"):
        # A re-login meets the same challenge: only its code logs the account in.
        raise Conflict("A login challenge is pending: complete it with POST /accounts/challenge")
    now = ctx.clock.stamp()
    doc["login_required"] = False
    doc["last_login"] = now
    doc["login_activity"] = ([{"date": now, "event": "cookies_refreshed", "ip": "203.0.113.1", "status": "success"}]
                             + doc["login_activity"])[:50]
    ctx.store.table(TABLE).update(doc)


def change_proxy(ctx: Ctx, doc: Doc, proxy: str | None) -> str:
    if proxy is not None:
        validate_proxy(proxy)
    doc["proxy_seq"] = doc.get("proxy_seq", 0) + 1
    doc["proxy"] = proxy or proxy_for(doc["id"], doc["proxy_seq"])
    ctx.store.table(TABLE).update(doc)
    return doc["proxy"]


def validate_proxy(proxy: str) -> None:
    scheme, sep, rest = proxy.partition("://")
    hostport = rest if sep else proxy
    if (sep and scheme not in ("http", "https", "socks5", "socks4")) or ":" not in hostport:
        raise ValidationFailed({"proxy": "Proxy must look like [scheme://][user:pass@]host:port"})


def set_private(ctx: Ctx, doc: Doc, private: bool) -> None:
    doc["is_private"] = private
    ctx.store.table(TABLE).update(doc)


def reset_options(ctx: Ctx, doc: Doc) -> None:
    doc["options"] = {}
    ctx.store.table(TABLE).update(doc)


def set_password(ctx: Ctx, doc: Doc, password: str) -> None:
    doc["password_sha256"] = hashlib.sha256(password.encode()).hexdigest()
    doc["login_required"] = bool(doc.get("challenge"))  # a pending challenge still wants its code
    ctx.store.table(TABLE).update(doc)


# -- account lifecycle (the later revision) ------------------------------------------
# Instagram asks a new login to confirm a code it sent; the emulator keeps that code on the
# account (never rendered by ``public()``) so a test can read it from the control surface.
PATCHABLE = frozenset({"proxy", "is_active"})
MAX_CHALLENGE_ATTEMPTS = 5
CHALLENGE_TOKEN_PREFIX = "chl_"


def add_account(ctx: Ctx, username: str, password: str, proxy: str | None) -> Doc:
    """A new account for the caller, waiting for its login challenge (``login_required``)."""
    doc = _insert_account(ctx, username, password, proxy)
    start_challenge(ctx, doc)
    return doc


def own_by_username(ctx: Ctx, username: str) -> Doc | None:
    """The caller's own account named ``username`` (an admin's own too: usernames are unique
    per user, so across users the name would be ambiguous)."""
    return ctx.store.table(TABLE, key="username").find_one(user_id=ctx.user.id, key=username)


def _insert_account(ctx: Ctx, username: str, password: str, proxy: str | None) -> Doc:
    table = ctx.store.table(TABLE, key="username")
    if own_by_username(ctx, username) is not None:
        raise Conflict("An account with this username already exists")
    if proxy is not None:
        validate_proxy(proxy)
    now = ctx.clock.stamp()
    n = table.count() + 1
    doc = new_account(now, ctx.user.id, username, n, proxy)
    doc.update(full_name=None, login_required=True, last_login=None, login_activity=[],
               password_sha256=hashlib.sha256(password.encode()).hexdigest())
    return table.insert(doc)


def start_challenge(ctx: Ctx, doc: Doc) -> None:
    doc["challenge_seq"] = doc.get("challenge_seq", 0) + 1
    seed = f"challenge:{doc['id']}:{doc['username']}:{doc['challenge_seq']}".encode()
    doc["challenge"] = {
        "code": f"{int(hashlib.sha256(seed).hexdigest(), 16) % 1_000_000:06d}",
        # What a client names the challenge by when it does not keep the account id (the
        # later revision's third-party clients): deterministic like the code, so a scripted
        # world replays; a new challenge has a new token, so a finished one's token is dead.
        "token": CHALLENGE_TOKEN_PREFIX + hashlib.sha256(b"token:" + seed).hexdigest()[:40],
        "method": "email",
        "attempts": 0,
        "date": ctx.clock.stamp(),
    }
    doc["login_required"] = True
    _activity(ctx, doc, "challenge_required", "pending")
    ctx.store.table(TABLE).update(doc)


def challenge_view(doc: Doc) -> dict[str, Any]:
    """What the API tells about a pending challenge: never the code."""
    challenge = doc.get("challenge") or {}
    return {"account_id": doc["id"], "status": "pending" if challenge else "none",
            "method": challenge.get("method"), "attempts_left": MAX_CHALLENGE_ATTEMPTS - challenge.get("attempts", 0),
            "challenge_token": challenge.get("token")}


def by_challenge_token(ctx: Ctx, token: str) -> Doc:
    """The account whose pending challenge has ``token``, among those the caller may act on.

    An unknown token, a finished or voided challenge's, and another user's all answer the
    same 422: a token is a name for a challenge, not a path, and none is confirmed."""
    doc = ctx.store.table(TABLE).find_one(user_id=ctx.owner_scope, **{"challenge.token": token.strip()})
    if doc is None:
        raise ValidationFailed({"challenge_token": "No pending login challenge has this token: log in again"})
    return doc


def login(ctx: Ctx, doc: Doc, password: str | None, creds: Credentials | None = None,
          proxy: str | None = None) -> bool:
    """Log the account in again. True when logged in; False when a challenge now waits.

    ``creds`` (a two-factor secret, an IMAP mailbox) are kept on the account once the password
    is right; with a two-factor secret the server answers Instagram's code itself, so a login
    that would meet a new challenge is logged in at once. A pending challenge still wants its
    code: two-factor is not a way around a checkpoint already raised. A given ``proxy``
    replaces the account's (the login goes through it)."""
    if password is not None and hashlib.sha256(password.encode()).hexdigest() != doc["password_sha256"]:
        _activity(ctx, doc, "login", "failed")
        ctx.store.table(TABLE).update(doc)
        raise ValidationFailed({"password": "The password is incorrect"})
    if proxy is not None:
        validate_proxy(proxy)
        doc["proxy"] = proxy
    if creds is not None:
        creds.store_on(doc)
    if doc.get("challenge"):
        ctx.store.table(TABLE).update(doc)
        return False
    if doc.get("login_required"):
        if doc.get("twofa_sha256"):
            _logged_in(ctx, doc, "two_factor")
            return True
        # A login Instagram did not expect: it asks for a code first.
        start_challenge(ctx, doc)
        return False
    _logged_in(ctx, doc, "login")
    return True


def login_by_username(ctx: Ctx, username: str, password: str, proxy: str | None,
                      creds: Credentials) -> tuple[Doc, bool, bool]:
    """Log in the caller's account named ``username``, adding it when there is none (the
    third-party clients' form). Returns (account, created, logged in)."""
    doc = own_by_username(ctx, username)
    if doc is not None:
        return doc, False, login(ctx, doc, password, creds, proxy)
    with ctx.store.transaction():  # a refused proxy or secret leaves no half-added account
        doc = _insert_account(ctx, username, password, proxy)
        creds.store_on(doc)
        logged_in = login(ctx, doc, None)
    return doc, True, logged_in


def _logged_in(ctx: Ctx, doc: Doc, event: str) -> None:
    doc.update(login_required=False, last_login=ctx.clock.stamp())
    _activity(ctx, doc, event, "success")
    ctx.store.table(TABLE).update(doc)


def answer_challenge(ctx: Ctx, doc: Doc, code: str | None, *, auto_imap: bool = False,
                     named_by: str = "account_id") -> bool:
    """True when ``code`` completes the pending challenge; False while it is still pending.

    With ``auto_imap`` and no code, the server reads the code from the account's mailbox (the
    IMAP credentials a login stored): the emulator has no mailbox, so a stored mailbox always
    holds the email Instagram sent. Without one, 422 on ``auto_imap``. A given code wins."""
    challenge = doc.get("challenge")
    if not challenge:
        raise ValidationFailed({named_by: "No login challenge is pending for this account"})
    if code is None and auto_imap:
        if not doc.get("imap"):
            raise ValidationFailed({"auto_imap": "No IMAP mailbox is stored for this account: log in with "
                                                 "imap_host, imap_username and imap_password, or send the code"})
        _activity(ctx, doc, "challenge_code_read", "success")
        code = challenge["code"]
    if code is None:
        return False
    if code.strip() != challenge["code"]:
        challenge["attempts"] += 1
        if challenge["attempts"] >= MAX_CHALLENGE_ATTEMPTS:
            doc["challenge"] = None  # void: a new login starts a new challenge
            ctx.store.table(TABLE).update(doc)
            raise ValidationFailed({"code": "Too many wrong codes: log in again to get a new one"})
        ctx.store.table(TABLE).update(doc)
        raise ValidationFailed({"code": "The code is incorrect"})
    doc["challenge"] = None
    _logged_in(ctx, doc, "challenge_passed")
    return True


def update_account(ctx: Ctx, doc: Doc, changes: dict[str, Any]) -> list[str]:
    """Apply a PATCH; every field must be one the API lets a user set."""
    if not changes:
        raise ValidationFailed({"body": "Nothing to update: send at least one of " + ", ".join(sorted(PATCHABLE))})
    refused = sorted(set(changes) - PATCHABLE)
    if refused:
        raise ValidationFailed({f: "Unknown or read-only field" for f in refused})
    if "is_active" in changes and not isinstance(changes["is_active"], bool):
        raise ValidationFailed({"is_active": "Must be true or false"})
    if "proxy" in changes:
        proxy = changes["proxy"]
        if proxy is not None and not isinstance(proxy, str):
            raise ValidationFailed({"proxy": "Must be a string or null"})
        if proxy is not None:
            validate_proxy(proxy)
    doc.update(changes)
    ctx.store.table(TABLE).update(doc)
    return sorted(changes)


# A schedule is per-account configuration: it goes with a deleted account. Logs stay (the
# user's history), and so do posts: the engine fails an unsent one ("Account not found").
SCHEDULE_TABLE_SUFFIX = "_schedules"


def delete_account(ctx: Ctx, doc: Doc) -> int:
    """Delete the account with its automation schedules; returns how many went with it."""
    store = ctx.store
    names = [r[0] for r in store.db.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name GLOB ?", (f"*{SCHEDULE_TABLE_SUFFIX}",))]
    removed = 0
    with store.transaction():
        for name in names:
            removed += store.table(name).delete_where(account_id=doc["id"])
        store.table(TABLE).delete(doc["id"])
    return removed


def _activity(ctx: Ctx, doc: Doc, event: str, status: str) -> None:
    entry = {"date": ctx.clock.stamp(), "event": event, "ip": "203.0.113.1", "status": status}
    doc["login_activity"] = ([entry] + doc.get("login_activity", []))[:50]


def owned_or_skipped(ctx: Ctx, account_ids: list[int]) -> tuple[list[Doc], list[int]]:
    """Split requested ids into the caller's accounts and the rest (skipped, never revealed)."""
    if len(account_ids) > MAX_BULK:
        raise ValidationFailed({"account_ids": f"At most {MAX_BULK} accounts per call"})
    found = {d["id"]: d for d in ctx.store.table(TABLE).all(id=list(set(account_ids)), user_id=ctx.owner_scope)}
    docs, skipped, seen = [], [], set()
    for i in account_ids:
        if i in seen:
            continue
        seen.add(i)
        (docs.append(found[i]) if i in found else skipped.append(i))
    return docs, skipped


# -- seeding -------------------------------------------------------------------
def seed_demo(ctx: SeedContext) -> None:
    table = ctx.state.store.table(TABLE, key="username")
    n = 0
    for owner, plan in (("alice", DEMO_NICHES), ("bob", {"pets": 3, "decor": 1}), ("admin", {"ops": 1})):
        accounts = []
        for niche, count in plan.items():
            for _ in range(count):
                n += 1
                # Every fifth account has no proxy yet, so `proxy: auto` has work to do.
                proxy = None if n % 5 == 0 else proxy_for(n, 0)
                doc = new_account(ctx.now, ctx.users[owner]["id"], f"{niche}_{_NAMES[(n - 1) % len(_NAMES)]}", n, proxy)
                if n % 9 == 0:
                    doc["login_required"] = True
                accounts.append(table.insert(doc))
        ctx.accounts[owner] = accounts


def create_bulk(ctx: SeedContext, user: Doc, count: int) -> list[Doc]:
    """``count`` accounts for scale runs, named ``<niche>_s00001`` so globs group them."""
    table = ctx.state.store.table(TABLE, key="username")
    start = table.count(user_id=user["id"])
    niches = list(DEMO_NICHES)
    docs = [
        new_account(ctx.now, user["id"], f"{niches[i % len(niches)]}_s{start + i + 1:05d}", start + i + 1,
                    proxy_for(start + i + 1, 0))
        for i in range(count)
    ]
    table.insert_many(docs)
    return table.all(user_id=user["id"], id=None)[start:]


_NAMES = ["nova", "luxe", "atelier", "street", "vogue", "muse", "trend", "chic", "lift", "core",
          "flex", "pulse", "stride", "burn", "yoga", "kitchen", "bites", "vegan", "grill", "bakes",
          "spice", "nomad", "wander", "coast", "peak", "paws", "whiskers", "tails", "home", "desk"]
