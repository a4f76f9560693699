"""The state store's contract, on both backends: runs and the journal, installations kept
apart, drift kept as changes of state, retention, the lock, the fleet's budgets."""

from __future__ import annotations

import pytest

from orchestrator.contract import Kind
from orchestrator.contract.vocabulary import Action
from orchestrator.plan import Change
from orchestrator.state.store import (
    BackoffPolicy,
    DriftRow,
    Installation,
    LockHeld,
    RetentionPolicy,
    StateStore,
    mask_url,
)
from tests.state.conftest import URL_A, URL_B, Opener


def _row(account: int, outcome: str = "reported", after: object = 3, path: str = "settings.likes_speed") -> DriftRow:
    return DriftRow(account, f"user{account}", "reactions", path, "update", 1, after, outcome, None)


def test_the_installation_is_the_normalised_base_url_not_the_key() -> None:
    same = {Installation.of(u).id for u in ("https://A.example/api/v1", "https://a.example:443/api/v1/",
                                            "HTTPS://a.example/api/v1?x=1", "https://user:pw@a.example/api/v1")}
    assert len(same) == 1
    assert Installation.of("https://a.example/api/v1").url == "https://a.example/api/v1"
    assert Installation.of("https://a.example:8443/api/v1").id not in same
    assert Installation.of("http://a.example/api/v1").id not in same


def test_a_password_is_masked() -> None:
    assert mask_url("postgresql://ana:s3cret@db:5432/x") == "postgresql://ana:***@db:5432/x"
    assert mask_url("postgresql://db/x?password=s3cret&sslmode=require") == \
        "postgresql://db/x?password=***&sslmode=require"
    assert mask_url("/var/lib/state.db") == "/var/lib/state.db"


async def test_runs_and_the_journal(store: StateStore) -> None:
    run = await store.start_run("apply", "sha256:ab", [3, 1, 1])
    op = await store.op_started(run, 1, "reactions", "update_settings", {"likes_speed": 3})
    store.op_finished(op)
    failed = await store.op_started(run, 3, "reactions", "activate", {})
    store.op_finished(failed, "429 too many")
    ops = await store.operations(run)  # reading flushes the buffered ends
    assert [(o["account_id"], o["status"], o["error"]) for o in ops] == [
        (1, "done", None), (3, "failed", "429 too many")]
    assert (await store.unfinished()).id == run  # type: ignore[union-attr]
    await store.finish_run(run, "interrupted", {"message": "stopped", "failures": list(range(500))})
    second = await store.start_run("apply", "sha256:ab", [3], resumes=run)
    await store.finish_run(second, "succeeded", {"message": "applied and verified"})
    newest, oldest = await store.runs()
    assert (newest.id, newest.resumes, oldest.resumed_by, oldest.accounts) == (second, run, second, [1, 3])
    assert await store.unfinished() is None
    # a report keeps its counts but not a list of every item
    stored = oldest.report
    assert stored is not None and len(stored["failures"]) == 51 and stored["failures"][-1] == {"more": 450}


async def test_installations_never_cross(opener: Opener) -> None:
    a, b = await opener(URL_A), await opener(URL_B)
    run = await a.start_run("apply", None, [1])
    await a.finish_run(run, "interrupted", {})
    change = Change(1, "user1", Kind.REACTIONS, Action.UPDATE, "settings.likes_speed", 1, 3)
    await a.record_applied([change], run)
    await a.record_accounts([{"id": 1, "username": "User1"}])
    await a.backoff_failed(1, "user1", "did not verify", BackoffPolicy())
    await a.record_drift(run, [_row(1)], read={1})
    # B sees nothing of A: no run to resume, no backoff, no applied value, no drift, no history
    assert await b.unfinished() is None and await b.runs() == [] and await b.backoffs() == {}
    assert await b.applied_drift([change]) == frozenset() and await b.known_usernames() == frozenset()
    assert await b.drift_states() == [] and await b.run(run) is None and await b.operations(run) == []
    assert (await a.unfinished()).id == run  # type: ignore[union-attr]
    assert await a.applied_drift([change]) == {(1, "reactions", "settings.likes_speed")}
    assert await a.known_usernames() == {"user1"} and set(await a.backoffs()) == {1}
    assert [r.id for r in await b.runs(every_installation=True)] == [run]


