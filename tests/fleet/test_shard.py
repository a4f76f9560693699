"""``--shard K/N``: shards are disjoint and cover every account, whatever N; three shards
applied at once against one emulator converge on the whole fleet; the CLI takes the shard
from the option or from $SHARINGTOOLS_SHARD and refuses a shard that does not exist."""

from __future__ import annotations

import json

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator import playbook
from orchestrator.apply.run import ApplyOptions, apply
from orchestrator.planning.planner import build_plan
from orchestrator.contract import Account
from orchestrator.planning.shard import Shard, ShardError, shard_of
from tests.harness import PLAYBOOKS, client_for, executor_for, failures_of
from tests.conftest import world
from tests.harness.plan_cli import Cli


@settings(max_examples=200, deadline=None)
@given(ids=st.sets(st.integers(min_value=1, max_value=2**53), max_size=300), n=st.integers(min_value=1, max_value=8))
def test_shards_are_disjoint_and_cover_every_account(ids: set[int], n: int) -> None:
    owners = {i: [k for k in range(n) if Shard(k, n).owns(i)] for i in ids}
    assert all(len(found) == 1 for found in owners.values())  # exactly one shard each
    assert all(found == [shard_of(i, n)] for i, found in owners.items())


SMALL = """
version: 1
groups:
  everyone: {all: true}
  odd: {usernames: "*[13579]"}
entries:
  - groups: everyone
    reactions: {state: active}
  - groups: odd
    welcomedm: {state: paused}
captions:
  library: {Hello: "Hello there"}
"""


@pytest.fixture(scope="module")
def small_book(tmp_path_factory: pytest.TempPathFactory) -> playbook.Playbook:
    path = tmp_path_factory.mktemp("shard") / "small.yaml"
    path.write_text(SMALL)
    return playbook.load([str(path)])


@settings(max_examples=50, deadline=None)
@given(ids=st.sets(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=200),
       n=st.integers(min_value=1, max_value=8))
def test_selected_desired_states_partition_the_fleet(small_book: playbook.Playbook, ids: set[int], n: int) -> None:
    whole = playbook.desired_state(small_book, [Account(i, f"acct_{i}") for i in ids])
    parts = [Shard(k, n).select(whole) for k in range(n)]
    seen = [a for part in parts for a in part.by_account]
    assert sorted(seen) == sorted(whole.by_account) == sorted(ids)  # disjoint (no duplicates) and covering
    assert [part.captions is not None for part in parts] == [True] + [False] * (n - 1)  # the library: shard 0


def test_the_hash_is_stable_across_processes_and_releases() -> None:
    # Changing the hash would move accounts between shards (and their state databases): pinned.
    assert [shard_of(i, 4) for i in range(1, 11)] == [1, 2, 3, 2, 3, 3, 2, 3, 0, 0]
    assert [shard_of(i, 3) for i in range(1, 11)] == [1, 1, 1, 1, 2, 0, 2, 0, 0, 0]
    assert {shard_of(i, 1) for i in range(1, 100)} == {0}


@pytest.mark.parametrize("text", ["4/4", "1/0", "-1/3", "x", "1", "1/2/3", ""])
def test_a_shard_that_does_not_exist_is_one_clear_error(text: str) -> None:
    with pytest.raises(ShardError, match=r"K/N|does not exist"):
        Shard.parse(text)
    assert Shard.parse(" 2 / 3 ") == Shard(2, 3) and str(Shard(2, 3)) == "2/3"


async def test_three_shards_applied_concurrently_converge_on_the_whole_fleet() -> None:
    emu = world()  # frozen clock: the engine does not switch schedules off behind the test's back
    book = playbook.load([str(PLAYBOOKS)])
    async with client_for(emu) as client:
        whole = await build_plan(client, book)
        assert whole.ok and not whole.plan.empty
        parts = [await build_plan(client, book, shard=Shard(k, 3)) for k in range(3)]
    # The shards' plans split the whole plan: every change in exactly one of them.
    key = lambda c: c.sort_key()  # noqa: E731
    assert sorted((c for p in parts for c in p.plan.changes), key=key) == sorted(whole.plan.changes, key=key)
    for k, part in enumerate(parts):
        assert {c.account_id for c in part.plan.changes} - {0} <= {a for a in whole.desired.by_account
                                                                   if shard_of(a, 3) == k}
    assert [any(c.kind == "captions" for c in p.plan.changes) for p in parts] == [True, False, False]

    outcomes = {}

    async def run_shard(k: int) -> None:
        async with client_for(emu) as client:
            # Each shard's policy counts its own accounts: the percentages scale with it.
            outcomes[k] = await apply(client, book, ApplyOptions(shard=Shard(k, 3), policy=["max_pauses=100%"]),
                                      executor=executor_for(client))

    async with anyio.create_task_group() as tg:
        for k in range(3):
            tg.start_soon(run_shard, k)
    for outcome in outcomes.values():
        assert outcome.exit_code == 0, failures_of(outcome)

    async with client_for(emu) as client:
        again = await build_plan(client, book)
    assert again.ok and again.plan.empty, [c.public() for c in again.plan.changes][:20]


