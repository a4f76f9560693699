"""Leads Finder (module ``parser``): scraping schedules and their exported leads. State and rules, no HTTP.

Schedules are made in the web panel (seeded here); the API only reads them, starts and
stops them, and pages through the export file. The engine parses a batch of profiles
each time a schedule falls due, appends the leads that pass its filters to the export
(one document per line, so the export pages like a text file read by line ranges),
and records a log entry and per-request-type stats.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from orchestrator.emulator.clock import FORMAT, parse_stamp
from orchestrator.emulator.context import Ctx, Paging
from orchestrator.emulator.engine import interval_seconds
from orchestrator.emulator.errors import NotFound
from orchestrator.emulator.scheduler import NO_END, Pass, ScheduledModule, run_pass
from orchestrator.emulator.seed import SeedContext
from orchestrator.emulator.state import EmulatorState
from orchestrator.emulator.store import Doc, Store, Table

MODULE = "parser"
SCHEDULES, LINES, LOGS, STATS = "leads_schedules", "leads_export_lines", "leads_logs", "leads_stats"
NO_FILE = "No exported leads file found for this schedule. The parser may not have run yet."

DATA_FIELDS = ("nickname", "user_id", "user_link", "full_name", "is_business", "business_category", "city",
               "link", "profile_bio", "followers_count", "is_verified", "home_country", "whatsapp_number",
               "is_new_to_instagram", "is_new_to_instagram_30d")
# The Instagram request each of the reference's 14 target types pages through: the names the
# reference uses for custom_delays and accelerator limits, which are also the stats' ``type``.
REQUEST_TYPE = {
    "people_followers": "get_followers", "people_following": "get_following", "people_likers": "get_likers",
    "people_followers_following": "get_following", "people_followers_followers": "get_followers",
    "people_following_followers": "get_followers", "people_following_following": "get_following",
    "hashtag": "get_hashtag", "hashtag_likers": "get_likers", "location": "get_location",
    "location_likers": "get_likers", "explore": "get_hashtag", "explore_likers": "get_likers",
    "user_id_list": "get_info",
}
PAGE_SIZE = 50  # profiles per listing request
PROFILES_PER_HOUR = {1: 200, 2: 400, 3: 800, 4: 1500, 5: 2500}  # analysed, before filters
MAX_BATCH_SECONDS = 3600  # a batch covers at most an hour of parsing, however long the gap
SEED_BATCH = timedelta(minutes=10)  # the demo history's batches: a few hundred lines per export

SCHEDULE_FIELDS = ("id", "account_id", "task_name", "status", "is_active", "is_running", "targets", "target_count",
                   "speed", "estimated_speed", "estimated_speed_parsed", "analyzed_percentage", "parser_data_type",
                   "data_fields", "filters", "language_filter", "telegram", "accelerators", "custom_delays",
                   "schedule_date", "end_date", "last_action_date")
LOG_FIELDS = ("id", "account_id", "schedule_id", "task_name", "status", "type", "target", "parsed", "collected",
              "message", "date")
STAT_FIELDS = ("id", "account_id", "schedule_id", "type", "date", "requests", "results")


class Tables(NamedTuple):
    schedules: Table
    lines: Table  # keyed by schedule id: an export is read by that index
    logs: Table
    stats: Table  # keyed by schedule|type|day, the row a batch adds to


def tables(store: Store) -> Tables:
    """The module's collections."""
    return Tables(store.table(SCHEDULES, key="task_name"), store.table(LINES, key="schedule_id"),
                  store.table(LOGS), store.table(STATS, key="stat_key"))


# -- rendering ------------------------------------------------------------------------
def status_of(doc: Doc, now: str) -> str:
    """running | active | scheduled | inactive, from is_active, is_running and schedule_date:
    enabled and mid-parse is running; enabled and due is active; enabled with a future
    start is scheduled."""
    if not doc["is_active"]:
        return "inactive"
    if doc["is_running"]:
        return "running"
    return "scheduled" if (doc["schedule_date"] or "") > now else "active"


