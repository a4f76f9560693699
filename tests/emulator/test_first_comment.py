"""First Comment against the in-process emulator.

Demo facts used here: First Comment schedules 1-14 belong to alice (accounts 1, 2, 4, 6, 9,
10, 12, 16, 17, 22, 24; accounts 1, 10 and 16 have two each), schedule 15 to bob (account 26).
Schedules 5 and 11 are paused; account 9 (schedule 6) needs a new login; account 3 has no
schedule and no logs. The clock is fixed at noon UTC.
"""

from __future__ import annotations


import pytest

from orchestrator.emulator.testing import LocalEmulator
from tests.conftest import all_items, data, error, world

SCHEDULES = "/first-comment/schedules"
LOGS = "/first-comment/logs"
SCHEDULE_FIELDS = {"id", "account_id", "is_active", "running", "comment_mode", "targets",
                   "comments", "schedule_date", "last_action_date"}
LOG_FIELDS = {"id", "account_id", "schedule_id", "status", "target_username", "post_code",
              "comment_text", "message", "date"}
BOB_SCHEDULE = 15
# The reference's own example request.
EXAMPLE = {
    "account_id": 3,
    "targets": [{"username": "nike", "user_pk": "19038780"},
                {"username": "adidas", "user_pk": "17841400"}],
    "comments": ["Amazing! 🔥", "{Love|Great|Stunning} this post! 👏", "So inspiring! 💯"],
    "comment_mode": "random",
    "is_active": True,
}


@pytest.fixture
def emu() -> LocalEmulator:
    return world()


async def total(client, path: str) -> int:
    return data(await client.get(path))["total"]


async def create(client, body: dict) -> dict:
    return data(await client.post(SCHEDULES, json=body), 201)


async def patch(client, schedule_id: int, body: dict) -> dict:
    return data(await client.patch(f"{SCHEDULES}/{schedule_id}", json=body))


def with_(**changes) -> dict:
    return {**EXAMPLE, **changes}


def without(field: str) -> dict:
    return {k: v for k, v in EXAMPLE.items() if k != field}


MISSING = [
    (without("account_id"), "account_id"),
    (without("targets"), "targets"),
    (without("comments"), "comments"),
    (with_(targets=[{"user_pk": "19038780"}]), "targets.0.username"),
]
INVALID_CREATE = [
    (with_(targets=[]), "targets"),
    (with_(targets="nike"), "targets"),
    (with_(targets=[{"username": ""}]), "targets.0.username"),
    (with_(targets=[{"username": "no spaces allowed"}]), "targets.0.username"),
    (with_(targets=[{"username": "nike", "user_pk": "19O38780"}]), "targets.0.user_pk"),
    (with_(targets=[{"username": "nike", "user_pk": ""}]), "targets.0.user_pk"),
    (with_(targets=[{"username": "nike"}, {"username": "NIKE"}]), "targets.1"),
    (with_(targets=[{"username": "nike", "user_pk": "1"},
                    {"username": "nike_alt", "user_pk": "1"}]), "targets.1"),
    (with_(comments=[]), "comments"),
    (with_(comments=["fine", "   "]), "comments.1"),
    (with_(comments=["{Love|Great this post"]), "comments.0"),
    (with_(comments=["Love} this {post"]), "comments.0"),
    (with_(comments=["x" * 2201]), "comments.0"),
    (with_(comments=[42]), "comments.0"),
    (with_(comment_mode="alphabetical"), "comment_mode"),
    (with_(account_id="three"), "account_id"),
]
INVALID_PATCH = [
    ({"account_id": 2}, "account_id"),
    ({"running": True}, "running"),
    ({"schedule_date": "2026-03-16 00:00:00"}, "schedule_date"),
    ({"comments": ["ok"], "id": 5}, "id"),
    ({}, "body"),
    ({"comments": None}, "comments"),
    ({"targets": []}, "targets"),
    ({"targets": [{"username": "a"}, {"username": "a"}]}, "targets.1"),
    ({"comments": ["{unbalanced"]}, "comments.0"),
    ({"comment_mode": "shuffle"}, "comment_mode"),
    ({"is_active": "maybe"}, "is_active"),
]


