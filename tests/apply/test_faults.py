"""Apply under injected faults: 500 accounts converge under 10% faults (429 with Retry-After,
5xx, dropped connections, writes whose answer is lost) with no duplicate on the server; after
the client gave up, the executor never sends a call again: it finds a create whose answer was
lost, and otherwise records the failure for that account alone."""

from __future__ import annotations

from collections import Counter

import anyio

from orchestrator import playbook
from orchestrator.api.retry import RetrySettings
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.apply.run import ApplyOptions, apply, operations_of
from orchestrator.render import render_text
from orchestrator.planning.planner import build_plan
from tests.harness import (
    VirtualTime,
    client_for,
    count,
    executor_for,
    failures_of,
    request_rows,
    run,
    stored,
    write_playbook,
)

RETRY_AFTER = 7  # longer than any backoff the client draws by itself (<= 4 s)
FAULTS = {
    "seed": 5,
    "error_rate": 0.05,
    "error_statuses": {"429": 1, "500": 1, "502": 1, "503": 1},
    "retry_after": RETRY_AFTER,
    "lost_response_rate": 0.025,  # the handler runs, its write takes effect, the answer is dropped
    "drop_rate": 0.025,  # the connection drops before the handler runs
}
CAPTIONS = 30

SCALE_PLAYBOOK = """\
version: 1
groups:
  scale:
    usernames: "*_s0*"
entries:
  - name: Scale campaign
    groups: scale
    reactions:
      state: active
      settings:
        likes_speed: 3
        is_follow: true
      targets:
        - hashtag: orchestrated
        - keyword: growth hacks
    first_comment:
      schedules:
        - name: sportswear
          targets: [nike, adidas]
          comments: ["{Love|Adore} this look!"]
captions:
  library:
""" + "".join(f'    Scale caption {i}: "Caption {i} {{one|two}} #scale{i}"\n' for i in range(CAPTIONS))


def _duplicates(counter: Counter) -> list:
    return [key for key, n in counter.items() if n > 1]


async def test_500_accounts_converge_under_ten_percent_faults_without_duplicates(tmp_path):
    emu = LocalEmulator("accounts=500")
    pb = write_playbook(tmp_path / "pb", SCALE_PLAYBOOK)
    book = playbook.load([str(pb)])
    time = VirtualTime()
    async with emu.control() as control:
        (await control.put("/faults", json=FAULTS)).raise_for_status()
        async with client_for(emu, time=time) as client:
            with anyio.fail_after(300):  # a bound on a hang, not a timing assertion
                outcome = await apply(client, book, ApplyOptions(), executor=executor_for(client))
            stats = client.transport.stats.snapshot()
        rows = await request_rows(control)
        (await control.delete("/faults")).raise_for_status()

        # All four kinds of fault really happened, on writes too.
        injected = Counter(r["status"] for r in rows for _ in range(r["count"]) if r["injected"])
        total = sum(r["count"] for r in rows)
        assert injected[429] and injected[500] and injected[502] and injected[503] and injected[0], injected
        assert sum(injected.values()) / total > 0.07, (injected, total)
        lost_writes = sum(r["count"] for r in rows if r["injected"] and r["status"] == 0 and r["method"] == "POST")
        assert lost_writes > 20
        # ... and were survived the way they must be: Retry-After honoured, lost creates found again
        # (readback) rather than resent, lost target adds taken as done on a 409.
        assert RETRY_AFTER in time.slept
        assert stats["readbacks"] > 0 and stats["conflicts_as_success"] > 0

        assert outcome.plan.summary()["accounts"] == 501  # 500 accounts and the caption library
        assert outcome.exit_code == 0, failures_of(outcome)
        assert outcome.message == "applied and verified"

        async with client_for(emu) as client:
            with anyio.fail_after(120):
                again = await build_plan(client, book)
        assert again.ok and again.plan.empty, render_text(again.plan)

        # The server's side: nothing made twice.
        schedules = await stored(control, "reactions_schedules")
        assert len(schedules) == 500
        for s in schedules:
            keys = Counter((t["type"], t["value"]) for t in s["targets"])
            assert not _duplicates(keys), (s["account_id"], s["targets"])
            assert {("hashtag", "orchestrated"), ("keyword", "growth hacks")} <= set(keys)
        captions = await stored(control, "captions")
        titles = Counter(c["title"] for c in captions)
        assert not _duplicates(titles)
        assert sum(1 for t in titles if t.startswith("Scale caption ")) == CAPTIONS
        comment_schedules = await stored(control, "first_comment_schedules")
        per_account = Counter((s["account_id"], frozenset(t["username"] for t in s["targets"]))
                              for s in comment_schedules)
        assert not _duplicates(per_account)
        assert sum(1 for (_, targets) in per_account if targets == {"nike", "adidas"}) == 500


