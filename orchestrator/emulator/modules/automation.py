"""Schedules shared by Reactions Pro and Repost Pro: targets, bulk switches, logs, the engine's view.

On the real server both plugins have the same shape: one schedule row per account,
created in the web panel (the API can change a schedule, never create or delete it), a
JSON array of targets, a flat settings object, and a cron that picks due schedules. So
the rules live here once and each module supplies what differs: its settings fields
(``settings_rules.SettingsSchema``), its target types (:class:`TargetType`), and what one
engine action does (:meth:`Automation.act`); the cron itself is ``scheduler.run_pass``.

Storage, per module ``<name>``: ``<name>_schedules`` (one document per account, found by
the indexed ``account_id`` column; targets and settings embedded, as the server stores
them in the schedule row) and ``<name>_logs``. A schedule stores only the settings that
were ever set; reads merge them over the defaults, so a schedule made at scale costs no
settings at all and GET settings is one indexed lookup plus a dict merge.

No HTTP here (``schedule_routes``), and the wire shapes are in ``schedule_models``; everything
here raises the emulator's domain errors.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from orchestrator.emulator.clock import FORMAT, parse_stamp
from orchestrator.emulator.context import Ctx, Paging
from orchestrator.emulator.engine import interval_seconds
from orchestrator.emulator.errors import BadRequest, Conflict, NotFound, ValidationFailed
from orchestrator.emulator.modules.settings_rules import SettingsSchema
from orchestrator.emulator.scheduler import NO_END, Pass, ScheduledModule, paused_until
from orchestrator.emulator.store import Doc, Store, Table, to_json

# -- targets -----------------------------------------------------------------------------------
_NUMERIC_ID = re.compile(r"^\d{1,25}$")
_VALUE_RULES: dict[str, tuple[re.Pattern[str] | None, str]] = {
    "hashtag": (re.compile(r"^\w{1,100}$"), "a hashtag (letters, digits, underscores)"),
    "username": (re.compile(r"^[A-Za-z0-9._]{1,30}$"), "an Instagram username"),
    "keyword": (re.compile(r"^.{1,100}$"), "a keyword of at most 100 characters"),
    "text": (re.compile(r"^.{1,255}$"), "text of at most 255 characters"),
    "post": (
        re.compile(r"^(?:[A-Za-z0-9_-]{5,64}"
                   r"|https?://(?:www\.)?instagram\.com/(?:p|reel|reels|tv)/"
                   r"[A-Za-z0-9_-]{5,64}/?(?:\?\S*)?)$"),
        "a post URL or shortcode",
    ),
    "region": (re.compile(r"^[A-Z]{2}$"), "a two-letter region code such as US"),
    "tiktok_post": (re.compile(r"^(?:\d{8,25}|https?://(?:www\.|vm\.|m\.)?tiktok\.com/\S+)$"),
                    "a TikTok video URL or id"),
    "id_list": (re.compile(r"^\d{1,25}(?:,\d{1,25}){0,999}$"), "comma-separated numeric user ids"),
    "none": (None, ""),
}


@dataclass(frozen=True, slots=True)
class TargetType:
    """A target type a module accepts: what its value holds and whether it needs an id."""

    key: str
    value: str  # what ``value`` holds, as /targets/types shows it ("" when the type takes none)
    description: str
    kind: str = "text"  # a key of _VALUE_RULES: how the value is checked and normalised
    needs_id: bool = False  # a numeric Instagram id (location, user, music...) is required
    revision: str = "v1"  # "v1": the reference; "2.0.0": the later revision's addition

    def public(self) -> dict[str, Any]:
        return {"type": self.key, "value": self.value, "requires_id": self.needs_id,
                "requires_value": self.kind != "none", "description": self.description,
                "revision": self.revision}

    def normalise(self, raw: str) -> str:
        """The value as stored: trimmed, without a leading ``#``/``@``.

        ``ValueError`` if it is malformed for the type."""
        value = self.loose(raw)
        if self.kind == "none":
            return ""
        if not value:
            raise ValueError("must not be empty")
        pattern, hint = _VALUE_RULES[self.kind]
        if pattern is not None and not pattern.match(value):
            raise ValueError(f"must be {hint}")
        return value

    def loose(self, raw: str) -> str:
        """Normalisation without checks, for matching stored values on removal."""
        value = raw.strip()
        if self.kind == "hashtag":
            value = value.lstrip("#")
        elif self.kind == "username":
            value = value.lstrip("@")
        elif self.kind == "region":
            value = value.upper()
        elif self.kind == "id_list":
            value = re.sub(r"\s+", "", value)
        return value


def later_revision(key: str, value: str, description: str, kind: str = "text",
                   needs_id: bool = False) -> TargetType:
    """A target type the later revision (2.0.0) adds to the reference's list."""
    return TargetType(key, value, description, kind, needs_id, revision="2.0.0")


