"""Entry windows through apply: desired only inside the window, settings going back to what
the entries that apply say, and what the window added taken back when it closes, but only
what it added (the state database's claims), never a target present before or wanted by an
entry without a window. Windows are evaluated at the instant the run is given (real time
otherwise), whatever the emulator's clock says."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from orchestrator.apply.run import ApplyError, ApplyOptions, apply
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.planning.planner import build_plan
from tests.harness import client_for, executor_for, load_playbook
from tests.harness.stores import sqlite_store

BEFORE = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
INSIDE = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
AFTER = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)

BOOK = """\
version: 1
groups:
  fashion: {usernames: "fashion_*"}
entries:
  - name: Baseline
    groups: fashion
    reactions:
      state: active
      settings: {likes_speed: 2}
      targets: [{hashtag: ootd}]
  - name: Black Friday push
    groups: fashion
    when: {from: 2026-11-27T00:00, until: 2026-12-01T00:00, timezone: America/New_York}
    reactions:
      settings: {likes_speed: 4}
      targets: [{hashtag: blackfriday}, {hashtag: ootd}, {hashtag: handmade}]
"""

NOVA = 1  # fashion_nova


async def _targets(client, account_id: int = NOVA) -> set[str]:
    return {t.value for t in await client.reactions.list_targets(account_id)}


async def _speed(client, account_id: int = NOVA) -> object:
    return (await client.reactions.get_settings(account_id))["likes_speed"]


async def test_a_window_applies_inside_and_takes_back_only_what_it_added(tmp_path: Path) -> None:
    emu = LocalEmulator("demo")
    book = load_playbook(tmp_path / "playbooks", BOOK)
    history = sqlite_store(tmp_path / "state.db")
    async with client_for(emu) as client:
        # Someone added #handmade by hand before the campaign: the window must leave it.
        await client.reactions.add_target(NOVA, "hashtag", "handmade", "handmade")

        async def run(at: datetime):
            return await apply(client, book, ApplyOptions(at=at), history=history, executor=executor_for(client))

        before = await run(BEFORE)
        assert before.exit_code == 0, before.message
        assert await _speed(client) == 2 and "blackfriday" not in await _targets(client)

        # plan --at inside the window shows exactly what an apply at that instant does.
        planned = await build_plan(client, book, at=INSIDE, claims=await history.window_claims())
        inside = await run(INSIDE)
        assert inside.exit_code == 0, inside.message
        assert [c.public() for c in planned.plan.changes] == [c.public() for c in inside.plan.changes]
        assert await _speed(client) == 4
        assert {"blackfriday", "handmade", "ootd"} <= await _targets(client)
        claims = await history.window_claims()
        # Claimed: what the window added, on every fashion account; not #handmade on nova (it was
        # there), not #ootd (the baseline wants it).
        assert {(c.path, c.window) for c in claims} >= {("targets[hashtag:blackfriday]", "Black Friday push")}
        assert not any(c.account_id == NOVA and c.path == "targets[hashtag:handmade]" for c in claims)
        assert not any(c.path == "targets[hashtag:ootd]" for c in claims)
        assert any(c.account_id != NOVA and c.path == "targets[hashtag:handmade]" for c in claims)

        after = await run(AFTER)
        assert after.exit_code == 0, after.message
        removed = {(c.account_id, c.path) for c in after.plan.changes if c.action == "remove"}
        assert (NOVA, "targets[hashtag:blackfriday]") in removed
        assert (NOVA, "targets[hashtag:handmade]") not in removed
        assert all(c.window == "Black Friday push" for c in after.plan.changes if c.action == "remove")
        assert await _speed(client) == 2
        assert await _targets(client) >= {"ootd", "handmade"} and "blackfriday" not in await _targets(client)
        # On the other accounts the window added #handmade too, and takes it back.
        assert "handmade" not in await _targets(client, 2)
        assert await history.window_claims() == frozenset()

        # Converged: nothing left to do, nothing taken back twice.
        again = await run(AFTER)
        assert again.plan.empty, [c.public() for c in again.plan.changes]
    await history.close()


async def test_without_claims_a_closed_window_removes_nothing(tmp_path: Path) -> None:
    """A target a window would add, present live but added by no apply for a window (a person
    added it, or another tool): a plan after the window is empty."""
    emu = LocalEmulator("demo")
    book = load_playbook(tmp_path / "playbooks", BOOK)
    async with client_for(emu) as client:
        await client.reactions.add_target(NOVA, "hashtag", "blackfriday", "blackfriday")
        planned = await build_plan(client, book, at=AFTER)  # no state database: nothing is claimed
        assert not [c for c in planned.plan.changes if c.action == "remove"]


FIRST_COMMENT = """\
version: 1
groups:
  nova: {accounts: [fashion_nova]}
entries:
  - name: Launch week comments
    groups: nova
    when: {from: 2026-11-27T00:00Z, until: 2026-12-01T00:00Z}
    first_comment:
      schedules:
        - targets: [launchbrand]
          comments: ["First! {Love it|So good}"]
"""


async def test_a_windowed_first_comment_schedule_is_created_then_deleted(tmp_path: Path) -> None:
    emu = LocalEmulator("demo")
    book = load_playbook(tmp_path / "playbooks", FIRST_COMMENT)
    history = sqlite_store(tmp_path / "state.db")

    async def schedules(client) -> list[set[str]]:
        return [{t.username for t in s.targets} async for s in client.first_comment.list_schedules()
                if s.account_id == NOVA]

    async with client_for(emu) as client:
        existing = await schedules(client)
        inside = await apply(client, book, ApplyOptions(at=INSIDE), history=history, executor=executor_for(client))
        assert inside.exit_code == 0, inside.message
        assert [c.window for c in inside.plan.changes] == ["Launch week comments"]
        assert {"launchbrand"} in await schedules(client)
        after = await apply(client, book, ApplyOptions(at=AFTER), history=history, executor=executor_for(client))
        assert [(c.action, c.window) for c in after.plan.changes] == [("delete", "Launch week comments")]
        assert await schedules(client) == existing
    await history.close()


async def test_a_saved_plan_a_window_changed_since_is_refused(tmp_path: Path) -> None:
    emu = LocalEmulator("demo")
    book = load_playbook(tmp_path / "playbooks", BOOK)
    async with client_for(emu) as client:
        saved = (await build_plan(client, book, at=BEFORE)).plan
        assert saved.windows is not None and saved.windows.at == BEFORE
        with pytest.raises(ApplyError, match="Black Friday push` opens at 2026-11-27 05:00 UTC"):
            await apply(client, book, ApplyOptions(saved_plan=saved, at=INSIDE), executor=executor_for(client))
        # Within the same stretch of time, the saved plan applies.
        done = await apply(client, book, ApplyOptions(saved_plan=saved, at=BEFORE.replace(hour=13)),
                           executor=executor_for(client))
        assert done.exit_code == 0, done.message
