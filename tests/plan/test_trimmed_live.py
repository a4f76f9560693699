"""A schedule kind keeps of the live settings only what the playbook manages, while the plan's
fingerprints stay those of the whole state as read (a saved plan's drift check compares them),
whichever way the state was read: the fleet's list, or account by account after a failure."""

from __future__ import annotations

from orchestrator.api.retry import RetrySettings
from orchestrator.contract import Kind
from orchestrator.kinds import KindRegistry, ReadContext
from orchestrator.plan import fingerprint
from orchestrator.planning.planner import build_plan
from tests.harness import client_for, load_playbook
from tests.conftest import world
from tests.harness.hostile import Rule, hostile_client

PLAYBOOK = """\
version: 1
groups:
  fashion:
    usernames: "fashion_*"
entries:
  - groups: fashion
    reactions:
      settings:
        likes_speed: 2
      targets:
        - hashtag: trimmed
"""


async def test_the_live_state_keeps_the_managed_settings_and_the_whole_states_fingerprint(tmp_path):
    emu = world()
    book = load_playbook(tmp_path, PLAYBOOK)
    async with client_for(emu) as client:
        planned = await build_plan(client, book)
        accounts = {a.id: a async for a in client.accounts.list()}
        wanted = planned.desired.of_kind(Kind.REACTIONS)
        read = await KindRegistry.default()[Kind.REACTIONS].read(ReadContext(client, accounts), [accounts[1]],
                                                                 {1: wanted[1]})
        whole = await client.reactions.get_settings(1)
        schedule = await client.reactions.get_schedule(1)
        targets = [t.model_dump() for t in await client.reactions.list_targets(1)]
    live = read.live[1]
    assert set(live["settings"]) == {"likes_speed"} and len(whole) > 1
    state = "active" if schedule.is_active else "paused"
    assert planned.plan.fingerprints[1]["reactions"] == fingerprint(
        {"state": state, "settings": whole, "targets": targets})


async def test_reading_account_by_account_gives_the_same_fingerprints(tmp_path):
    emu = world()
    book = load_playbook(tmp_path, PLAYBOOK)
    async with client_for(emu) as client:
        normal = await build_plan(client, book)
    failing = Rule(r"GET /api/v1/reactions/schedules/3/settings$", 503, b'{"success":false,"message":"down"}')
    async with hostile_client(emu, [failing], retry=RetrySettings(attempts=2, deadline=30)) as client:
        fallback = await build_plan(client, book)
    assert [p.account_id for p in fallback.read_failures] == [3]
    others = {a: f for a, f in normal.plan.fingerprints.items() if a != 3}
    assert {a: fallback.plan.fingerprints[a] for a in others} == others