def make_target(target_id: int, type_: str, value: str, id_: str | None = None) -> Doc:
    """A stored target: ``target_id`` is its row id in the schedule, ``id`` the type's id
    (a location id, a user pk) or, for types that take none, the value itself."""
    own_id = id_ if id_ is not None else value
    return {"target_id": target_id, "type": type_, "id": own_id, "value": value}


_CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"


def shortcode(rng: random.Random) -> str:
    """An Instagram-looking media shortcode."""
    return "".join(rng.choice(_CODE_ALPHABET) for _ in range(11))


# -- the automation --------------------------------------------------------------------------
MAX_SETTINGS_TEXTS = 10_000  # distinct stored settings whose answer text is kept


class Automation(ScheduledModule):
    """One schedule-per-account automation module and its rules.

    Subclasses name the module and give its settings and target types; they override
    :meth:`act` (one engine action), and may override :meth:`end_date`,
    :meth:`pause_windows`, :meth:`next_run` and :meth:`system_log_fields`, all in terms of the
    merged settings. The scheduler's hooks (``ends_at``, ``pauses``, ``next_run_at``,
    ``run_once``) translate a schedule document into those.
    """

    module: str  # as the plan's ``modules`` list spells it ("reactions", "repost-pro")
    name: str  # table prefix ("reactions", "repost")
    settings: SettingsSchema
    target_types: dict[str, TargetType]
    log_fields: tuple[str, ...]
    batch = 500  # schedules one engine pass handles per module ("a few per run")
    running_flag = "is_running"

    def __init__(self) -> None:
        self.schedules_table = f"{self.name}_schedules"
        self.logs_table = f"{self.name}_logs"
        # settings_json's texts, by the stored settings' JSON text (content, so shared by worlds)
        self._settings_texts: dict[str, bytes] = {}

    def schedules(self, store: Store) -> Table:
        return store.table(self.schedules_table)

    def logs(self, store: Store) -> Table:
        return store.table(self.logs_table)

    # -- rendering ----------------------------------------------------------------------
    def public(self, doc: Doc) -> dict[str, Any]:
        """A schedule as the API shows it; internal fields (user_id, counters) never leave."""
        stored = doc["settings"]
        defaults = self.settings.defaults
        targets = doc["targets"]
        # A paused schedule is inactive even while a run still holds it (as AI-DM shows it).
        status = ("running" if doc["is_running"] else "active") if doc["is_active"] else "inactive"
        return {
            "id": doc["id"],
            "account_id": doc["account_id"],
            "username": doc["username"],
            "status": status,
            "is_active": doc["is_active"],
            "is_running": doc["is_running"],
            "speed": stored.get("speed", defaults["speed"]),
            "daily_pause": {
                "enabled": stored.get("daily_pause", defaults["daily_pause"]),
                "from": stored.get("daily_pause_from", defaults["daily_pause_from"]),
                "to": stored.get("daily_pause_to", defaults["daily_pause_to"]),
            },
            "target_count": len(targets),
            "targets": targets,
            "schedule_date": doc["schedule_date"],
            "end_date": self.end_date(stored),
            "last_action_date": doc["last_action_date"],
            "date": doc["date"],
        }

    def public_log(self, doc: Doc) -> dict[str, Any]:
        return {k: doc.get(k) for k in self.log_fields}

    def end_date(self, stored: Mapping[str, Any]) -> str:
        """When the schedule stops being picked by the engine."""
        return NO_END

    # -- lookups --------------------------------------------------------------------------
    def schedule(self, ctx: Ctx, account_id: int) -> Doc:
        """The schedule of ``account_id``: 404 "Account not found" for a missing or another
        user's account, 404 "Schedule not found" for an account without one."""
        doc = self.schedules(ctx.store).find_one(account_id=account_id)
        if doc is not None and ctx.user.owns(doc):
            return doc
        ctx.account(account_id)
        raise NotFound("Schedule not found")

    def list_schedules(
        self, ctx: Ctx, page: Paging, is_active: bool | None
    ) -> tuple[list[bytes], int]:
        """A page of the caller's schedules, in account order, each as the JSON text of ``public``."""
        return self.schedules(ctx.store).find_rendered(
            self.public, user_id=ctx.owner_scope, is_active=is_active, order="account_id", **page.slice()
        )

    # -- on and off -----------------------------------------------------------------------
    def set_active(self, ctx: Ctx, doc: Doc, active: bool) -> Doc:
        """Activate (the next run is due now) or pause; repeating either changes nothing."""
        if self._switch(doc, "activate" if active else "pause", ctx.clock.stamp()):
            self.schedules(ctx.store).update(doc)
        return doc

    def bulk(self, ctx: Ctx, op: str, account_ids: list[int] | None) -> dict[str, Any]:
        """Apply ``op`` (activate, pause, stop) to many schedules.

        Without ``account_ids``: every schedule of the caller's own (an admin key does not
        switch other users' schedules without naming them). Ids without a schedule or of
        another user are skipped, in request order, never told apart.
        """
        table = self.schedules(ctx.store)
        if account_ids is None:
            docs, skipped = table.find(user_id=ctx.user.id, order="account_id")[0], []
        else:
            wanted = list(dict.fromkeys(account_ids))
            owned = table.all(account_id=wanted, user_id=ctx.owner_scope)
            found = {d["account_id"]: d for d in owned}
            docs = [found[a] for a in wanted if a in found]
            skipped = [a for a in wanted if a not in found]
        now = ctx.clock.stamp()
        with ctx.store.transaction():
            for doc in docs:
                if self._switch(doc, op, now):
                    table.update(doc)
        ids = [d["account_id"] for d in docs]
        return {"affected": len(docs), "account_ids": ids, "skipped": skipped}

    @staticmethod
    def _switch(doc: Doc, op: str, now: str) -> bool:
        """Change ``doc`` for ``op``; whether anything changed."""
        before = (doc["is_active"], doc["is_running"])
        if op == "activate":
            if not doc["is_active"]:
                doc["schedule_date"] = now
            doc["is_active"] = True
        else:
            doc["is_active"] = False
            if op == "stop":  # a force-stop also clears a schedule stuck in is_running
                doc["is_running"] = False
        return before != (doc["is_active"], doc["is_running"])

    # -- settings ---------------------------------------------------------------------------
    def read_settings(self, doc: Doc) -> dict[str, Any]:
        return self.settings.render(doc["settings"])

    def settings_json(self, doc: Doc) -> bytes:
        """``read_settings(doc)`` as JSON (UTF-8), kept per distinct stored settings.

        A hundred fields take longer to encode than the rest of a settings read together, and a
        fleet's schedules mostly store the same few settings (seeded ones: none), so the text is
        made once per stored content (its JSON text is the key) and shared; the defaults never
        change, so the key says everything the answer depends on."""
        key = to_json(doc["settings"])
        texts = self._settings_texts
        text = texts.get(key)
        if text is None:
            if len(texts) >= MAX_SETTINGS_TEXTS:
                del texts[next(iter(texts))]  # the oldest: a bound, not a recency order
            text = texts[key] = to_json(self.read_settings(doc)).encode()
        return text

    def patch_settings(self, ctx: Ctx, doc: Doc, body: Mapping[str, Any]) -> list[str]:
        """Validate and store a partial update; the canonical names of the fields written."""
        changes = self.settings.validate_patch(body, doc["settings"])
        if changes:
            doc["settings"].update(changes)
            self.schedules(ctx.store).update(doc)
        return list(changes)

    # -- targets ----------------------------------------------------------------------------
    def target_type(self, key: str) -> TargetType:
        spec = self.target_types.get(key)
        if spec is None:
            hint = f"see /{self.name}/targets/types"
            raise ValidationFailed({"type": f"Unknown target type '{key}' ({hint})"})
        return spec

    def add_target(self, ctx: Ctx, doc: Doc, type_: str, value: str | None, id_: str | None) -> Doc:
        """Add a target; 422 for a bad type, value or id, 409 if it is there already."""
        spec = self.target_type(type_)
        if value is None and spec.kind != "none" and not spec.needs_id:
            raise BadRequest("Missing required field: value",
                             errors={"value": ["This field is required."]})
        errors: dict[str, str] = {}
        if spec.needs_id:
            if id_ is None or not id_.strip():
                errors["id"] = f"is required for type {spec.key} (a numeric id)"
            elif not _NUMERIC_ID.match(id_.strip()):
                errors["id"] = "must be a numeric id"
            else:
                id_ = id_.strip()
        stored_value = ""
        if spec.kind != "none":
            try:
                # An id type's value is a display name (a username, a place) and defaults to the id.
                stored_value = spec.normalise(value if value is not None else (id_ or ""))
            except ValueError as exc:
                errors["value"] = str(exc)
        if errors:
            raise ValidationFailed(errors)
        target_id_of_type = id_ if spec.needs_id else None
        for t in doc["targets"]:
            if t["type"] == spec.key and (
                t["value"] == stored_value or (spec.needs_id and t["id"] == target_id_of_type)
            ):
                raise Conflict("Target already exists")
        target_id = doc.get("next_target_id", 1)
        target = make_target(target_id, spec.key, stored_value, target_id_of_type)
        doc["next_target_id"] = target["target_id"] + 1
        doc["targets"].append(target)
        self.schedules(ctx.store).update(doc)
        return target

    def remove_target(self, ctx: Ctx, doc: Doc, target_id: int) -> dict[str, int]:
        kept = [t for t in doc["targets"] if t["target_id"] != target_id]
        if len(kept) == len(doc["targets"]):
            raise NotFound("Target not found")
        return self._keep(ctx, doc, kept)

    def remove_matching(
        self, ctx: Ctx, doc: Doc, type_: str, value: str | None, id_: str | None
    ) -> dict[str, int]:
        """The later revision's removal: by type and value (or id), or every target of a type.
        Removing nothing is not an error: the answer says ``removed: 0``."""
        spec = self.target_type(type_)
        want_value = spec.loose(value) if value is not None else None
        kept = [
            t for t in doc["targets"]
            if not (t["type"] == spec.key
                    and (want_value is None or t["value"] == want_value)
                    and (id_ is None or t["id"] == id_.strip()))
        ]
        return self._keep(ctx, doc, kept)

    def _keep(self, ctx: Ctx, doc: Doc, kept: list[Doc]) -> dict[str, int]:
        removed = len(doc["targets"]) - len(kept)
        if removed:
            doc["targets"] = kept
            self.schedules(ctx.store).update(doc)
        return {"removed": removed, "total": len(kept)}

    # -- logs ---------------------------------------------------------------------------------
    def list_logs(
        self, ctx: Ctx, page: Paging, account_id: int | None = None, **filters: Any
    ) -> tuple[list[Doc], int]:
        """Log entries, newest first (ids grow with time: the clock never goes back)."""
        return self.logs(ctx.store).find(
            user_id=ctx.owner_scope, account_id=account_id, order="id", descending=True,
            **filters, **page.slice(),
        )

    def log_entry(self, doc: Doc, date: str, status: str, message: str, **fields: Any) -> Doc:
        return {
            "user_id": doc["user_id"], "account_id": doc["account_id"], "schedule_id": doc["id"],
            "username": doc["username"], "status": status, "message": message, "date": date,
            **fields,
        }

    # -- the engine (see orchestrator.emulator.scheduler) -----------------------------------
    def ends_at(self, schedule: Doc) -> str:
        return self.end_date(schedule["settings"])

    def pauses(self, schedule: Doc) -> list[tuple[str, str]]:
        return self.pause_windows(self.settings.render(schedule["settings"]))

    def next_run_at(self, schedule: Doc, now: datetime) -> datetime:
        return self.next_run(now, self.settings.render(schedule["settings"]))

    def run_once(self, run: Pass, schedule: Doc, since: str, counts: Counter[str]) -> list[Doc]:
        """One action, drawn from a generator fixed by schedule and action count."""
        merged = self.settings.render(schedule["settings"])
        done = schedule.get("action_count", 0)
        log = self.act(schedule, merged, run.stamp, random.Random(f"{self.name}:{schedule['id']}:{done}"))
        schedule["action_count"] = done + 1
        counts["actions"] += 1
        return [log]

    def switch_off_log(self, schedule: Doc, stamp: str, message: str) -> Doc:
        return self.log_entry(schedule, stamp, "error", message, **self.system_log_fields())

    def system_log_fields(self) -> dict[str, Any]:
        """Module fields of a log entry the engine writes about the schedule itself."""
        return {}

    def pause_windows(self, settings: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Daily windows in which the schedule does not act."""
        if settings["daily_pause"]:
            return [(settings["daily_pause_from"], settings["daily_pause_to"])]
        return []

    def paused_until(self, at: datetime, settings: Mapping[str, Any]) -> datetime | None:
        """When ``at`` falls in a pause window: the moment the schedule may act again."""
        return paused_until(self.pause_windows(settings), at)

    def next_run(self, now: datetime, settings: Mapping[str, Any]) -> datetime:
        """The next ``schedule_date``: one speed interval on, moved out of a pause window."""
        after = now + timedelta(seconds=interval_seconds(settings["speed"]))
        return self.paused_until(after, settings) or after

    def act(self, doc: Doc, settings: Mapping[str, Any], stamp: str, rng: random.Random) -> Doc:
        """Perform one simulated action for ``doc``; returns its log entry."""
        raise NotImplementedError

    def pick_target(self, doc: Doc, settings: Mapping[str, Any], rng: random.Random) -> Doc | None:
        targets = doc["targets"]
        if not targets:
            return None
        if settings.get("targets_shuffle"):
            return rng.choice(targets)
        return targets[doc.get("action_count", 0) % len(targets)]

    # -- seeding --------------------------------------------------------------------------
    def new_schedule(
        self,
        account: Doc,
        now: str,
        *,
        active: bool = False,
        settings: Mapping[str, Any] | None = None,
        targets: Sequence[tuple[str, ...]] = (),
        schedule_date: str | None = None,
        last_action_date: str | None = None,
        is_running: bool = False,
        **extra: Any,
    ) -> Doc:
        """A schedule document as the web panel creates it (the API cannot)."""
        rows = [
            make_target(i, t[0], t[1], t[2] if len(t) > 2 else None)
            for i, t in enumerate(targets, 1)
        ]
        return {
            "user_id": account["user_id"],
            "account_id": account["id"],
            "username": account["username"],
            "is_active": active,
            "is_running": is_running,
            "settings": dict(settings or {}),
            "targets": rows,
            "next_target_id": len(rows) + 1,
            "schedule_date": schedule_date or now,
            "last_action_date": last_action_date,
            "date": now,
            "action_count": 0,
            **extra,
        }


def seed_logs(table: Table, entries: list[Doc]) -> None:
    """Insert seeded log entries oldest first, so ids keep time order for "newest first"."""
    entries.sort(key=lambda e: e["date"])
    table.insert_many(entries)


def stamp_before(now: str, rng: random.Random, max_minutes: int) -> str:
    """A ``YYYY-MM-DD HH:MM:SS`` a random number of minutes (1..max) before ``now``."""
    delta = timedelta(minutes=rng.randint(1, max_minutes), seconds=rng.randint(0, 59))
    return (parse_stamp(now) - delta).strftime(FORMAT)


def stamp_after(now: str, minutes: int) -> str:
    return (parse_stamp(now) + timedelta(minutes=minutes)).strftime(FORMAT)

