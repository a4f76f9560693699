"""Everything one emulator instance holds: the store, the clock, users and keys, and the knobs
the control surface turns (installed modules, faults, held requests, server rate limit, counters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from orchestrator.emulator.auth import KeyRing, Principal, generate_key, hash_key
from orchestrator.emulator.clock import Clock
from orchestrator.emulator.faults import FaultConfig, Hold, RateLimiter, RequestCounters
from orchestrator.emulator.store import Store

# Module names as the reference spells them (the plan's ``modules`` list gates them).
MODULES: tuple[str, ...] = (
    "reactions",
    "repost-pro",
    "post-actions-api",
    "parser",
    "ai-dm",
    "welcomedm",
    "first-comment",
    "inbox",
    "direct-basic",
)


@dataclass
class EmulatorState:
    store: Store = field(default_factory=Store)
    clock: Clock = field(default_factory=Clock)
    installed: set[str] = field(default_factory=lambda: set(MODULES))
    faults: FaultConfig = field(default_factory=FaultConfig)
    hold: Hold = field(default_factory=Hold)
    rate_limit: RateLimiter = field(default_factory=RateLimiter)
    counters: RequestCounters = field(default_factory=RequestCounters)
    keys: KeyRing = field(default_factory=KeyRing)

    def __post_init__(self) -> None:
        self.users = self.store.table("users", key="username")
        self.api_keys = self.store.table("api_keys", key="key_hash")
        snap = self.store.get_meta("clock")
        if snap is not None:  # a file database remembers its clock across restarts
            self.clock = Clock.restore(snap)
        installed = self.store.get_meta("installed")
        if installed is not None:
            self.installed = set(installed)
        self.reload_keys()

    # -- users and keys -------------------------------------------------------
    def create_user(
        self,
        username: str,
        *,
        is_admin: bool = False,
        modules: list[str] | None = None,
        key: str | None = None,
    ) -> tuple[dict[str, Any], str]:
        """Create a user with one API key; returns the user and the raw key (shown once)."""
        user = self.users.insert(
            {
                "username": username,
                "is_admin": is_admin,
                "modules": list(MODULES if modules is None else modules),
                "date": self.clock.stamp(),
            }
        )
        key = key or generate_key()
        self.api_keys.insert(
            {"user_id": user["id"], "key_hash": hash_key(key), "revoked": False, "name": "default",
             "prefix": key[:12], "date": self.clock.stamp()}
        )
        self.reload_keys()
        return user, key

    def revoke_key(self, key: str) -> bool:
        doc = self.api_keys.find_one(key=hash_key(key))
        if doc is None:
            return False
        doc["revoked"] = True
        self.api_keys.update(doc)
        self.reload_keys()
        return True

    def set_user_modules(self, user_id: int, modules: list[str]) -> None:
        self.users.patch(user_id, {"modules": modules})
        self.reload_keys()

    def reload_keys(self) -> None:
        users = {u["id"]: u for u in self.users.iter()}
        entries = []
        for k in self.api_keys.iter():
            user = users.get(k["user_id"])
            if user is None or k.get("revoked"):
                continue
            entries.append(
                (
                    k["key_hash"],
                    Principal(user["id"], user["username"], bool(user["is_admin"]), frozenset(user["modules"])),
                )
            )
        self.keys.load(entries)

    # -- persistence of control state --------------------------------------------
    def save(self) -> None:
        self.store.set_meta("clock", self.clock.snapshot())
        self.store.set_meta("installed", sorted(self.installed))
