"""The reconcile loop's world: a Reconciler on the in-process emulator, its playbook in a
temporary directory, the emulator's request counters, and the panel-side changes a person
makes behind the loop's back (through the API as the panel would, or the emulator's store).

Demo world facts (see ``tests/conftest.py``): alice owns accounts 1-25, fashion_* 1-8
(fashion_nova is 1); food_vegan (18), food_kitchen and fitness_lift need a new login
(``login_required``) and food_kitchen's AI-DM schedule has no OpenAI key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from orchestrator import playbook
from orchestrator.api import SharingtoolsClient
from orchestrator.emulator.modules.accounts.models import new_account
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.reconcile.loop import Reconciler, ReconcileOptions
from orchestrator.reconcile.metrics import ReconcileMetrics
from tests.harness.stores import sqlite_store
from tests.harness.time import VirtualTime
from tests.harness.world import WRITE_METHODS, client_for, executor_for

# A small playbook: the fashion accounts run Reactions Pro with settings and targets; every
# account has a proxy. A new account in the panel matches `everyone`.
PLAYBOOK = """\
version: 1
groups:
  everyone: {all: true}
  fashion: {usernames: "fashion_*"}
entries:
  - groups: everyone
    account: {proxy: auto}
  - groups: fashion
    reactions:
      state: active
      settings:
        likes_speed: 3
        daily_pause: false
      targets:
        - hashtag: streetstyle
        - hashtag: ootd
"""


def write_book(tmp_path: Path, text: str = PLAYBOOK) -> playbook.Playbook:
    path = tmp_path / "playbooks" / "reconcile.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return playbook.load([str(path)])


def reconciler(emu: LocalEmulator, client: SharingtoolsClient, book: playbook.Playbook, tmp_path: Path,
               *, lock: bool = True, **options: Any) -> Reconciler:
    """A reconciler on ``client``, its history and lock in ``tmp_path``."""
    history = sqlite_store(tmp_path / "state.db")
    return Reconciler(client, book, ReconcileOptions(**options), history=history, metrics=ReconcileMetrics(),
                      executor=executor_for(client),
                      lock=(lambda: history.lock("reconcile")) if lock else None)


def writes(emu: LocalEmulator) -> list[tuple[str, str, int]]:
    """Every write request the emulator answered since its counters were last reset."""
    return [(m, r, s) for (m, r, s, _), n in emu.state.counters.counts.items() if m in WRITE_METHODS
            for _ in range(n)]


def api_total(emu: LocalEmulator) -> int:
    """API requests the emulator answered (its control surface not included)."""
    return sum(n for (_, route, _, _), n in emu.state.counters.counts.items() if "/_emulator" not in route)


def add_account(emu: LocalEmulator, username: str) -> int:
    """An account added in the panel: alice's, with no proxy yet."""
    alice = emu.state.users.find_one(key="alice")
    assert alice is not None
    doc = emu.state.store.table("accounts", key="username").insert(
        new_account(emu.state.clock.stamp(), alice["id"], username, 99, None))
    return int(doc["id"])


async def reactions_schedule(alice: httpx.AsyncClient, account_id: int) -> dict[str, Any]:
    response = await alice.get(f"/reactions/schedules/{account_id}")
    assert response.status_code == 200, response.text
    return response.json()["data"]


__all__ = ["PLAYBOOK", "VirtualTime", "client_for", "write_book", "reconciler", "writes", "api_total",
           "add_account", "reactions_schedule"]
