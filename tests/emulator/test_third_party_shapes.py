"""The request shapes a public MCP server for Sharingtools sends, beside the later revision's:
``POST /accounts/login {username, password, proxy?, twofa_secret?, imap_*?}`` (by username,
adding a new account), ``POST /accounts/challenge {challenge_token, code?, auto_imap?}`` and a
bodiless ``POST /keys/revoke`` (the key in hand). The choices are in docs/api-assumptions.md 3.16.
"""

from __future__ import annotations

import httpx

from orchestrator.emulator.testing import LocalEmulator
from tests.conftest import data, error

PASSWORD = "mcp-s3cret-pass"
TOTP_SECRET = "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP"  # base32, spaced as an app shows it
MAILBOX = {"imap_host": "imap.example.com", "imap_username": "owner@example.com", "imap_password": "mail-pass"}


async def login(client: httpx.AsyncClient, **body: object) -> httpx.Response:
    return await client.post("/accounts/login", json=body)


async def code_of(control: httpx.AsyncClient, account_id: int) -> str:
    r = await control.get(f"/challenges/{account_id}")
    assert r.status_code == 200, r.text
    return str(r.json()["code"])


async def stored_account(control: httpx.AsyncClient, account_id: int) -> dict:
    """The account's raw stored document (the control surface's view of the server side)."""
    items = (await control.get("/state/accounts")).json()["items"]
    return next(d for d in items if d["id"] == account_id)


# -- POST /accounts/login by username -------------------------------------------------------------
async def test_login_by_username_adds_a_new_account_and_answers_a_challenge_token(
    alice: httpx.AsyncClient, control: httpx.AsyncClient
) -> None:
    pending = data(await login(alice, username="mcp_new", password=PASSWORD, proxy="http://10.0.0.7:8080"), 202)
    token = pending["challenge_token"]
    assert pending["created"] is True and token.startswith("chl_") and len(token) == 44
    assert pending["challenge"] == {"account_id": pending["account_id"], "status": "pending", "method": "email",
                                    "attempts_left": 5, "challenge_token": token}
    account = data(await alice.get(f"/accounts/{pending['account_id']}"))
    assert (account["username"], account["proxy"], account["login_required"]) == (
        "mcp_new", "http://10.0.0.7:8080", True)

    code = await code_of(control, pending["account_id"])
    done = data(await alice.post("/accounts/challenge", json={"challenge_token": token, "code": code}))
    assert done["id"] == pending["account_id"] and done["login_required"] is False and done["last_login"]


async def test_login_by_username_of_an_existing_account_checks_its_password(alice: httpx.AsyncClient) -> None:
    added = data(await alice.post("/accounts", json={"username": "mcp_known", "password": PASSWORD}), 201)
    again = data(await login(alice, username="mcp_known", password=PASSWORD), 202)
    # The same account and its same pending challenge: a login does not start a second one.
    assert (again["account_id"], again["created"]) == (added["id"], False)
    assert again["challenge_token"] == added["challenge"]["challenge_token"]
    wrong = error(await login(alice, username="mcp_known", password="not-the-password"), 422)
    assert set(wrong["errors"]) == {"password"}
    assert data(await alice.get("/accounts", params={"search": "mcp_known"}))["total"] == 1


async def test_login_by_username_of_a_logged_in_account_is_200(alice: httpx.AsyncClient,
                                                                control: httpx.AsyncClient) -> None:
    pending = data(await login(alice, username="mcp_twice", password=PASSWORD), 202)
    code = await code_of(control, pending["account_id"])
    data(await alice.post("/accounts/challenge", json={"challenge_token": pending["challenge_token"], "code": code}))
    again = await login(alice, username="mcp_twice", password=PASSWORD)
    assert data(again)["id"] == pending["account_id"] and data(again)["login_required"] is False