# -- list and get -------------------------------------------------------------------------
async def test_list_schedules_fields_scope_and_filter(alice, bob, admin):
    page = data(await alice.get(SCHEDULES, params={"per_page": 5, "page": 3}))
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (14, 3, 5, 4)
    items = await all_items(alice, SCHEDULES)
    for schedule in items:
        assert set(schedule) == SCHEDULE_FIELDS
        assert schedule["comment_mode"] in ("random", "sequential")
        assert schedule["running"] is False and schedule["comments"] and schedule["targets"]
        for target in schedule["targets"]:
            assert set(target) == {"username", "user_pk"} and target["user_pk"].isdigit()
    assert any("{" in c for s in items for c in s["comments"])  # spintax pools
    assert [s["id"] for s in await all_items(alice, SCHEDULES, account_id=10)] == [7, 8]
    assert await all_items(alice, SCHEDULES, account_id=26) == []  # bob's account: nothing leaks
    assert [s["account_id"] for s in await all_items(bob, SCHEDULES)] == [26]
    assert await total(admin, SCHEDULES) == 15
    error(await alice.get(SCHEDULES, params={"account_id": "ten"}), 422)


async def test_get_schedule(alice, admin):
    schedule = data(await alice.get(f"{SCHEDULES}/2"))
    assert schedule["account_id"] == 1 and schedule["comment_mode"] == "sequential"
    error(await alice.get(f"{SCHEDULES}/999"), 404, "Schedule not found")
    error(await alice.get(f"{SCHEDULES}/{BOB_SCHEDULE}"), 404, "Schedule not found")
    assert data(await admin.get(f"{SCHEDULES}/{BOB_SCHEDULE}"))["account_id"] == 26


# -- create -------------------------------------------------------------------------------
async def test_create_matches_the_reference_example(alice):
    response = await alice.post(SCHEDULES, json=EXAMPLE)
    body = response.json()
    assert response.status_code == 201 and body["message"] == "Schedule created."
    created = body["data"]
    assert set(created) == SCHEDULE_FIELDS
    assert created == {
        **EXAMPLE, "id": created["id"], "running": False,
        "schedule_date": "2026-03-15 12:00:00", "last_action_date": "2026-03-15 12:00:00",
    }
    assert data(await alice.get(f"{SCHEDULES}/{created['id']}")) == created


async def test_create_defaults_and_normalisation(alice):
    created = await create(alice, {
        "account_id": 5, "targets": [{"username": "@Zara"}, {"username": "hm", "user_pk": 1393578}],
        "comments": ["  Love it 😍  "]})
    assert created["comment_mode"] == "random" and created["is_active"] is True
    zara, hm = created["targets"]
    assert zara["username"] == "zara" and zara["user_pk"].isdigit()  # derived from the username
    assert hm == {"username": "hm", "user_pk": "1393578"}
    assert created["comments"] == ["Love it 😍"]
    again = await create(alice, {"account_id": 7, "targets": [{"username": "zara"}],
                                 "comments": ["x"]})
    assert again["targets"][0]["user_pk"] == zara["user_pk"]  # the same username, the same pk


async def test_several_schedules_per_account(alice):
    first = await create(alice, EXAMPLE)
    second = await create(alice, EXAMPLE)
    assert first["id"] != second["id"]
    assert len(await all_items(alice, SCHEDULES, account_id=3)) == 2


async def test_admin_creates_on_behalf_of_the_owner(alice, admin):
    created = await create(admin, EXAMPLE)
    assert data(await alice.get(f"{SCHEDULES}/{created['id']}"))["account_id"] == 3


# Each case list runs in one test: every test builds a fresh world, and these need only one.
async def test_create_missing_field_is_400(alice):
    for body, field in MISSING:
        assert field in error(await alice.post(SCHEDULES, json=body), 400)["errors"], field
    error(await alice.post(SCHEDULES, content=b"{oops",
                           headers={"content-type": "application/json"}), 400, "Malformed JSON")


async def test_create_invalid_value_is_422(alice):
    for body, field in INVALID_CREATE:
        answer = error(await alice.post(SCHEDULES, json=body), 422)
        assert field in answer["errors"], (body, answer)
    assert await total(alice, SCHEDULES) == 14  # nothing was created


async def test_create_reports_every_problem_at_once(alice):
    body = with_(targets=[{"username": "bad name"}], comments=["{a|b"])
    answer = error(await alice.post(SCHEDULES, json=body), 422)
    assert set(answer["errors"]) == {"targets.0.username", "comments.0"}


async def test_create_on_unknown_or_foreign_account_is_404(alice, bob):
    for client, account_id in ((alice, 26), (alice, 999), (bob, 3)):
        answer = await client.post(SCHEDULES, json=with_(account_id=account_id))
        error(answer, 404, "Account not found")


