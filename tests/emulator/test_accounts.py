"""Accounts and Account Actions against the in-process emulator."""

from __future__ import annotations

from tests.conftest import data, error


async def test_list_accounts_is_paginated_and_scoped(alice, bob, admin):
    page = data(await alice.get("/accounts", params={"per_page": 10, "page": 2}))
    assert (page["total"], page["page"], page["per_page"], len(page["items"])) == (25, 2, 10, 10)
    first = page["items"][0]
    for field in ("id", "username", "full_name", "platform", "is_active", "login_required", "is_slave", "proxy",
                  "date"):
        assert field in first
    assert "password_sha256" not in first and "user_id" not in first
    assert data(await bob.get("/accounts"))["total"] == 4
    assert data(await admin.get("/accounts", params={"per_page": 100}))["total"] == 30


async def test_per_page_is_clamped_to_100(admin):
    page = data(await admin.get("/accounts", params={"per_page": 1000}))
    assert page["per_page"] == 100


async def test_platform_filter(alice):
    assert data(await alice.get("/accounts", params={"platform": "instagram"}))["total"] == 25
    assert data(await alice.get("/accounts", params={"platform": "tiktok"}))["total"] == 0


async def test_get_account_and_stats(alice):
    acct = data(await alice.get("/accounts/1"))
    assert acct["username"] == "fashion_nova"
    stats = data(await alice.get("/accounts/1/stats"))
    assert set(stats) >= {"followers", "following", "posts"}


async def test_another_users_account_is_404(alice):
    error(await alice.get("/accounts/26"), 404, "Account not found")
    error(await alice.get("/accounts/999"), 404, "Account not found")


async def test_auth_errors(emu):
    async with emu.http(None) as anon:
        error(await anon.get("/accounts"), 401, "Unauthorized")
    async with emu.http(None, headers={"Authorization": "Basic abc"}) as wrong_scheme:
        error(await wrong_scheme.get("/accounts"), 401, "Unauthorized")
    async with emu.http(None, headers={"Authorization": "Bearer sht_short"}) as malformed:
        error(await malformed.get("/accounts"), 401, "Unauthorized")
    async with emu.http(None, headers={"Authorization": "Bearer sht_" + "a" * 64}) as unknown:
        error(await unknown.get("/accounts"), 401, "Invalid API key")
    async with emu.http(None, headers={"X-API-Key": emu.keys["bob"]}) as later_revision:
        assert data(await later_revision.get("/accounts"))["total"] == 4


async def test_revoked_key_is_invalid(emu, control):
    assert (await control.post("/keys/revoke", json={"key": emu.keys["bob"]})).json() == {"revoked": True}
    async with emu.http("bob") as bob:
        error(await bob.get("/accounts"), 401, "Invalid API key")


async def test_refresh_cookies_and_login_activity(alice):
    body = (await alice.post("/accounts/9/refresh-cookies")).json()
    assert body == {"status": "success", "data": {"account_id": 9}, "message": "Cookies refreshed."}
    activity = data(await alice.get("/accounts/9/login-activity"))
    assert activity["items"][0]["event"] == "cookies_refreshed"
    assert data(await alice.get("/accounts/9"))["login_required"] is False


async def test_change_proxy_auto_and_given(alice):
    auto = (await alice.post("/accounts/5/change-proxy")).json()
    assert auto["message"] == "Proxy updated." and auto["data"]["proxy"].startswith("socks5://")
    given = data(await alice.post("/accounts/5/change-proxy", json={"proxy": "http://198.51.100.7:3128"}))
    assert given == {"account_id": 5, "proxy": "http://198.51.100.7:3128"}
    assert data(await alice.get("/accounts/5"))["proxy"] == "http://198.51.100.7:3128"
    error(await alice.post("/accounts/5/change-proxy", json={"proxy": "nonsense"}), 422)


async def test_bulk_change_proxy_skips_foreign_accounts(alice):
    out = data(await alice.post("/accounts/change-proxy/bulk", json={"account_ids": [1, 2, 26]}))
    assert out["updated"] == 2 and [r["account_id"] for r in out["results"]] == [1, 2]
    assert out["skipped"] == [26]
    error(await alice.post("/accounts/change-proxy/bulk", json={}), 400)
    error(await alice.post("/accounts/change-proxy/bulk", json={"account_ids": "x"}), 422)


async def test_privacy_backup_codes_options(alice):
    assert data(await alice.post("/accounts/3/set-private")) == {"account_id": 3, "is_private": True}
    assert data(await alice.get("/accounts/3"))["is_private"] is True
    assert data(await alice.post("/accounts/3/set-public")) == {"account_id": 3, "is_private": False}
    codes = data(await alice.get("/accounts/3/2fa-backup"))["backup_codes"]
    assert len(codes) == 5 and all(len(c) == 8 for c in codes)
    assert (await alice.delete("/accounts/3/options")).json()["message"] == "Account options reset."


async def test_passwords_are_stored_hashed_and_never_returned(alice, control):
    body = (await alice.post("/accounts/4/password", json={"password": "hunter2-secret"})).json()
    assert body["message"] == "Password updated." and "hunter2" not in str(body)
    out = (await alice.post("/accounts/password/bulk", json={"accounts": [
        {"account_id": 4, "password": "another-secret"}, {"account_id": 27, "password": "xxxxxxx"}]})).json()
    assert out["data"] == {"updated": 1, "skipped": [27]} and out["message"] == "Passwords updated."
    raw = (await control.get("/state/accounts")).text
    assert "hunter2-secret" not in raw and "another-secret" not in raw
    error(await alice.post("/accounts/4/password", json={}), 400)
    error(await alice.post("/accounts/4/password", json={"password": "x"}), 422)
    error(await alice.post("/accounts/4/password", content=b"{not json",
                           headers={"content-type": "application/json"}), 400)
