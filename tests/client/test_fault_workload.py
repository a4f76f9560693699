"""The client under 20% injected faults (429 with Retry-After, 503, dropped connections, writes
whose answer is lost): a workload of over 1,000 mixed calls surfaces no error and leaves no
duplicate side effect, as the emulator's stored state (not the client's beliefs) shows."""

from __future__ import annotations

import anyio

from orchestrator.api import SharingtoolsClient
from orchestrator.api.retry import RetrySettings
from orchestrator.emulator.testing import BASE_URL
from tests.harness import stored
from tests.harness import VirtualTime

FAULTS = {
    "seed": 20261128,
    "error_rate": 0.10,
    "error_statuses": {"429": 1, "503": 1},
    "retry_after": 1,
    "drop_rate": 0.05,
    "lost_response_rate": 0.05,
}


async def test_a_thousand_mixed_calls_under_twenty_percent_faults(emu, control):
    before_captions = len(await stored(control, "captions", user_id=1))
    before_fc = len(await stored(control, "first_comment_schedules"))
    await control.put("/faults", json=FAULTS)
    calls = 0
    time = VirtualTime()
    async with SharingtoolsClient(
        f"{BASE_URL}/api/v1", emu.keys["alice"], transport=emu.transport(), rate=5000, concurrency=16,
        sleep=time.sleep, clock=time.clock, retry=RetrySettings(attempts=12, deadline=300),
    ) as client:

        async def account_work(account_id: int) -> None:
            nonlocal calls
            for round_ in range(8):
                await client.accounts.get(account_id)
                settings = await client.reactions.get_settings(account_id)
                assert "likes_speed" in settings
                await client.reactions.update_settings(account_id, likes_speed=1 + (account_id + round_) % 5)
                await (client.reactions.pause if round_ % 2 else client.reactions.activate)(account_id)
                await client.reactions.add_target(account_id, "hashtag", f"fault{account_id}x{round_}")
                calls += 5
            await client.captions.create(f"Fault caption {account_id}", f"Text for {account_id}")
            await client.first_comment.create_schedule(
                account_id, [{"username": f"brand{account_id}", "user_pk": str(1000 + account_id)}],
                [f"Great post {account_id}!"])
            listed = [c async for c in client.captions.list(search=f"Fault caption {account_id}")]
            assert listed
            calls += 3

        async with anyio.create_task_group() as tg:
            for account_id in range(1, 26):
                tg.start_soon(account_work, account_id)
        stats = client.transport.stats.snapshot()
    await control.delete("/faults")

    assert calls >= 1000
    counters = (await control.get("/requests")).json()
    injected = sum(r["count"] for r in counters["requests"] if r["injected"])
    assert injected / counters["total"] > 0.15, "the faults were really injected"
    assert stats["retries"] > 0
    assert stats["requests"]["429"] > 0  # and the client slowed down for them (on virtual time)

    # No duplicate side effect on the server.
    captions = await stored(control, "captions", user_id=1)
    titles = [c["title"] for c in captions]
    assert len(captions) == before_captions + 25
    assert len(titles) == len(set(titles))
    schedules = await stored(control, "first_comment_schedules")
    assert len(schedules) == before_fc + 25
    for row in await stored(control, "reactions_schedules", user_id=1):
        keys = [(t["type"], str(t["value"]).lower()) for t in row["targets"]]
        assert len(keys) == len(set(keys)), f"duplicate target on account {row['account_id']}"
        added = [k for k in keys if k[1].startswith(f"fault{row['account_id']}x")]
        assert len(added) == 8