# -- update and delete ----------------------------------------------------------------------
async def test_patch_each_updatable_field(alice, control):
    body = (await alice.patch(f"{SCHEDULES}/1", json={"comment_mode": "sequential"})).json()
    assert body["message"] == "Schedule updated." and body["data"]["comment_mode"] == "sequential"
    targets = [{"username": "nike", "user_pk": "19038780"}]
    assert (await patch(alice, 1, {"targets": targets}))["targets"] == targets
    comments = ["{Fire|Wow} 🔥", "Love it"]
    assert (await patch(alice, 1, {"comments": comments}))["comments"] == comments
    assert (await patch(alice, 1, {"is_active": False}))["is_active"] is False
    await control.post("/clock/advance", json={"seconds": 60, "ticks": 0})
    on = await patch(alice, 1, {"is_active": True})
    assert on["is_active"] is True and on["schedule_date"] == "2026-03-15 12:01:00"  # as /activate
    stored = data(await alice.get(f"{SCHEDULES}/1"))
    assert stored == on and stored["account_id"] == 1


async def test_patch_several_fields_at_once(alice):
    before = data(await alice.get(f"{SCHEDULES}/3"))
    updated = await patch(alice, 3, {
        "comment_mode": "sequential", "comments": ["One", "Two"], "is_active": False})
    assert updated["comment_mode"] == "sequential" and updated["comments"] == ["One", "Two"]
    assert updated["is_active"] is False
    assert updated["targets"] == before["targets"]  # untouched


async def test_patch_invalid_is_422(alice):
    before = data(await alice.get(f"{SCHEDULES}/1"))
    for body, field in INVALID_PATCH:
        answer = error(await alice.patch(f"{SCHEDULES}/1", json=body), 422)
        assert field in answer["errors"], (body, answer)
    assert data(await alice.get(f"{SCHEDULES}/1")) == before  # nothing changed


async def test_patch_unknown_or_foreign_is_404(alice, bob):
    off = {"is_active": False}
    error(await alice.patch(f"{SCHEDULES}/999", json=off), 404, "Schedule not found")
    error(await alice.patch(f"{SCHEDULES}/{BOB_SCHEDULE}", json=off), 404, "Schedule not found")
    error(await bob.patch(f"{SCHEDULES}/1", json=off), 404, "Schedule not found")
    assert data(await alice.get(f"{SCHEDULES}/1"))["is_active"] is True


async def test_delete_schedule(alice, bob):
    body = (await alice.delete(f"{SCHEDULES}/4")).json()
    assert body == {"status": "success", "data": {"id": 4}, "message": "Schedule deleted."}
    error(await alice.get(f"{SCHEDULES}/4"), 404)
    error(await alice.delete(f"{SCHEDULES}/4"), 404)
    assert await total(alice, f"{LOGS}/4") > 0  # the account's history stays
    error(await alice.delete(f"{SCHEDULES}/{BOB_SCHEDULE}"), 404)
    error(await bob.delete(f"{SCHEDULES}/1"), 404)
    assert data(await bob.get(f"{SCHEDULES}/{BOB_SCHEDULE}"))["id"] == BOB_SCHEDULE


async def test_pause_and_activate(alice, control):
    body = (await alice.post(f"{SCHEDULES}/1/pause")).json()
    assert body["message"] == "Schedule paused." and body["data"]["is_active"] is False
    await control.post("/clock/advance", json={"seconds": 30, "ticks": 0})
    body = (await alice.post(f"{SCHEDULES}/5/activate")).json()
    assert body["message"] == "Schedule activated." and body["data"]["is_active"] is True
    assert body["data"]["schedule_date"] == "2026-03-15 12:00:30"
    for action in ("activate", "pause"):
        error(await alice.post(f"{SCHEDULES}/999/{action}"), 404)
        error(await alice.post(f"{SCHEDULES}/{BOB_SCHEDULE}/{action}"), 404)


# -- logs -------------------------------------------------------------------------------------
async def test_list_logs(alice, admin):
    logs = await all_items(alice, LOGS)
    assert logs and all(set(log) == LOG_FIELDS for log in logs)
    assert [log["date"] for log in logs] == sorted((log["date"] for log in logs), reverse=True)
    assert {log["account_id"] for log in logs} <= {1, 2, 4, 6, 9, 10, 12, 16, 17, 22, 24}
    success = await all_items(alice, LOGS, status="success")
    assert success
    for log in success:
        assert log["comment_text"] and log["post_code"] and log["target_username"]
        assert "{" not in log["comment_text"]  # spintax resolved when posted
    skipped = await all_items(alice, LOGS, status="skipped")
    assert all(log["status"] == "skipped" and log["message"] for log in skipped)
    page = data(await alice.get(LOGS, params={"per_page": 7, "page": 2}))
    assert page["items"] == logs[7:14] and page["per_page"] == 7
    assert await total(admin, LOGS) > await total(alice, LOGS)
    error(await alice.get(LOGS, params={"status": "posted"}), 422)