async def test_login_by_username_needs_a_password_and_a_valid_name(alice: httpx.AsyncClient) -> None:
    error(await login(alice, username="mcp_nopass"), 400, "Missing required field: password")
    error(await login(alice, password=PASSWORD), 400, "Missing required field: account_id")
    assert set(error(await login(alice, username="not a name!", password=PASSWORD), 422)["errors"]) == {"username"}
    bad_proxy = error(await login(alice, username="mcp_badproxy", password=PASSWORD, proxy="ftp://x"), 422)
    assert set(bad_proxy["errors"]) == {"proxy"}
    assert data(await alice.get("/accounts", params={"search": "mcp_"}))["total"] == 0  # nothing half-added


async def test_login_by_username_is_per_user(alice: httpx.AsyncClient, bob: httpx.AsyncClient) -> None:
    """fashion_nova is alice's account 1; bob logging in that name adds his own account."""
    bobs = data(await login(bob, username="fashion_nova", password=PASSWORD), 202)
    assert bobs["created"] is True and bobs["account_id"] != 1
    error(await alice.post("/accounts/challenge", json={"challenge_token": bobs["challenge_token"]}), 422)


async def test_account_id_and_username_must_agree(alice: httpx.AsyncClient) -> None:
    assert set(error(await login(alice, account_id=1, username="fashion_luxe"), 422)["errors"]) == {"username"}
    assert data(await login(alice, account_id=1, username="fashion_nova"))["id"] == 1


async def test_a_twofa_secret_logs_in_without_a_challenge(alice: httpx.AsyncClient,
                                                          control: httpx.AsyncClient) -> None:
    added = await login(alice, username="mcp_totp", password=PASSWORD, twofa_secret=TOTP_SECRET)
    account = data(added, 201)
    assert account["login_required"] is False and account["last_login"]
    assert "twofa" not in str(account) and "JBSW" not in added.text
    assert (await control.get(f"/challenges/{account['id']}")).status_code == 404
    events = data(await alice.get(f"/accounts/{account['id']}/login-activity"))["items"]
    assert [e["event"] for e in events] == ["two_factor"]
    stored = await stored_account(control, account["id"])
    assert stored["twofa_sha256"] and "JBSW" not in str(stored)  # kept only as a hash


async def test_a_twofa_secret_passes_a_needed_relogin_but_not_a_pending_challenge(
    alice: httpx.AsyncClient,
) -> None:
    # Account 9 needs a new login in the demo world: with the secret it is logged in at once.
    assert data(await alice.get("/accounts/9"))["login_required"] is True
    assert data(await login(alice, account_id=9, twofa_secret=TOTP_SECRET))["login_required"] is False
    # A challenge already raised still wants its code.
    added = data(await alice.post("/accounts", json={"username": "mcp_raised", "password": PASSWORD}), 201)
    still = await login(alice, username="mcp_raised", password=PASSWORD, twofa_secret=TOTP_SECRET)
    assert data(still, 202)["challenge_token"] == added["challenge"]["challenge_token"]


async def test_a_twofa_secret_must_be_base32(alice: httpx.AsyncClient) -> None:
    for secret in ("not-base32!", "ABC", 12345):
        body = error(await login(alice, username="mcp_bad2fa", password=PASSWORD, twofa_secret=secret), 422)
        assert set(body["errors"]) == {"twofa_secret"}, secret
    assert data(await alice.get("/accounts", params={"search": "mcp_bad2fa"}))["total"] == 0


# -- POST /accounts/challenge by token, and auto_imap ---------------------------------------------
async def test_auto_imap_reads_the_code_from_the_stored_mailbox(alice: httpx.AsyncClient) -> None:
    pending = data(await login(alice, username="mcp_imap", password=PASSWORD, **MAILBOX), 202)
    answer = await alice.post("/accounts/challenge", json={"challenge_token": pending["challenge_token"],
                                                           "auto_imap": True})
    account = data(answer)
    assert account["login_required"] is False and "mail-pass" not in answer.text
    events = data(await alice.get(f"/accounts/{account['id']}/login-activity"))["items"]
    assert [e["event"] for e in events] == ["challenge_passed", "challenge_code_read", "challenge_required"]