# -- after the client gave up: the executor's read-back, never a resend ----------------------
SMALL_PLAYBOOK = """\
version: 1
groups:
  one:
    accounts: [fashion_nova]
entries:
  - groups: one
    reactions:
      targets:
        - hashtag: lostanswers
        - people_followers: lostanswers_brand
          id: 1234567
    first_comment:
      schedules:
        - targets: [lostbrand]
          comments: ["First!"]
captions:
  library:
    Lost answer one: "One {a|b}"
    Lost answer two: "Two {a|b}"
"""


async def test_a_lost_answer_is_found_by_the_executor_never_sent_twice(emu, control, tmp_path):
    """Every POST takes effect and loses its answer, and the client does not retry
    (``attempts=1``), so each create reaches the executor as a failure that may have applied.
    The executor does not resend: it asks the kind to find what the call made, and counts it done."""
    pb = write_playbook(tmp_path / "pb", SMALL_PLAYBOOK)
    captions_before = Counter(c["title"] for c in await stored(control, "captions"))
    fc_before = len(await stored(control, "first_comment_schedules", account_id=1))
    (await control.put("/faults", json={"lost_response_rate": 1.0, "methods": ["POST"], "seed": 1})).raise_for_status()
    async with client_for(emu, retry=RetrySettings(attempts=1)) as client:
        outcome = await run(client, [pb])
    (await control.delete("/faults")).raise_for_status()

    captions = Counter(c["title"] for c in await stored(control, "captions"))
    assert captions["Lost answer one"] == captions["Lost answer two"] == 1
    assert captions - Counter({"Lost answer one": 1, "Lost answer two": 1}) == captions_before
    comment_schedules = await stored(control, "first_comment_schedules", account_id=1)
    assert len(comment_schedules) == fc_before + 1
    (schedule,) = await stored(control, "reactions_schedules", account_id=1)
    targets = Counter((t["type"], t["value"]) for t in schedule["targets"])
    assert targets[("hashtag", "lostanswers")] == 1 and targets[("people_followers", "lostanswers_brand")] == 1
    # what was made is recognised as done, so the run succeeds
    assert outcome.exit_code == 0, failures_of(outcome)


async def test_a_409_on_an_add_means_already_there(emu, alice, control, tmp_path):
    """The target is added by someone else between plan and execution: the server answers 409
    to the executor's first attempt, which is "already there", not a failure of the account."""
    pb = write_playbook(tmp_path / "pb", SMALL_PLAYBOOK.split("    first_comment:")[0])
    book = playbook.load([str(pb)])
    async with client_for(emu) as client:
        planned = await build_plan(client, book)
        ops = operations_of(planned.plan.changes)
        assert [(op.account_id, op.name) for op in ops] == [(1, "add_target"), (1, "add_target")]
        r = await alice.post("/reactions/schedules/1/targets", json={"type": "hashtag", "value": "lostanswers"})
        assert r.status_code == 201, r.text
        result = await executor_for(client).run(ops)
    assert result.failures == [] and result.failed_accounts == set()
    assert result.results[("reactions", "add_target", "done")] == 2
    assert await count(control, "POST", "/reactions/schedules/{account_id}/targets") == 3  # 1 + 2, no retry
    (schedule,) = await stored(control, "reactions_schedules", account_id=1)
    assert Counter((t["type"], t["value"]) for t in schedule["targets"])[("hashtag", "lostanswers")] == 1


TWO_ACCOUNTS = """\
version: 1
groups:
  two:
    accounts: [fashion_nova, fashion_chic]
entries:
  - groups: two
    reactions:
      targets:
        - hashtag: onelayer
"""


async def test_a_failure_the_client_gave_up_on_is_not_sent_again(emu, control, tmp_path):
    """Account 1's target adds answer 500 every time. The client tries 3 times (its budget); the
    executor does not start another round of them (one retry layer per failure class), records
    the failure for account 1, and account 2 is applied."""
    pb = write_playbook(tmp_path / "pb", TWO_ACCOUNTS)
    (await control.put("/faults", json={"error_rate": 1.0, "error_statuses": {"500": 1}, "methods": ["POST"],
                                        "path_regex": "^/api/v1/reactions/schedules/1/targets$"})).raise_for_status()
    (await control.post("/requests/reset")).raise_for_status()
    async with client_for(emu, retry=RetrySettings(attempts=3)) as client:
        outcome = await run(client, [pb])
    (await control.delete("/faults")).raise_for_status()

    assert outcome.exit_code == 4, failures_of(outcome)
    assert [(f.account_id, f.kind, f.step) for f in outcome.execution.failures] == [(1, "reactions", "add_target")]
    rows = [r for r in await request_rows(control)
            if r["method"] == "POST" and r["route"] == "/reactions/schedules/{account_id}/targets"]
    assert sum(r["count"] for r in rows if r["injected"]) == 3  # the client's 3 attempts, nothing more
    assert sum(r["count"] for r in rows if not r["injected"]) == 1  # account 2's add
    added = {s["account_id"] for s in await stored(control, "reactions_schedules")
             if ("hashtag", "onelayer") in {(t["type"], t["value"]) for t in s["targets"]}}
    assert len(added) == 1 and 1 not in added  # fashion_chic's, not fashion_nova's