async def test_drift_is_kept_as_changes_of_state(store: StateStore) -> None:
    runs = []
    for _ in range(5):  # the same blocked and reported facts, cycle after cycle
        run = await store.start_run("reconcile-report", None, [1, 2])
        await store.record_drift(run, [_row(1), _row(2, "blocked", None, "*")], read={1, 2, 3})
        await store.finish_run(run, "reported", {})
        runs.append(run)
    states = await store.drift_states()
    assert len(states) == 2 and {(s.cycles, s.first_run, s.last_run, s.open) for s in states} == {
        (5, runs[0], runs[-1], True)}
    # what one cycle found is still there for `history show`
    assert {r.account_id for r in await store.drift_of_run(runs[2])} == {1, 2}
    # account 1's drift changes value: a new state; account 2 is in sync again: closed
    run = await store.start_run("reconcile-report", None, [1])
    await store.record_drift(run, [_row(1, after=4)], read={1, 2})
    states = await store.drift_states()
    assert [(s.row.account_id, s.row.after, s.cycles, s.open) for s in states] == [
        (1, 3, 5, False), (2, None, 5, False), (1, 4, 1, True)]
    assert [(r.account_id, r.after) for r in await store.drift_of_run(run)] == [(1, 4)]
    assert [(r.account_id, r.after) for r in await store.drift_of_run(runs[0])] == [(1, 3), (2, None)]
    spots = await store.hot_spots(min_cycles=2)
    assert [(s["username"], s["cycles"]) for s in spots] == [("user1", 6)]  # blocked items apart


async def test_retention_by_count_and_by_age(store: StateStore) -> None:
    ids = []
    for i in range(30):
        run = await store.start_run("apply", None, [i])
        store.op_finished(await store.op_started(run, i, "account", "change_proxy", {}))
        await store.finish_run(run, "succeeded", {})
        ids.append(run)
    result = await store.prune(RetentionPolicy(older_than=10 * 86400, keep=10))
    assert (result.runs, result.operations) == (20, 20)
    assert [r.id for r in await store.runs(100)] == ids[:-11:-1]
    assert await store.operations(ids[0]) == []
    # by age: everything older than the cutoff goes, except the newest run (it may be resumed)
    result = await store.prune(RetentionPolicy(older_than=1, keep=100), now=store.clock() + 3600)  # type: ignore[attr-defined]
    assert [r.id for r in await store.runs(100)] == [ids[-1]] and result.runs == 9


async def test_the_lock_names_its_holder_and_is_per_installation(opener: Opener) -> None:
    a1, a2, b = await opener(URL_A), await opener(URL_A), await opener(URL_B)
    async with a1.lock("reconcile --mode fix") as grant:
        assert grant.previous is None
        with pytest.raises(LockHeld) as held:
            async with a2.lock("apply"):
                pass
        assert "reconcile --mode fix (pid " in str(held.value) and held.value.holder is not None
        async with b.lock("apply"):  # another installation has its own lock
            pass
    async with a2.lock("apply"):  # released: free again
        pass


async def test_shards_lock_side_by_side_but_not_beside_an_unsharded_run(opener: Opener) -> None:
    s0, s1, s0_again = (await opener(URL_A, shard="0/2"), await opener(URL_A, shard="1/2"),
                        await opener(URL_A, shard="0/2"))
    whole = await opener(URL_A)
    async with s0.lock("reconcile --shard 0/2"), s1.lock("reconcile --shard 1/2"):
        with pytest.raises(LockHeld) as held:
            async with s0_again.lock("apply --shard 0/2"):
                pass
        assert "reconcile --shard 0/2" in str(held.value)
        with pytest.raises(LockHeld) as held:
            async with whole.lock("apply"):
                pass
        assert "reconcile --shard" in str(held.value)
    async with whole.lock("apply"):
        with pytest.raises(LockHeld):
            async with s1.lock("apply --shard 1/2"):
                pass