def public_schedule(doc: Doc, now: str) -> dict[str, Any]:
    out = {k: doc.get(k) for k in SCHEDULE_FIELDS}
    out["status"] = status_of(doc, now)
    out["target_count"] = len(doc["targets"])
    return out


def public_log(doc: Doc) -> dict[str, Any]:
    return {k: doc.get(k) for k in LOG_FIELDS}


def public_stat(doc: Doc) -> dict[str, Any]:
    return {k: doc.get(k) for k in STAT_FIELDS}


def file_path(doc: Doc, account: Doc | None) -> str:
    """The task name names the file; without one the parser writes ``data-parsed-by-<username>.txt``."""
    if doc.get("task_name"):
        return f"{doc['task_name']}.txt"
    username = account["username"] if account else f"account-{doc['account_id']}"
    return f"data-parsed-by-{username}.txt"


# -- reads and the two commands ----------------------------------------------------------
def list_schedules(ctx: Ctx, paging: Paging, account_id: int | None) -> tuple[list[Doc], int]:
    if account_id is not None:
        ctx.account(account_id)
    return tables(ctx.store).schedules.find(user_id=ctx.owner_scope, account_id=account_id, **paging.slice())


def start(ctx: Ctx, doc: Doc) -> Doc:
    """is_active=1 and schedule_date=now, as the reference says. A finished parse starts over."""
    now = ctx.clock.stamp()
    doc.update(is_active=True, schedule_date=now, started_at=now)
    if doc["analyzed"] >= doc["target_size"]:
        doc.update(analyzed=0, analyzed_percentage=0.0)
    return tables(ctx.store).schedules.update(doc)


def stop(ctx: Ctx, doc: Doc) -> Doc:
    """is_active=0 and is_running=0 (which also clears a schedule stuck in is_running)."""
    doc.update(is_active=False, is_running=False)
    return tables(ctx.store).schedules.update(doc)


def export(ctx: Ctx, doc: Doc, paging: Paging) -> tuple[list[str], int]:
    """A page of the export file's lines; 404 with the reference's message before the first batch."""
    if not doc.get("has_file"):
        raise NotFound(NO_FILE)
    lines, total = tables(ctx.store).lines.find(key=doc["id"], **paging.slice())
    return [line["line"] for line in lines], total


def list_logs(ctx: Ctx, paging: Paging, account_id: int | None, status: str | None) -> tuple[list[Doc], int]:
    if account_id is not None:
        ctx.account(account_id)
    return tables(ctx.store).logs.find(user_id=ctx.owner_scope, account_id=account_id, status=status,
                                     descending=True, **paging.slice())


def list_stats(ctx: Ctx, paging: Paging, account_id: int | None, type: str | None) -> tuple[list[Doc], int]:
    if account_id is not None:
        ctx.account(account_id)
    return tables(ctx.store).stats.find(user_id=ctx.owner_scope, account_id=account_id, type=type,
                                     descending=True, **paging.slice())


# -- the engine ----------------------------------------------------------------------------
class LeadsSchedules(ScheduledModule):
    """The cron's view of Leads Finder: each run parses one batch, until the target is reached."""

    module, schedules_table, logs_table = MODULE, SCHEDULES, LOGS

    def next_run_at(self, schedule: Doc, now: datetime) -> datetime:
        return now + timedelta(seconds=interval_seconds(schedule["speed"]))

    def run_once(self, run: Pass, schedule: Doc, since: str, counts: Counter[str]) -> list[Doc]:
        finished, log = parse_batch(run.state.store, schedule, run.now)
        counts["completed" if finished else "batches"] += 1
        return [log]

    def switch_off(self, schedule: Doc) -> None:
        schedule.update(is_active=False, is_running=False)

    def switch_off_log(self, schedule: Doc, stamp: str, message: str) -> Doc:
        return _log_entry(schedule, "error", None, 0, 0, message, stamp)


CRON = LeadsSchedules()


def tick(state: EmulatorState, now: datetime) -> dict[str, int] | None:
    """One cron pass: every due schedule parses one batch (see ``scheduler``)."""
    return run_pass(CRON, state, now)


