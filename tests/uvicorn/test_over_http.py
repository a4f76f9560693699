"""The emulator served by uvicorn on 127.0.0.1, reached by the client and the CLI over real sockets."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import NotFound, TransportError
from orchestrator.api.retry import RetrySettings
from orchestrator.cli.app import app

pytestmark = pytest.mark.uvicorn


async def test_client_over_a_real_socket(served):
    async with SharingtoolsClient(served.api, served.keys["alice"], rate=500) as client:
        accounts = [a async for a in client.accounts.list()]
        assert len(accounts) == 25
        with pytest.raises(NotFound):
            await client.accounts.get(26)


async def test_dropped_connection_is_a_real_transport_error(served):
    async with httpx.AsyncClient(base_url=f"{served.server.url}/_emulator") as control:
        await control.put("/faults", json={"drop_rate": 1.0})
        try:
            async with SharingtoolsClient(
                served.api, served.keys["alice"], retry=RetrySettings(attempts=2, backoff_base=0.01)
            ) as client:
                with pytest.raises(TransportError) as te:
                    await client.accounts.get(1)
                assert te.value.maybe_applied  # the socket closed mid-answer
        finally:
            await control.delete("/faults")


async def test_an_upload_goes_through_the_connection_pool(served):
    """Multipart bodies are streamed by httpx and sent by aiohttp: the server gets the file whole."""
    content = bytes(range(256)) * 64
    async with SharingtoolsClient(served.api, served.keys["alice"], rate=500) as client:
        uploaded = await client.media.upload("pool.png", content, "image/png")
        assert (await client.media.get(uploaded.id)).id == uploaded.id
    assert uploaded.filesize == len(content)


async def test_a_lost_answer_is_sent_once_and_may_have_applied(served):
    """A DELETE is idempotent to HTTP, so aiohttp would resend it on a dropped connection; only
    the retry policy decides that (here NEVER), and a lost answer still reads "may have applied"."""
    async with httpx.AsyncClient(base_url=f"{served.server.url}/_emulator") as control:
        await control.post("/requests/reset")
        await control.put("/faults", json={"lost_response_rate": 1.0, "methods": ["DELETE"]})
        try:
            async with SharingtoolsClient(served.api, served.keys["alice"], rate=500) as client:
                with pytest.raises(TransportError) as te:
                    await client.raw("DELETE", "captions/999999")
                assert te.value.maybe_applied
                assert client.transport.stats.requests["transport-error"] == 1
            counters = (await control.get("/requests")).json()
            assert [r["count"] for r in counters["requests"] if r["method"] == "DELETE"] == [1]
        finally:
            await control.delete("/faults")


async def test_a_connection_closed_before_the_answer_is_not_resent():
    """A server that reads the request and closes without a word: the client reports it as
    possibly applied and, under the NEVER policy, has sent it exactly once."""
    import asyncio

    seen: list[bytes] = []

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.close()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with SharingtoolsClient(f"http://127.0.0.1:{port}/api/v1", "sht_" + "a" * 64, rate=500) as client:
            with pytest.raises(TransportError) as te:
                await client.raw("DELETE", "captions/1")
            assert te.value.maybe_applied
    finally:
        server.close()
        await server.wait_closed()
    assert len(seen) == 1 and seen[0].startswith(b"DELETE ")


async def test_a_refused_connection_never_reached_the_server(served):
    async with SharingtoolsClient(
        "http://127.0.0.1:9/api/v1", served.keys["alice"], retry=RetrySettings(attempts=1), connect_timeout=1
    ) as client:
        with pytest.raises(TransportError) as te:
            await client.accounts.get(1)
        assert not te.value.maybe_applied


async def test_openapi_is_served(served):
    async with httpx.AsyncClient() as http:
        spec = (await http.get(f"{served.server.url}/openapi.json")).json()
    assert spec["info"]["title"].startswith("Sharingtools")
    assert "/api/v1/accounts" in spec["paths"]


def test_cli_api_call_prints_json(served, monkeypatch):
    monkeypatch.setenv("SHARINGTOOLS_BASE_URL", served.api)
    monkeypatch.setenv("SHARINGTOOLS_API_KEY", served.keys["alice"])
    result = CliRunner().invoke(app, ["api", "GET", "accounts/1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["username"] == "fashion_nova"
    paged = CliRunner().invoke(app, ["api", "GET", "accounts", "--paginate"])
    assert len(json.loads(paged.stdout)) == 25


def test_cli_errors_are_one_line(served, monkeypatch):
    monkeypatch.setenv("SHARINGTOOLS_BASE_URL", served.api)
    monkeypatch.setenv("SHARINGTOOLS_API_KEY", "sht_" + "e" * 64)
    result = CliRunner().invoke(app, ["api", "GET", "accounts"])
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0 and "Invalid API key" in result.stderr
    monkeypatch.setenv("SHARINGTOOLS_API_KEY", served.keys["alice"])
    bad_json = CliRunner().invoke(app, ["api", "POST", "accounts/1/change-proxy", "--data", "{oops"])
    assert bad_json.exit_code == 1 and bad_json.stderr.startswith("error: --data is not valid JSON")
    not_found = CliRunner().invoke(app, ["api", "GET", "accounts/26"])
    assert not_found.exit_code == 1 and "404 Account not found" in not_found.stderr


def test_cli_adds_an_account_through_its_challenge(served, monkeypatch):
    """What the README shows for the `account` kind: adding is an imperative `api` call."""
    monkeypatch.setenv("SHARINGTOOLS_BASE_URL", served.api)
    monkeypatch.setenv("SHARINGTOOLS_API_KEY", served.keys["alice"])
    password = "cli-added-pass-77"
    body = json.dumps({"username": "cli_added", "password": password})
    added = CliRunner().invoke(app, ["api", "POST", "accounts", "--data", body])
    assert added.exit_code == 0, added.output
    assert password not in added.output
    account = json.loads(added.stdout)
    assert account["login_required"] and account["challenge"]["status"] == "pending"
    pending = CliRunner().invoke(
        app, ["api", "POST", "accounts/challenge", "--data", json.dumps({"account_id": account["id"]})]
    )
    assert pending.exit_code == 1 and pending.stderr.strip().count("\n") == 0 and "202" in pending.stderr
    code = httpx.get(f"{served.server.url}/_emulator/challenges/{account['id']}").json()["code"]
    done = CliRunner().invoke(app, ["api", "POST", "accounts/challenge", "--data",
                                    json.dumps({"account_id": account["id"], "code": code})])
    assert done.exit_code == 0 and json.loads(done.stdout)["login_required"] is False
    gone = CliRunner().invoke(app, ["api", "DELETE", f"accounts/{account['id']}"])
    assert gone.exit_code == 0 and json.loads(gone.stdout)["deleted"] is True
