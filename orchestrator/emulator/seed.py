"""Seed worlds: ``demo`` (a small realistic agency) and ``accounts=N`` (scale).

The demo world is deterministic: the same keys, accounts and data every time, so the
README, the docs and the tests can name them. Each module contributes its own part
through ``seed_demo(ctx)`` and, for scale, ``seed_scale(ctx, accounts)``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.emulator.auth import generate_key
from orchestrator.emulator.state import MODULES as ALL_MODULES
from orchestrator.emulator.state import EmulatorState
from orchestrator.emulator.store import Doc


@dataclass
class SeedContext:
    """What a module's seeder gets: the state, a seeded RNG, and the users and accounts made so far."""

    state: EmulatorState
    rng: random.Random
    users: dict[str, Doc] = field(default_factory=dict)
    accounts: dict[str, list[Doc]] = field(default_factory=dict)

    @property
    def now(self) -> str:
        return self.state.clock.stamp()

    def all_accounts(self) -> list[Doc]:
        return [a for accounts in self.accounts.values() for a in accounts]


def _modules() -> tuple[Any, ...]:
    # Imported late: the modules import SeedContext from here.
    from orchestrator.emulator.modules import MODULES

    return MODULES


def demo_key(name: str) -> str:
    """The deterministic key of a seeded user, so a restart on a file database can name the keys again."""
    return generate_key(random.Random(f"sharingtools-demo:{name}"))


def seed_demo(state: EmulatorState) -> dict[str, str]:
    """Create alice (an agency with ~25 accounts), bob (a few, no ``ai-dm``) and admin.
    Returns their API keys."""
    ctx = SeedContext(state, random.Random(20260315))
    keys: dict[str, str] = {}
    plans = {
        "alice": (False, list(ALL_MODULES)),
        "bob": (False, [m for m in ALL_MODULES if m != "ai-dm"]),
        "admin": (True, list(ALL_MODULES)),
    }
    with state.store.transaction():
        for name, (is_admin, modules) in plans.items():
            user, keys[name] = state.create_user(name, is_admin=is_admin, modules=modules, key=demo_key(name))
            ctx.users[name] = user
        for module in _modules():
            seeder = getattr(module, "seed_demo", None)
            if seeder is not None:
                seeder(ctx)
    state.save()
    return keys


def seed_accounts(state: EmulatorState, count: int, owner: str = "alice") -> list[Doc]:
    """Add ``count`` accounts for ``owner`` with Reactions Pro, Repost Pro, Welcome DM and
    First Comment schedules. Creates the owner (all modules) if missing."""
    user = state.users.find_one(key=owner)
    if user is None:
        user, _ = state.create_user(owner, key=demo_key(owner))
    ctx = SeedContext(state, random.Random(count), users={owner: user})
    from orchestrator.emulator.modules.accounts.models import create_bulk

    with state.store.transaction():
        accounts = create_bulk(ctx, user, count)
        ctx.accounts[owner] = accounts
        for module in _modules():
            seeder = getattr(module, "seed_scale", None)
            if seeder is not None:
                seeder(ctx, accounts)
    state.save()
    return accounts


def apply_seed(state: EmulatorState, spec: str | None) -> dict[str, str]:
    """Apply ``--seed`` specs such as ``demo``, ``accounts=500`` or ``demo,accounts=2000``."""
    keys: dict[str, str] = {}
    for part in filter(None, (spec or "").split(",")):
        name, _, value = part.strip().partition("=")
        if name == "demo":
            keys.update(seed_demo(state))
        elif name == "accounts":
            seed_accounts(state, int(value))
            keys.setdefault("alice", demo_key("alice"))
        else:
            raise ValueError(f"unknown seed {part!r}: use 'demo' or 'accounts=N'")
    return keys


def write_keys(path: str | Path, keys: dict[str, Any]) -> None:
    """Write the seeded keys as JSON, readable only by the owner."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.touch(mode=0o600, exist_ok=True)
    p.chmod(0o600)
    p.write_text(json.dumps(keys, indent=2) + "\n")