async def test_fleet_reservations_are_all_or_none_and_shared_by_a_round(opener: Opener) -> None:
    shards = [await opener(URL_A, shard=f"{k}/3") for k in range(3)]
    limits = {"max_activations": 10, "max_pauses": 5}
    first = await shards[0].reserve(3, {"max_activations": 6}, limits)
    second = await shards[1].reserve(3, {"max_activations": 6, "max_pauses": 1}, limits)
    third = await shards[2].reserve(3, {"max_activations": 4, "max_pauses": 5}, limits)
    assert (first.granted, second.granted, third.granted) == (True, False, True)
    assert first.round == second.round == third.round
    assert third.used == {"max_activations": 10, "max_pauses": 5}
    # an explicit round (a Job's name) has an allowance of its own
    assert (await shards[1].reserve(3, {"max_activations": 6}, limits, round_id="job-2")).granted


async def test_fleet_members_share_the_budget_and_a_leaver_gives_its_share_back(opener: Opener) -> None:
    a, b = await opener(URL_A, shard="0/2"), await opener(URL_A, shard="1/2")
    shares_a: list[tuple[int, float]] = []
    async with a.fleet_member(300, 16, lambda s: shares_a.append((s.live, s.rate))):
        async with b.fleet_member(300, 16, lambda s: None):
            assert await a.fleet_beat("probe", 3.0) == 2  # type: ignore[attr-defined]
        assert await a.fleet_beat("probe", 3.0) == 1  # type: ignore[attr-defined]
    assert shares_a[0] == (2, 150.0)  # while new, it counts both shards as live


async def test_window_claims_are_written_with_adds_and_forgotten_with_removals(opener: Opener) -> None:
    """What an apply added for an entry window is claimed (per installation); a removal of the
    path, whoever asks for it, forgets the claim; an add for no window claims nothing."""
    a, b = await opener(URL_A), await opener(URL_B)
    added = Change(1, "nova", Kind.REACTIONS, Action.ADD, "targets[hashtag:blackfriday]", None,
                   {"type": "hashtag", "value": "blackfriday"}, "g.yaml:9:5", window="Black Friday push")
    timeless = Change(1, "nova", Kind.REACTIONS, Action.ADD, "targets[hashtag:ootd]", None,
                      {"type": "hashtag", "value": "ootd"}, "g.yaml:4:5")
    run = await a.start_run("apply", None, [1])
    await a.record_applied([added, timeless], run)
    [claim] = await a.window_claims()
    assert (claim.account_id, claim.kind, claim.path, claim.window) == (
        1, "reactions", "targets[hashtag:blackfriday]", "Black Friday push")
    assert await b.window_claims() == frozenset()  # another installation's
    removed = Change(1, "nova", Kind.REACTIONS, Action.REMOVE, "targets[hashtag:blackfriday]",
                     {"type": "hashtag", "value": "blackfriday"}, None, "g.yaml:7:5", window="Black Friday push")
    await a.record_applied([removed], run)
    assert await a.window_claims() == frozenset()
async def test_the_posts_memory_round_trips_and_stays_with_its_installation(opener: Opener) -> None:
    """What apply's `ProcessMemory` learnt is stored (remembered and forgotten entries in one
    write) and read back whole by the next run's; another installation sees none of it."""
    from orchestrator.kinds import ProcessMemory

    store, other = await opener(URL_A), await opener(URL_B)
    assert await store.remembered() == ({}, {})
    memory = ProcessMemory()
    memory.remember_object("posts", 7, "winter-teaser", 4312)
    memory.remember_object("posts", 8, "winter-teaser", 4313)
    memory.remember_upload("ab" * 32, 42)
    memory.remember_upload("cd" * 32, 43)
    await store.save_identities(*memory.take_writes())
    assert memory.take_writes() == ({}, {})  # nothing pending once stored
    memory.forget_object("posts", 8, "winter-teaser")
    memory.forget_upload("cd" * 32)
    memory.remember_object("posts", 7, "winter-teaser", 5000)  # made again: the newer id
    await store.save_identities(*memory.take_writes())

    again = ProcessMemory(*await store.remembered())
    assert again.objects("posts", [7, 8]) == {(7, "winter-teaser"): 5000}
    assert again.upload("ab" * 32) == 42 and again.upload("cd" * 32) is None
    assert await store.remembered() == ({("posts", 7, "winter-teaser"): 5000}, {"ab" * 32: 42})
    assert await other.remembered() == ({}, {})
    await other.save_identities({("posts", 7, "winter-teaser"): 1}, {"ab" * 32: 2})
    assert (await store.remembered())[1] == {"ab" * 32: 42}
