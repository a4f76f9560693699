"""The safety policy: a plan over a limit is blocked before its first write (exit 3, no write
request reaches the server), with the exact violation; overrides work per scope only."""

from __future__ import annotations

import httpx

from orchestrator.apply.run import ApplyOptions, ApplyOutcome
from orchestrator.state.store import StateStore
from tests.harness import client_for, failures_of, run, stored, write_playbook, writes
from tests.harness.stores import sqlite_store

MASS_PAUSE = """\
version: 1
groups:
  everyone:
    all: true
  travel:
    usernames: travel_*
entries:
  - name: Stop everything
    groups: everyone
    reactions:
      state: paused
"""


async def _active(control: httpx.AsyncClient) -> set[int]:
    return {s["account_id"] for s in await stored(control, "reactions_schedules", user_id=1) if s["is_active"]}


async def _apply(emu, tmp_path, text: str, options: ApplyOptions, history: StateStore | None = None) -> ApplyOutcome:
    pb = write_playbook(tmp_path / "pb", text)
    async with client_for(emu) as client:
        return await run(client, [pb], options, history=history)


async def _assert_blocked(control: httpx.AsyncClient, outcome: ApplyOutcome, rules: list[str]) -> None:
    assert outcome.exit_code == 3, failures_of(outcome)
    assert [v.rule for v in outcome.violations] == rules
    assert outcome.message == "blocked by the safety policy: nothing was changed"
    assert await writes(control) == []  # not one write reached the server
    assert outcome.execution.results == {}


async def test_the_default_max_pauses_blocks_a_mass_pause(emu, control, tmp_path):
    active = await _active(control)
    assert len(active) > 5  # 20% of alice's 25 accounts
    history = sqlite_store(tmp_path / "state.db")
    try:
        outcome = await _apply(emu, tmp_path, MASS_PAUSE, ApplyOptions(), history)
        await _assert_blocked(control, outcome, ["max_pauses"])
        (violation,) = outcome.violations
        assert violation.message == (f"max_pauses: the plan would pause {len(active)} accounts, over the limit of 5 "
                                     "(20% of 25 managed accounts)")
        assert violation.allow_hint == "--allow pause:reactions"
        assert await _active(control) == active
        (recorded,) = await history.runs()
        assert recorded.status == "blocked" and await history.operations(recorded.id) == []
    finally:
        await history.close()


async def test_an_allow_for_the_group_lets_the_mass_pause_through(emu, control, tmp_path):
    active = await _active(control)
    outcome = await _apply(emu, tmp_path, MASS_PAUSE, ApplyOptions(allow=["pause:everyone"]))
    assert outcome.exit_code == 0, failures_of(outcome)
    assert outcome.violations == []
    assert outcome.execution.results[("reactions", "pause", "done")] == len(active)
    assert await _active(control) == set()


async def test_an_allow_for_another_scope_does_not(emu, control, tmp_path):
    active = await _active(control)
    travel = {a for a in active if 22 <= a <= 25}
    for allow in (["pause:travel"], ["activate:everyone"], ["pause:fashion_nova"], ["pause:repost"]):
        await control.post("/requests/reset")
        outcome = await _apply(emu, tmp_path, MASS_PAUSE, ApplyOptions(allow=allow))
        await _assert_blocked(control, outcome, ["max_pauses"])
        # what the allow covers is no longer counted, the rest still is
        counted = (len(active - travel) if allow == ["pause:travel"]
                   else len(active - {1}) if "nova" in allow[0] else len(active))
        assert f"would pause {counted} accounts" in outcome.violations[0].message, (allow, outcome.violations)
    assert await _active(control) == active


async def test_a_policy_override_raises_the_limit(emu, control, tmp_path):
    outcome = await _apply(emu, tmp_path, MASS_PAUSE, ApplyOptions(policy=["max_pauses=100%"]))
    assert outcome.exit_code == 0, failures_of(outcome)
    assert await _active(control) == set()


EMPTY_PRUNE = """\
version: 1
groups:
  travel:
    usernames: travel_*
entries:
  - name: Travel starts from scratch
    groups: travel
    reactions:
      prune: true
      targets: []
"""


async def test_a_prune_with_an_empty_desired_set_is_blocked(emu, control, tmp_path):
    before = {s["account_id"]: s["targets"] for s in await stored(control, "reactions_schedules", user_id=1)}
    with_targets = sorted(a for a in range(22, 26) if before[a])
    removals = sum(len(before[a]) for a in with_targets)
    assert with_targets and removals <= 25  # under max_target_removals: only the prune guard can stop it

    outcome = await _apply(emu, tmp_path, EMPTY_PRUNE, ApplyOptions())
    await _assert_blocked(control, outcome, ["prune"] * len(with_targets))
    assert all("would remove everything (prune: true with an empty list)" in v.message for v in outcome.violations)
    after = {s["account_id"]: s["targets"] for s in await stored(control, "reactions_schedules", user_id=1)}
    assert after == before

    # acknowledged for the kind, it goes ahead
    outcome = await _apply(emu, tmp_path, EMPTY_PRUNE, ApplyOptions(allow=["prune:reactions"],
                                                                    policy=["max_target_removals=100"]))
    assert outcome.exit_code == 0, failures_of(outcome)
    after = {s["account_id"]: s["targets"] for s in await stored(control, "reactions_schedules", user_id=1)}
    assert all(after[a] == [] for a in range(22, 26))


CAPTION_PRUNE = """\
version: 1
policy:
  max_deletions: 3
captions:
  prune: true
  library:
    The only caption: "Just this one {now|today}"
"""


async def test_max_deletions_blocks_a_caption_library_prune(emu, control, tmp_path):
    before = await stored(control, "captions", user_id=1)
    assert len(before) > 3
    outcome = await _apply(emu, tmp_path, CAPTION_PRUNE, ApplyOptions())
    await _assert_blocked(control, outcome, ["max_deletions"])
    assert outcome.violations[0].message == (
        f"max_deletions: the plan would delete {len(before)} items, over the limit of 3 (3)")
    assert outcome.violations[0].allow_hint == "--allow delete:captions"
    assert await stored(control, "captions", user_id=1) == before

    outcome = await _apply(emu, tmp_path, CAPTION_PRUNE, ApplyOptions(allow=["delete:captions"]))
    assert outcome.exit_code == 0, failures_of(outcome)
    assert [c["title"] for c in await stored(control, "captions", user_id=1)] == ["The only caption"]


async def test_percentages_under_limit_are_of_the_whole_fleet(emu, control, tmp_path):
    """``--limit`` narrows what is applied, not what a percentage is of: pausing one account of
    the 25 the playbook manages is within 20%, whatever the limit selects."""
    active = sorted(await _active(control))
    first = next(s for s in await stored(control, "accounts", user_id=1) if s["id"] == active[0])["username"]
    outcome = await _apply(emu, tmp_path, MASS_PAUSE, ApplyOptions(limit=[first]))
    assert outcome.exit_code == 0, failures_of(outcome)
    assert outcome.violations == []
    assert await _active(control) == set(active[1:])
    # A limit that selects more than 20% of the fleet is still held back, counted against the fleet.
    blocked = await _apply(emu, tmp_path, MASS_PAUSE, ApplyOptions(limit=["everyone"]))
    (violation,) = blocked.violations
    assert violation.message.endswith("over the limit of 5 (20% of 25 managed accounts)")