@pytest.mark.uvicorn
def test_plan_takes_the_shard_from_the_option_or_the_environment(cli: Cli) -> None:
    whole = json.loads(cli.plan(PLAYBOOKS, "--format", "json").stdout)["changes"]
    by_option = cli.plan(PLAYBOOKS, "--format", "json", "--shard", "1/2")
    by_env = cli.plan(PLAYBOOKS, "--format", "json", env={"SHARINGTOOLS_SHARD": "0/2"})
    one, zero = (json.loads(r.stdout)["changes"] for r in (by_option, by_env))
    assert one and zero
    assert {c["account_id"] for c in one} == {c["account_id"] for c in whole if shard_of(c["account_id"], 2) == 1}
    assert len(one) + len(zero) == len(whole)
    assert any(c["kind"] == "captions" for c in zero) and not any(c["kind"] == "captions" for c in one)

    bad = cli.plan(PLAYBOOKS, "--shard", "2/2")
    assert bad.exit_code == 1
    assert bad.stderr.strip().splitlines() == [
        "error: shard 2/2 does not exist: use K/N with 0 <= K < N, e.g. 0/4"]


@pytest.mark.uvicorn
def test_apply_by_shard_on_the_command_line(fresh, tmp_path) -> None:
    from typer.testing import CliRunner

    from orchestrator.cli.app import app

    env = {"SHARINGTOOLS_BASE_URL": fresh.api, "SHARINGTOOLS_API_KEY": fresh.keys["alice"], "SHARINGTOOLS_RATE": "2000",
           "SHARINGTOOLS_CONFIG": None, "SHARINGTOOLS_API_KEY_FILE": None, "SHARINGTOOLS_SHARD": None}
    runner = CliRunner()

    def plan(shard: str) -> int:
        return runner.invoke(app, ["plan", str(PLAYBOOKS), "--detailed-exitcode", "--shard", shard], env=env).exit_code

    assert (plan("0/2"), plan("1/2")) == (2, 2)
    applied = runner.invoke(app, ["apply", str(PLAYBOOKS), "--yes", "--shard", "0/2", "--policy", "max_pauses=100%",
                                  "--state-db", str(tmp_path / "shard-0-of-2.db")], env=env)
    assert applied.exit_code == 0, applied.output
    assert (plan("0/2"), plan("1/2")) == (0, 2)  # shard 0 converged; shard 1 untouched


@pytest.mark.uvicorn
def test_reconcile_once_by_shard(fresh, tmp_path) -> None:
    from typer.testing import CliRunner

    from orchestrator.cli.app import app

    env = {"SHARINGTOOLS_BASE_URL": fresh.api, "SHARINGTOOLS_API_KEY": fresh.keys["alice"], "SHARINGTOOLS_RATE": "2000",
           "SHARINGTOOLS_CONFIG": None, "SHARINGTOOLS_API_KEY_FILE": None, "SHARINGTOOLS_SHARD": "1/2"}
    runner = CliRunner()
    cycle = runner.invoke(app, ["reconcile", str(PLAYBOOKS), "--once", "--policy", "max_pauses=100%",
                                "--state-db", str(tmp_path / "shard-1-of-2.db")], env=env)
    assert cycle.exit_code == 0, cycle.output

    def plan(shard: str) -> int:
        return runner.invoke(app, ["plan", str(PLAYBOOKS), "--detailed-exitcode", "--shard", shard], env=env).exit_code

    assert (plan("1/2"), plan("0/2")) == (0, 2)  # the shard from $SHARINGTOOLS_SHARD converged, the other not