def run_batch(store: Store, doc: Doc, now: datetime, *, seconds: float | None = None) -> bool:
    """Parse one batch and log it (the seeder replays runs this way); True when finished."""
    finished, log = parse_batch(store, doc, now, seconds=seconds)
    tables(store).logs.insert(log)
    return finished


def parse_batch(store: Store, doc: Doc, now: datetime, *, seconds: float | None = None) -> tuple[bool, Doc]:
    """Parse one batch for ``doc`` at ``now``: analyse profiles at the schedule's speed for the
    time since its last action (or start), append the leads that pass its filters to the
    export, and set the next schedule_date. Returns whether the parse has finished, and the
    batch's log entry."""
    stamp = now.strftime(FORMAT)
    elapsed = seconds if seconds is not None else _elapsed(doc, now)
    parsed = _batch_size(doc, elapsed)
    collected = min(parsed, round(parsed * pass_rate(doc)))
    _append_lines(store, doc, collected)
    target = doc["targets"][doc["target_cursor"] % len(doc["targets"])] if doc["targets"] else None
    analyzed = doc["analyzed"] + parsed
    finished = analyzed >= doc["target_size"]
    next_run = stamp if finished else (now + timedelta(seconds=interval_seconds(doc["speed"]))).strftime(FORMAT)
    doc.update(
        analyzed=analyzed, analyzed_percentage=round(min(100.0, 100 * analyzed / doc["target_size"]), 1),
        estimated_speed=round(collected * 3600 / elapsed),
        estimated_speed_parsed=doc["estimated_speed_parsed"] + parsed,
        target_cursor=doc["target_cursor"] + 1, last_action_date=stamp, schedule_date=next_run,
        # A finished parse switches itself off; otherwise it stays mid-run until the next batch.
        is_running=not finished, is_active=not finished,
    )
    tables(store).schedules.update(doc)
    message = f"Analyzed {parsed} profiles, saved {collected} leads."
    log = _log_entry(doc, "success", target, parsed, collected,
                     message + (" Parsing completed." if finished else ""), stamp)
    _count_requests(store, doc, target, parsed, collected, stamp)
    return finished, log


def _batch_size(doc: Doc, elapsed: float) -> int:
    """Profiles analysed in ``elapsed`` seconds at the schedule's speed, with a reproducible
    ±15 % jitter; at least one, at most what is left of the target list."""
    rng = random.Random(f"{doc['id']}:{doc['analyzed']}:{doc['lines']}")
    per_hour = PROFILES_PER_HOUR.get(doc["speed"], PROFILES_PER_HOUR[3])
    return min(doc["target_size"] - doc["analyzed"], max(1, round(per_hour * elapsed / 3600 * rng.uniform(0.85, 1.15))))


def _append_lines(store: Store, doc: Doc, count: int) -> None:
    """Append ``count`` leads to the export file (which exists from the first batch on)."""
    first = doc["lines"]
    tables(store).lines.insert_many(
        {"user_id": doc["user_id"], "account_id": doc["account_id"], "schedule_id": doc["id"],
         "line": lead_line(doc, n)} for n in range(first, first + count)
    )
    doc.update(lines=first + count, has_file=True)


def _elapsed(doc: Doc, now: datetime) -> float:
    """Seconds of parsing this batch stands for: since the last action or the last start,
    at least one interval at the schedule's speed and at most an hour."""
    since = max(doc["last_action_date"] or "", doc.get("started_at") or "")
    seconds = (now - parse_stamp(since)).total_seconds() if since else 0.0
    return min(MAX_BATCH_SECONDS, max(interval_seconds(doc["speed"]), seconds))


def pass_rate(doc: Doc) -> float:
    """Share of analysed profiles that pass the filters: each active filter range and a
    language selection lets fewer through."""
    f = doc["filters"]
    ranges = sum(1 for name in ("followers", "followings", "posts", "last_posted")
                 if f.get(f"{name}_min") or f.get(f"{name}_max"))
    languages = 1 if doc["language_filter"].get("languages") else 0
    return max(0.25, 0.9 - 0.12 * ranges - 0.15 * languages)