async def test_auto_imap_without_a_mailbox_is_422_and_the_challenge_stays(alice: httpx.AsyncClient,
                                                                          control: httpx.AsyncClient) -> None:
    pending = data(await login(alice, username="mcp_nomail", password=PASSWORD), 202)
    token = pending["challenge_token"]
    body = error(await alice.post("/accounts/challenge", json={"challenge_token": token, "auto_imap": True}), 422)
    assert set(body["errors"]) == {"auto_imap"}
    waiting = data(await alice.post("/accounts/challenge", json={"challenge_token": token}), 202)
    assert waiting["challenge"]["attempts_left"] == 5  # asking did not cost an attempt
    # A mailbox given with a later login is used.
    data(await login(alice, username="mcp_nomail", password=PASSWORD, imap_server="imap.example.com",
                     imap_email="o@example.com", imap_password="x", imap_port=143, imap_ssl=False), 202)
    assert data(await alice.post("/accounts/challenge", json={"challenge_token": token, "auto_imap": True}))[
        "login_required"] is False
    mailbox = (await stored_account(control, pending["account_id"]))["imap"]
    assert (mailbox["host"], mailbox["port"], mailbox["ssl"], mailbox["username"]) == (
        "imap.example.com", 143, False, "o@example.com")
    assert "password" not in mailbox and "password_sha256" in mailbox


async def test_a_given_code_wins_over_auto_imap(alice: httpx.AsyncClient) -> None:
    pending = data(await login(alice, username="mcp_both", password=PASSWORD, **MAILBOX), 202)
    wrong = {"challenge_token": pending["challenge_token"], "code": "000000x", "auto_imap": True}
    assert set(error(await alice.post("/accounts/challenge", json=wrong), 422)["errors"]) == {"code"}


async def test_imap_fields_are_checked_as_a_group(alice: httpx.AsyncClient) -> None:
    partial = error(await login(alice, username="mcp_part", password=PASSWORD, imap_password="x"), 422)
    assert set(partial["errors"]) == {"imap_host", "imap_username"}
    typo = error(await login(alice, username="mcp_typo", password=PASSWORD, imap_passwd="x", **MAILBOX), 422)
    assert set(typo["errors"]) == {"imap_passwd"}
    bad = error(await login(alice, username="mcp_badport", password=PASSWORD, imap_port=70000,
                            imap_host="not a host", imap_username="u", imap_password="p"), 422)
    assert set(bad["errors"]) == {"imap_port", "imap_host"}
    clash = error(await login(alice, username="mcp_clash", password=PASSWORD, imap_server="b.example.com",
                              **MAILBOX), 422)
    assert set(clash["errors"]) == {"imap_server"}
    # Other unknown fields are ignored, as on every create.
    data(await login(alice, username="mcp_lenient", password=PASSWORD, device="pixel"), 202)


async def test_a_token_names_only_a_pending_challenge(alice: httpx.AsyncClient, control: httpx.AsyncClient) -> None:
    pending = data(await login(alice, username="mcp_once", password=PASSWORD), 202)
    token = pending["challenge_token"]
    unknown = error(await alice.post("/accounts/challenge", json={"challenge_token": "chl_" + "0" * 40}), 422)
    assert set(unknown["errors"]) == {"challenge_token"}
    other = error(await alice.post("/accounts/challenge", json={"challenge_token": token, "account_id": 1}), 422)
    assert set(other["errors"]) == {"challenge_token"}
    code = await code_of(control, pending["account_id"])
    data(await alice.post("/accounts/challenge", json={"challenge_token": token, "account_id": pending["account_id"],
                                                       "code": code}))
    used = error(await alice.post("/accounts/challenge", json={"challenge_token": token, "code": code}), 422)
    assert set(used["errors"]) == {"challenge_token"}
    error(await alice.post("/accounts/challenge", json={"code": code}), 400, "Missing required field: account_id")


