"""A verify re-reads the fleet a slice of accounts at a time (`REPLAN_SLICE`): what it finds is
what one read of all of them finds, a difference in the last slice included, and each slice
past the first pays one more read of the fleet-wide lists (the price of its bounded memory)."""

from __future__ import annotations

import pytest

from orchestrator.apply.run import EXIT_OK, EXIT_PARTIAL, ApplyOptions, apply
from orchestrator.contract import Kind
from orchestrator.planning import planner as planning
from orchestrator.planning.planner import Planner
from tests.conftest import world
from tests.harness import client_for, count, executor_for, failures_of, load_playbook

PLAYBOOK = """\
version: 1
groups:
  fashion:
    usernames: "fashion_*"
policy:
  max_pauses: 100%
entries:
  - groups: fashion
    reactions:
      settings:
        likes_speed: 2
    repost:
      state: paused
"""
FASHION = set(range(1, 9))  # fashion_* are accounts 1-8: slices of 3 are 1-3, 4-6, 7-8


def _pairs(planned) -> set[tuple[int, Kind]]:
    return {(c.account_id, c.kind) for c in planned.plan.changes}


async def test_a_sliced_re_read_finds_what_one_read_finds(tmp_path, monkeypatch):
    emu = world()
    book = load_playbook(tmp_path, PLAYBOOK)
    async with client_for(emu) as client, emu.control() as control:
        planner = Planner(client, book)
        planned = await planner.plan()
        pairs = _pairs(planned)
        assert {a for a, _ in pairs} == FASHION and {k for _, k in pairs} == {Kind.REACTIONS, Kind.REPOST}

        whole = await planner.replan(pairs)
        (await control.post("/requests/reset")).raise_for_status()
        monkeypatch.setattr(planning, "REPLAN_SLICE", 3)
        sliced = await planner.replan(pairs)
        lists = await count(control, "GET", "/reactions/schedules")

    assert sliced.plan.changes == whole.plan.changes == planned.plan.changes
    assert sliced.read_failures == whole.read_failures == []
    assert sliced.problems == whole.problems
    assert lists == 3  # one list read per slice: 8 accounts in slices of 3


async def test_an_apply_verifies_every_slice_and_a_difference_in_the_last_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(planning, "REPLAN_SLICE", 3)
    emu = world()
    book = load_playbook(tmp_path, PLAYBOOK)
    async with client_for(emu) as client:
        outcome = await apply(client, book, ApplyOptions(), executor=executor_for(client))
        assert outcome.exit_code == EXIT_OK, failures_of(outcome)
        assert outcome.unverified == []

        # Someone changes account 8 (the last slice's) behind the playbook's back: a re-read in
        # slices finds exactly that difference, and nothing in the first two slices.
        await client.reactions.update_settings(8, {"likes_speed": 5})
        planner = Planner(client, book)
        await planner.plan()
        again = await planner.replan({(a, k) for a in FASHION for k in (Kind.REACTIONS, Kind.REPOST)})
    assert [(c.account_id, c.kind, c.path, c.before, c.after) for c in again.plan.changes] == [
        (8, Kind.REACTIONS, "settings.likes_speed", 5, 2)]


async def test_an_account_changed_during_the_writes_is_unverified_in_its_slice(tmp_path, monkeypatch):
    """The verify runs after the wave's writes: an account changed between the two is the only
    one reported unverified, whichever slice it falls in."""
    monkeypatch.setattr(planning, "REPLAN_SLICE", 3)
    emu = world()
    book = load_playbook(tmp_path, PLAYBOOK)
    async with client_for(emu) as client:
        original = Planner.replan

        async def changed_first(self, pairs, **kwargs):
            await client.reactions.update_settings(7, {"likes_speed": 4})
            return await original(self, pairs, **kwargs)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Planner, "replan", changed_first)
            outcome = await apply(client, book, ApplyOptions(), executor=executor_for(client))
    assert outcome.exit_code == EXIT_PARTIAL, failures_of(outcome)
    assert [(c.account_id, c.path, c.before) for c in outcome.unverified] == [
        (7, "settings.likes_speed", 4)]


async def test_an_apply_keeps_which_accounts_it_read_but_not_their_fingerprints(tmp_path):
    """Past the confirmation nothing compares a fingerprint: the run's plan says which accounts
    were read (reconcile records drift by it), and holds none of their fingerprints."""
    emu = world()
    book = load_playbook(tmp_path, PLAYBOOK)
    async with client_for(emu) as client:
        planned = await Planner(client, book).plan()
        outcome = await apply(client, book, ApplyOptions(), executor=executor_for(client))
    assert outcome.exit_code == EXIT_OK, failures_of(outcome)
    assert all(planned.plan.fingerprints[a] for a in FASHION)  # a plan has them
    assert set(outcome.plan.fingerprints) == set(planned.plan.fingerprints) >= FASHION
    assert all(not f for f in outcome.plan.fingerprints.values())