def _log_entry(doc: Doc, status: str, target: dict[str, Any] | None, parsed: int, collected: int,
               message: str, stamp: str) -> Doc:
    return {
        "user_id": doc["user_id"], "account_id": doc["account_id"], "schedule_id": doc["id"],
        "task_name": doc["task_name"], "status": status,
        "type": REQUEST_TYPE.get(target["type"]) if target else None,
        "target": {"type": target["type"], "value": target["value"]} if target else None,
        "parsed": parsed, "collected": collected, "message": message, "date": stamp,
    }


def _count_requests(store: Store, doc: Doc, target: dict[str, Any] | None, parsed: int, collected: int,
                    stamp: str) -> None:
    """Add the batch's Instagram requests to the day's stats: listing pages for the target's
    type, plus one profile lookup per analysed profile when filters or fields need it (a
    user id list is nothing but profile lookups)."""
    counts: dict[str, tuple[int, int]] = {}
    listing = REQUEST_TYPE[target["type"]] if target else None
    if listing and listing != "get_info":
        counts[listing] = (math.ceil(parsed / PAGE_SIZE), parsed)
    if listing == "get_info" or needs_profile_info(doc):
        counts["get_info"] = (parsed, collected)
    stats, day = tables(store).stats, stamp[:10]
    for type_, (requests, results) in counts.items():
        key = f"{doc['id']}|{type_}|{day}"
        stat = stats.find_one(key=key) or {
            "user_id": doc["user_id"], "account_id": doc["account_id"], "schedule_id": doc["id"],
            "stat_key": key, "type": type_, "date": day, "requests": 0, "results": 0}
        stat.update(requests=stat["requests"] + requests, results=stat["results"] + results)
        if "id" in stat:
            stats.update(stat)
        else:
            stats.insert(stat)


def needs_profile_info(doc: Doc) -> bool:
    """A profile lookup per lead is needed for any filter, or for fields beyond the username."""
    return pass_rate(doc) < 0.9 or (doc["parser_data_type"] == "profile"
                                    and any(v for k, v in doc["data_fields"].items() if k != "nickname"))


# -- export lines -------------------------------------------------------------------------
_FIRST = ("anna", "leo", "mia", "noah", "sofia", "luca", "emma", "milo", "zoe", "ivan", "lena", "omar",
          "chloe", "kai", "nina", "theo", "ava", "max", "ines", "sam")
_SECOND = ("styles", "fit", "eats", "travels", "daily", "studio", "vibes", "lab", "home", "journal",
           "official", "shop", "life", "co", "diary", "world")
_CITIES = ("Milan", "Paris", "Berlin", "Madrid", "London", "Lisbon", "Vienna", "Warsaw")
_CATEGORIES = ("Clothing Brand", "Personal Blog", "Fitness Trainer", "Restaurant", "Travel Agency", "Artist")


def lead_line(doc: Doc, n: int) -> str:
    """The ``n``-th line of the schedule's export: a username, a user id, or (``profile``) the
    fields selected in data_fields, comma-separated in the reference's order."""
    digest = hashlib.blake2b(f"{doc['id']}:{n}".encode(), digest_size=8).digest()
    v = int.from_bytes(digest, "big")
    username = f"{_FIRST[v % 20]}{'._'[v >> 5 & 1]}{_SECOND[v >> 6 & 15]}{v >> 10 & 1023}"
    user_id = str(1_000_000_000 + v % 60_000_000_000)
    if doc["parser_data_type"] == "user_id":
        return user_id
    if doc["parser_data_type"] != "profile":
        return username
    values = {
        "nickname": username, "user_id": user_id, "user_link": f"https://www.instagram.com/{username}/",
        "full_name": f"{_FIRST[v % 20].title()} {_SECOND[v >> 6 & 15].title()}", "is_business": str(v >> 20 & 1),
        "business_category": _CATEGORIES[v >> 21 & 3] if v >> 20 & 1 else "", "city": _CITIES[v >> 23 & 7],
        "link": f"https://linktr.ee/{username}", "profile_bio": "Creator | DM for collabs",
        "followers_count": str(300 + (v >> 26) % 80_000), "is_verified": str(int((v >> 44) % 50 == 0)),
        "home_country": ("IT", "FR", "DE", "ES", "GB", "PT", "AT", "PL")[v >> 23 & 7],
        "whatsapp_number": f"+39 3{(v >> 30) % 10**8:08d}" if v >> 50 & 1 else "",
        "is_new_to_instagram": str(int((v >> 52) % 20 == 0)), "is_new_to_instagram_30d": str(int((v >> 52) % 40 == 0)),
    }
    return ",".join(values[f] for f in DATA_FIELDS if doc["data_fields"].get(f))