async def test_wrong_codes_by_token_void_the_challenge_and_a_new_login_gets_a_new_token(
    alice: httpx.AsyncClient,
) -> None:
    token = data(await login(alice, username="mcp_guess", password=PASSWORD), 202)["challenge_token"]
    for _ in range(4):
        error(await alice.post("/accounts/challenge", json={"challenge_token": token, "code": "x"}), 422)
    last = error(await alice.post("/accounts/challenge", json={"challenge_token": token, "code": "x"}), 422)
    assert "log in again" in last["errors"]["code"][0]
    fresh = data(await login(alice, username="mcp_guess", password=PASSWORD), 202)["challenge_token"]
    assert fresh != token
    assert error(await alice.post("/accounts/challenge", json={"challenge_token": token}), 422)["errors"]


async def test_an_admin_acts_on_a_token_of_any_user(bob: httpx.AsyncClient, admin: httpx.AsyncClient,
                                                    control: httpx.AsyncClient) -> None:
    pending = data(await login(bob, username="bobs_new", password=PASSWORD), 202)
    code = await code_of(control, pending["account_id"])
    done = await admin.post("/accounts/challenge", json={"challenge_token": pending["challenge_token"], "code": code})
    assert data(done)["id"] == pending["account_id"]


async def test_the_account_id_forms_carry_the_token_too(alice: httpx.AsyncClient) -> None:
    added = data(await alice.post("/accounts", json={"username": "mcp_idform", "password": PASSWORD}), 201)
    token = added["challenge"]["challenge_token"]
    by_id = data(await alice.post("/accounts/challenge", json={"account_id": added["id"]}), 202)
    assert by_id["challenge_token"] == token == by_id["challenge"]["challenge_token"]


# -- POST /keys/revoke without a body ----------------------------------------------------------------
async def test_revoke_without_a_body_revokes_the_key_in_hand(emu: LocalEmulator, alice: httpx.AsyncClient) -> None:
    generated = data(await alice.post("/keys/generate", json={"name": "mcp"}), 201)
    async with emu.http(None, headers={"Authorization": f"Bearer {generated['key']}"}) as mcp:
        revoked = data(await mcp.post("/keys/revoke"))
        assert (revoked["id"], revoked["is_active"]) == (generated["id"], False) and revoked["revoked_at"]
        error(await mcp.get("/user"), 401, "Invalid API key")
        error(await mcp.post("/keys/revoke"), 401, "Invalid API key")
    assert data(await alice.get("/user"))["username"] == "alice"  # alice's other key is untouched
    listed = data(await alice.get("/keys", params={"is_active": "false"}))["items"]
    assert [k["id"] for k in listed] == [generated["id"]]


async def test_revoke_with_an_empty_object_or_a_json_content_type_and_no_body(emu: LocalEmulator) -> None:
    for kwargs in ({"json": {}}, {"content": b"", "headers": {"Content-Type": "application/json"}},
                   {"json": {"key_id": None}}):
        async with emu.http("bob") as bob:
            generated = data(await bob.post("/keys/generate"), 201)
        async with emu.http(None, headers={"X-API-Key": generated["key"]}) as client:
            assert data(await client.post("/keys/revoke", **kwargs))["id"] == generated["id"], kwargs
            error(await client.get("/user"), 401, "Invalid API key")


async def test_naming_the_key_in_hand_by_id_is_still_refused(alice: httpx.AsyncClient) -> None:
    own = data(await alice.get("/keys"))["items"][0]
    assert set(error(await alice.post("/keys/revoke", json={"key_id": own["id"]}), 422)["errors"]) == {"key_id"}
    assert data(await alice.get("/user"))["username"] == "alice"


async def test_openapi_documents_the_new_fields() -> None:
    from orchestrator.emulator.app import create_app

    doc = create_app().openapi()
    schemas = doc["components"]["schemas"]
    assert {"username", "password", "proxy", "twofa_secret", "imap_host", "imap_password"} <= set(
        schemas["LoginBody"]["properties"])
    assert {"challenge_token", "auto_imap"} <= set(schemas["ChallengeBody"]["properties"])
    assert "challenge_token" in schemas["ChallengePending"]["properties"]
    revoke = doc["paths"]["/api/v1/keys/revoke"]["post"]
    assert not revoke.get("requestBody", {}).get("required", False)
