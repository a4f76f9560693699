"""Waves: the accounts of a wave fail deterministically (their live settings make the server
refuse the patch: followers_min may not exceed followers_max), the apply halts after that wave
with exit 4 and leaves the later accounts untouched; with a max_fail that tolerates it, it
goes on to the end."""

from __future__ import annotations

from orchestrator.emulator.testing import LocalEmulator
from orchestrator.apply.run import ApplyOptions
from orchestrator.apply.policy import parse_limit, parse_waves
from tests.harness import client_for, count, failures_of, run, stored, write_playbook

# accounts=20: account n is <niche>_s000nn with niche fashion, fitness, food, travel in turn.
# In username order: fashion 1,5,9,13,17 | fitness 2,6,10,14,18 | food 3,7,.. | travel 4,8,..
FASHION, FITNESS = [1, 5, 9, 13, 17], [2, 6, 10, 14, 18]
LATER = [n for n in range(1, 21) if n % 4 in (3, 0)]  # food and travel: the third wave
PLAYBOOK = """\
version: 1
groups:
  scale:
    usernames: "*_s0*"
entries:
  - groups: scale
    reactions:
      settings:
        followers_min: 500
        likes_speed: 4
"""
SETTINGS = "/reactions/schedules/{account_id}/settings"


async def _world() -> LocalEmulator:
    emu = LocalEmulator("accounts=20")
    async with emu.http() as alice, emu.control() as control:
        for account_id in FITNESS:  # the server will refuse followers_min 500 for these
            r = await alice.patch(f"/reactions/schedules/{account_id}/settings", json={"followers_max": 100})
            assert r.status_code == 200, r.text
        await control.post("/requests/reset")
    return emu


async def _settings(control) -> dict[int, dict]:
    return {s["account_id"]: s["settings"] for s in await stored(control, "reactions_schedules")}


async def test_a_failing_wave_halts_the_apply_and_later_accounts_are_untouched(tmp_path):
    emu = await _world()
    pb = write_playbook(tmp_path / "pb", PLAYBOOK)
    async with emu.control() as control:
        before = await _settings(control)
        async with client_for(emu) as client:
            outcome = await run(client, [pb], ApplyOptions(waves=parse_waves("1,50%,100%")))

        assert outcome.exit_code == 4, failures_of(outcome)
        assert [(w.accounts, w.failed, w.halted) for w in outcome.waves] == [(1, 0, False), (9, 5, True)]
        assert outcome.message == ("halted after wave 2: 5 of 9 accounts failed or did not verify (max_fail 10%); "
                                   "10 accounts not started")
        assert sorted(f.account_id for f in outcome.execution.failures) == FITNESS
        assert all(f.step == "update_settings" for f in outcome.execution.failures)

        after = await _settings(control)
        for account_id in FASHION:  # waves 1 and 2 were applied
            assert after[account_id]["followers_min"] == 500 and after[account_id]["likes_speed"] == 4
        for account_id in FITNESS + LATER:  # refused, or never started
            assert after[account_id] == before[account_id]
        # not one request was sent for the third wave's settings: 1 + 9 patches only
        assert await count(control, "PATCH", SETTINGS) == 10


async def test_a_max_fail_that_tolerates_the_failures_lets_the_waves_go_on(tmp_path):
    emu = await _world()
    pb = write_playbook(tmp_path / "pb", PLAYBOOK)
    async with emu.control() as control:
        async with client_for(emu) as client:
            outcome = await run(client, [pb], ApplyOptions(waves=parse_waves("1,50%,100%"),
                                                           max_fail=parse_limit("60%", "--max-fail")))
        # still partial (5 accounts failed), but every wave ran
        assert outcome.exit_code == 4, failures_of(outcome)
        waves = [(w.accounts, w.failed, w.halted) for w in outcome.waves]
        assert waves == [(1, 0, False), (9, 5, False), (10, 0, False)]
        after = await _settings(control)
        for account_id in FASHION + LATER:
            assert after[account_id]["followers_min"] == 500 and after[account_id]["likes_speed"] == 4
        assert await count(control, "PATCH", SETTINGS) == 20