# -- seeding -------------------------------------------------------------------------------
def new_schedule(user_id: int, account_id: int, task_name: str, targets: list[dict[str, Any]], **settings: Any) -> Doc:
    """A schedule as the web panel saves it: disabled, nothing parsed, every setting at its default."""
    doc: Doc = {
        "user_id": user_id, "account_id": account_id, "task_name": task_name,
        "is_active": False, "is_running": False, "targets": targets, "speed": 3,
        "estimated_speed": 0, "estimated_speed_parsed": 0, "analyzed_percentage": 0.0,
        "parser_data_type": "username",
        "data_fields": {f: f == "nickname" for f in DATA_FIELDS},
        "filters": {f"{name}_{end}": 0 for name in ("followers", "followings", "posts", "last_posted")
                    for end in ("min", "max")},
        "language_filter": {"languages": [], "language_detection_notices": False},
        "telegram": {"analytics_enabled": False, "errors_enabled": False, "chat_id": 0, "delay": 0},
        "accelerators": {"enabled": False, "accounts": [], "stop_if_all_disconnected": False,
                         **{f"get_{t}_limit": 0 for t in ("followers", "following", "hashtag", "location",
                                                         "liker", "info")}},
        "custom_delays": {"enabled": False, **{f"get_{t}": 0 for t in ("followers", "following", "hashtag",
                                                                       "location", "info", "likers")}},
        "schedule_date": None, "end_date": NO_END, "last_action_date": None,
        # internal: the engine's progress through the targets and the export file
        "target_size": 10_000, "analyzed": 0, "lines": 0, "has_file": False, "target_cursor": 0, "started_at": None,
    }
    for name, value in settings.items():
        if isinstance(value, dict):
            doc[name] = {**doc[name], **value}
        else:
            doc[name] = value
    return doc


def _target(type_: str, value: str, id_: str | None = None) -> dict[str, Any]:
    return {"type": type_, "value": value, "id": id_ or value}


class DemoTask(NamedTuple):
    owner: str
    account_id: int
    task_name: str
    targets: list[dict[str, Any]]
    state: str  # running | active | scheduled | inactive once seeded
    batches: int  # parsing history replayed before now
    settings: dict[str, Any]


