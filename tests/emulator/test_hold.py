"""Held requests (``/_emulator/hold``): in scope and past ``after``, a request is handled (its
write takes effect) and its answer kept until the test releases it; everything else answers as
usual. What the interrupt tests use to have a write in flight at a moment of their choosing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from tests.conftest import data

TARGET = {"type": "hashtag", "value": "held"}
WAIT = 30.0  # seconds: the bound of every wait (a hang fails, it never blocks the suite)


async def _until_waiting(control: httpx.AsyncClient, n: int) -> dict[str, Any]:
    """The hold's report once ``n`` requests are held (each control call lets the others run)."""
    async with asyncio.timeout(WAIT):
        while True:
            report = (await control.get("/hold")).json()
            if report["waiting"] >= n:
                return report
            await asyncio.sleep(0)


async def _targets(control: httpx.AsyncClient) -> list[str]:
    (schedule,) = (await control.get("/state/reactions_schedules", params={"account_id": 1})).json()["items"]
    return [t["value"] for t in schedule["targets"]]


async def test_a_held_write_takes_effect_and_its_answer_waits_for_the_release(alice, control):
    (await control.put("/hold", json={"path_regex": "/targets$", "after": 1})).raise_for_status()
    data(await alice.post("/reactions/schedules/1/targets", json={**TARGET, "value": "first"}), 201)  # `after` 1

    held = asyncio.create_task(alice.post("/reactions/schedules/1/targets", json=TARGET))
    report = await _until_waiting(control, 1)
    assert (report["passed"], report["held"], report["waiting"]) == (1, 1, 1)
    assert "held" in await _targets(control) and not held.done()  # applied, not answered
    data(await alice.get("/reactions/schedules/1"))  # a read is not in scope
    data(await alice.post("/reactions/schedules/1/pause"))  # nor another path

    assert (await control.post("/hold/release")).json() == {"released": 1}
    async with asyncio.timeout(WAIT):
        data(await held, 201)
    assert (await control.get("/hold")).json()["waiting"] == 0


async def test_requests_after_a_release_are_held_again_until_the_hold_is_removed(alice, control):
    (await control.put("/hold", json={"methods": ["POST"], "path_regex": "/targets$"})).raise_for_status()
    first = asyncio.create_task(alice.post("/reactions/schedules/1/targets", json={**TARGET, "value": "a"}))
    await _until_waiting(control, 1)
    await control.post("/hold/release")
    async with asyncio.timeout(WAIT):
        data(await first, 201)

    second = asyncio.create_task(alice.post("/reactions/schedules/1/targets", json={**TARGET, "value": "b"}))
    await _until_waiting(control, 1)
    removed = (await control.delete("/hold")).json()
    assert (removed["config"], removed["released"]) == (None, 1)
    async with asyncio.timeout(WAIT):
        data(await second, 201)
    data(await alice.post("/reactions/schedules/1/targets", json={**TARGET, "value": "c"}), 201)  # not held
    assert {"a", "b", "c"} <= set(await _targets(control))


async def test_a_held_answer_is_sent_after_the_timeout_without_a_release(alice, control):
    (await control.put("/hold", json={"path_regex": "/targets$", "timeout": 0.01})).raise_for_status()
    async with asyncio.timeout(WAIT):
        data(await alice.post("/reactions/schedules/1/targets", json=TARGET), 201)
    report = (await control.get("/hold")).json()
    assert (report["held"], report["waiting"]) == (1, 0)


async def test_a_held_request_is_counted_as_injected(alice, control):
    (await control.put("/hold", json={"path_regex": "/targets$", "timeout": 0.01})).raise_for_status()
    data(await alice.post("/reactions/schedules/1/targets", json=TARGET), 201)
    rows = (await control.get("/requests")).json()["requests"]
    assert [(r["route"], r["status"], r["injected"]) for r in rows if r["method"] == "POST"] == [
        ("/reactions/schedules/{account_id}/targets", 201, True)]


async def test_a_bad_hold_is_refused(control):
    assert (await control.put("/hold", json={"path_regex": "targets/(x"})).status_code == 422
    assert (await control.put("/hold", json={"after": -1})).status_code == 422
    assert (await control.get("/hold")).json()["config"] is None