async def test_account_logs(alice, admin):
    logs = await all_items(alice, f"{LOGS}/10")
    assert logs and {log["account_id"] for log in logs} == {10}
    assert {log["schedule_id"] for log in logs} == {7, 8}
    success = await all_items(alice, f"{LOGS}/10", status="success")
    assert [log["id"] for log in success] == [log["id"] for log in logs
                                              if log["status"] == "success"]
    assert await total(alice, f"{LOGS}/3") == 0  # an own account without logs
    error(await alice.get(f"{LOGS}/26"), 404, "Account not found")
    error(await alice.get(f"{LOGS}/999"), 404, "Account not found")
    error(await alice.get(f"{LOGS}/10", params={"status": "nope"}), 422)
    assert await total(admin, f"{LOGS}/26") > 0


# -- the engine -------------------------------------------------------------------------------
async def test_sequential_mode_rotates_through_the_pool(alice, control):
    created = await create(alice, with_(comment_mode="sequential",
                                        comments=["One", "Two", "Three"]))
    await control.post("/tick")
    first = await all_items(alice, f"{LOGS}/3")
    assert [(log["target_username"], log["comment_text"]) for log in reversed(first)] == [
        ("nike", "One"), ("adidas", "Two")]
    for log in first:
        assert log["status"] == "success" and log["schedule_id"] == created["id"]
        assert len(log["post_code"]) == 11 and log["date"] == "2026-03-15 12:00:00"
    schedule = data(await alice.get(f"{SCHEDULES}/{created['id']}"))
    assert schedule["running"] is False and schedule["last_action_date"] == "2026-03-15 12:00:00"
    assert schedule["schedule_date"] == "2026-03-15 12:05:00"  # every five minutes

    await control.post("/tick")  # not due again yet
    assert await total(alice, f"{LOGS}/3") == 2
    await control.post("/clock/advance", json={"seconds": 300, "ticks": 1})
    latest = (await all_items(alice, f"{LOGS}/3"))[:2]
    assert [log["comment_text"] for log in reversed(latest)] == ["Three", "One"]


async def run_random_schedule(client, control, pool: list[str]) -> tuple[int, list[str]]:
    created = await create(client, with_(comments=pool))
    for _ in range(5):
        await control.post("/clock/advance", json={"seconds": 300, "ticks": 1})
    return created["id"], [log["comment_text"] for log in await all_items(client, f"{LOGS}/3")]


async def test_random_mode_is_seeded_and_spins(alice, control):
    pool = ["{Love|Great|Stunning} this post! 👏", "So inspiring! 💯"]
    schedule_id, texts = await run_random_schedule(alice, control, pool)
    allowed = {"Love this post! 👏", "Great this post! 👏", "Stunning this post! 👏",
               "So inspiring! 💯"}
    assert len(texts) == 10 and set(texts) <= allowed and len(set(texts)) > 1
    # The same world driven the same way comments the same way: the RNG is seeded.
    twin = world()
    async with twin.http("alice") as twin_alice, twin.control() as twin_control:
        assert await run_random_schedule(twin_alice, twin_control, pool) == (schedule_id, texts)


async def test_paused_schedule_does_not_comment(alice, control):
    await create(alice, with_(is_active=False))
    await control.post("/clock/advance", json={"seconds": 600, "ticks": 2})
    assert await total(alice, f"{LOGS}/3") == 0


async def test_tick_switches_off_login_required(alice, control):
    await control.post("/tick")
    assert data(await alice.get(f"{SCHEDULES}/6"))["is_active"] is False
    why = (await all_items(alice, f"{LOGS}/9"))[0]
    assert why["status"] == "error" and "login" in why["message"]
    assert why["target_username"] is None
    await control.post("/clock/advance", json={"seconds": 600, "ticks": 2})
    assert (await all_items(alice, f"{LOGS}/9"))[0]["id"] == why["id"]  # said once, then quiet


async def test_scale_seed_adds_one_schedule_per_account():
    scale = LocalEmulator("accounts=40")
    async with scale.http("alice") as alice:
        items = await all_items(alice, SCHEDULES)
        assert len(items) == 40 and len({s["account_id"] for s in items}) == 40
        assert all(set(s) == SCHEDULE_FIELDS and len(s["targets"]) == 2 for s in items)