def _demo_plan(accounts: dict[str, list[Doc]]) -> list[DemoTask]:
    """The demo agency's lead-finding tasks."""
    a = [acc["id"] for acc in accounts["alice"]]
    b = [acc["id"] for acc in accounts["bob"]]
    profile_filters = {"followers_min": 500, "followers_max": 50_000, "posts_min": 3, "last_posted_max": 90}
    english = {"languages": [{"code": "en", "name": "English"}], "language_detection_notices": True}
    drop_post = "https://www.instagram.com/p/C4xLuxeDrop1/"
    return [
        DemoTask("alice", a[0], "fashion-followers-march", [_target("people_followers", "fashionnova", "19769622")],
                 "running", 5, {"filters": profile_filters, "target_size": 25_000,
                                "data_fields": {"full_name": True, "followers_count": True}}),
        DemoTask("alice", a[0], "fashion-hashtag-ootd",
                 [_target("hashtag", "ootd"), _target("hashtag", "streetstyle")],
                 "inactive", 6, {"speed": 2, "target_size": 300}),  # parsed to the end
        DemoTask("alice", a[1], "luxury-likers-q2", [_target("people_likers", drop_post, "3312345678901234567")],
                 "scheduled", 0, {"speed": 2}),
        DemoTask("alice", a[9], "gym-followers-nyc",
                 [_target("people_followers", "equinox", "200131945"),
                  _target("location_likers", "Equinox Hudson Yards", "1022233445")],
                 "running", 2, {"speed": 4, "target_size": 40_000, "language_filter": english,
                                "accelerators": {"enabled": True, "accounts": [a[10], a[11]],
                                                 "get_followers_limit": 500, "get_info_limit": 300}}),
        DemoTask("alice", a[9], "fitness-competitors-following",
                 [_target("people_following", "gymshark", "216745396")],
                 "active", 0, {"telegram": {"analytics_enabled": True, "errors_enabled": True,
                                            "chat_id": 412553871, "delay": 3600}}),
        DemoTask("alice", a[16], "vegan-hashtag-leads", [_target("hashtag_likers", "veganrecipes")],
                 "running", 3, {"parser_data_type": "profile", "target_size": 8_000,
                                "data_fields": {"full_name": True, "city": True, "is_business": True,
                                                "business_category": True, "followers_count": True},
                                "custom_delays": {"enabled": True, "get_likers": 12, "get_info": 6}}),
        # Its account needs a new login: the first tick switches it off.
        DemoTask("alice", a[17], "brunch-spots-location", [_target("location", "Borough Market", "213131048")],
                 "active", 0, {}),
        DemoTask("alice", a[21], "travel-explore-summer",
                 [_target("explore", "explore"), _target("explore_likers", "explore")], "inactive", 0, {"speed": 1}),
        DemoTask("alice", a[22], "", [_target("user_id_list", "1780263412,3392011876,2044519387")],
                 "inactive", 1, {"parser_data_type": "user_id", "speed": 5, "target_size": 400}),
        DemoTask("bob", b[0], "pets-followers", [_target("people_followers", "dogsofinstagram", "1471520364")],
                 "running", 2, {"speed": 2}),
        DemoTask("bob", b[2], "cat-hashtags", [_target("hashtag", "catsofinstagram")], "inactive", 0, {}),
    ]


def seed_demo(ctx: SeedContext) -> None:
    """Alice's agency runs lead-finding tasks on several accounts (some with two tasks under
    different names), in every state, some with an export of a few hundred lines; bob has two.

    Parsing history is produced by the engine's own batch function at past times, so exports,
    logs and stats agree with one another."""
    schedules = tables(ctx.state.store).schedules
    now = ctx.state.clock.now()
    for task in _demo_plan(ctx.accounts):
        doc = schedules.insert(new_schedule(ctx.users[task.owner]["id"], task.account_id, task.task_name,
                                            task.targets, **task.settings))
        # A running task's last batch was minutes ago; the others last parsed a day ago.
        ended = now - (timedelta(minutes=2) if task.state == "running" else timedelta(days=1))
        began = ended - task.batches * SEED_BATCH
        doc.update(is_active=True, started_at=began.strftime(FORMAT))
        for n in range(1, task.batches + 1):
            if run_batch(ctx.state.store, doc, began + n * SEED_BATCH, seconds=SEED_BATCH.total_seconds()):
                break
        _settle(doc, task.state, now, ctx.rng)
        schedules.update(doc)


def _settle(doc: Doc, state: str, now: datetime, rng: random.Random) -> None:
    """Put a seeded schedule into its demo state after its replayed history."""
    stamp = now.strftime(FORMAT)
    if state == "running":
        due = now + timedelta(seconds=rng.randint(10, int(interval_seconds(doc["speed"]))))
        doc.update(is_active=True, is_running=True, schedule_date=due.strftime(FORMAT))
    elif state == "active":
        doc.update(is_active=True, is_running=False, schedule_date=stamp, started_at=stamp)
    elif state == "scheduled":
        doc.update(is_active=True, is_running=False,
                   schedule_date=(now + timedelta(days=2)).replace(hour=8, minute=0, second=0).strftime(FORMAT))
    else:
        doc.update(is_active=False, is_running=False,
                   schedule_date=doc["last_action_date"] or (now - timedelta(days=5)).strftime(FORMAT))
