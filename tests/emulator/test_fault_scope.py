"""Faults scoped by method, path and count: one endpoint fails, once or every time, and the
rest of the API answers as usual (what the apply tests use to break one bulk endpoint)."""

from __future__ import annotations

import asyncio

from tests.conftest import data, error

BULK_PAUSE = {"error_rate": 1.0, "error_statuses": {"500": 1}, "methods": ["POST"], "path_regex": "/bulk/pause$"}


async def test_a_fault_scoped_by_path_and_method_hits_only_those_requests(alice, control):
    (await control.put("/faults", json=BULK_PAUSE)).raise_for_status()
    error(await alice.post("/reactions/bulk/pause", json={"account_ids": [1]}), 500, "Injected fault")
    error(await alice.post("/repost/bulk/pause", json={"account_ids": [1]}), 500)
    data(await alice.post("/reactions/bulk/activate", json={"account_ids": [1]}))  # another path
    data(await alice.post("/reactions/schedules/1/pause"))  # a single pause is not a bulk one
    data(await alice.get("/reactions/schedules/1"))  # another method
    rows = (await control.get("/requests")).json()["requests"]
    assert {(r["route"], r["status"]) for r in rows if r["injected"]} == {
        ("/reactions/bulk/pause", 500), ("/repost/bulk/pause", 500)}


async def test_a_prefix_scopes_a_fault_to_one_module(alice, control):
    (await control.put("/faults", json={"error_rate": 1.0, "error_statuses": {"503": 1},
                                        "path_prefix": "/api/v1/repost/"})).raise_for_status()
    error(await alice.get("/repost/schedules/1"), 503)
    data(await alice.get("/reactions/schedules/1"))


async def test_times_caps_the_faults_and_a_new_configuration_counts_again(alice, control):
    (await control.put("/faults", json={**BULK_PAUSE, "times": 2})).raise_for_status()
    statuses = [(await alice.post("/reactions/bulk/pause", json={"account_ids": [1]})).status_code for _ in range(4)]
    assert statuses == [500, 500, 200, 200]
    (await control.put("/faults", json={**BULK_PAUSE, "times": 1})).raise_for_status()
    statuses = [(await alice.post("/reactions/bulk/pause", json={"account_ids": [1]})).status_code for _ in range(2)]
    assert statuses == [500, 200]


async def test_times_holds_under_concurrent_requests(alice, control):
    (await control.put("/faults", json={**BULK_PAUSE, "times": 1})).raise_for_status()
    answers = await asyncio.gather(*(alice.post("/reactions/bulk/pause", json={"account_ids": [a]})
                                     for a in range(1, 9)))
    assert sorted(r.status_code for r in answers) == [200] * 7 + [500]


async def test_a_fault_the_dice_spare_does_not_use_up_a_place(alice, control):
    # error_rate 0.5 with times 1: whatever the rolls, exactly one request fails.
    (await control.put("/faults", json={**BULK_PAUSE, "error_rate": 0.5, "times": 1, "seed": 3})).raise_for_status()
    statuses = [(await alice.post("/reactions/bulk/pause", json={"account_ids": [1]})).status_code for _ in range(40)]
    assert statuses.count(500) == 1


async def test_a_bad_path_regex_is_refused(control):
    response = await control.put("/faults", json={"error_rate": 1.0, "path_regex": "bulk/(pause"})
    assert response.status_code == 422
    assert "not a regular expression" in response.text
