"""The client core against the in-process emulator: envelopes, error classes, retries, limits."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.api.envelope import unwrap
from orchestrator.api.errors import (
    InvalidApiKey,
    NotFound,
    RateLimited,
    ServerError,
    TransportError,
    Unauthorized,
    ValidationFailed,
)
from orchestrator.api.retry import RetrySettings
from orchestrator.api.transport import parse_retry_after
from orchestrator.emulator.testing import BASE_URL, LocalEmulator
from tests.harness import VirtualTime


async def no_wait(seconds: float) -> None:
    await anyio.lowlevel.checkpoint()


def make_client(emu: LocalEmulator, user: str = "alice", key: str | None = None, **kw) -> SharingtoolsClient:
    kw.setdefault("rate", 10_000)
    kw.setdefault("sleep", no_wait)
    return SharingtoolsClient(f"{BASE_URL}/api/v1", key or emu.keys[user], transport=emu.transport(), **kw)


@pytest.mark.parametrize(
    ("status", "body", "ok", "data", "message"),
    [
        (200, {"status": "success", "data": {"a": 1}}, True, {"a": 1}, None),
        (200, {"status": "success", "data": {"a": 1}, "message": "Done."}, True, {"a": 1}, "Done."),
        (201, {"success": True, "data": [1]}, True, [1], None),
        (200, {"result": 1, "message": "ok", "data": {"b": 2}}, True, {"b": 2}, "ok"),
        (422, {"status": "error", "message": "Validation failed", "errors": {"x": ["bad"]}}, False, None,
         "Validation failed"),
        (400, {"success": False, "message": "nope"}, False, None, "nope"),
        (200, {"result": 0, "message": "failed"}, False, None, "failed"),
        (500, {"status": "success", "data": 1}, False, 1, None),  # an error status is never a success
        # a bare JSON value is no envelope: not a success (tests/client/test_envelope.py)
    ],
)
def test_unwrap_accepts_every_envelope(status, body, ok, data, message):
    env = unwrap(status, body)
    assert (env.ok, env.data, env.message) == (ok, data, message)


def test_retry_after_parsing():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past
    assert parse_retry_after("soon") is None


async def test_error_classes_carry_method_path_status(emu):
    async with make_client(emu) as client:
        with pytest.raises(NotFound) as nf:
            await client.accounts.get(26)
        assert (nf.value.method, nf.value.path, nf.value.status) == ("GET", "accounts/26", 404)
        with pytest.raises(ValidationFailed) as vf:
            await client.accounts.change_proxy(1, "not a proxy")
        assert "proxy" in vf.value.errors and vf.value.status == 422
    async with make_client(emu, key="sht_" + "f" * 64) as client:
        with pytest.raises(InvalidApiKey):
            await client.accounts.get(1)
    async with make_client(emu, key="not-a-key") as client:
        with pytest.raises(Unauthorized):
            await client.accounts.get(1)


async def test_reads_retry_through_429_5xx_and_drops(emu, control):
    await control.put("/faults", json={"error_rate": 0.6, "error_statuses": {"429": 1, "503": 1, "502": 1}, "seed": 7})
    time = VirtualTime()  # the 429s slow the client's rate down: on virtual time, at no real cost
    async with make_client(emu, retry=RetrySettings(attempts=30), sleep=time.sleep, clock=time.clock) as client:
        for account_id in range(1, 26):
            assert (await client.accounts.get(account_id)).id == account_id
        assert client.transport.stats.retries > 0


async def test_retries_are_bounded(emu, control):
    await control.put("/faults", json={"error_rate": 1.0, "error_statuses": {"503": 1}})
    async with make_client(emu, retry=RetrySettings(attempts=3)) as client:
        with pytest.raises(ServerError):
            await client.accounts.get(1)
        assert client.transport.stats.requests["503"] == 3
    counters = (await control.get("/requests")).json()
    assert counters["total"] == 3


async def test_a_429_names_its_retry_after(emu, control):
    await control.put("/faults", json={"error_rate": 1.0, "error_statuses": {"429": 1}, "retry_after": 7})
    async with make_client(emu, retry=RetrySettings(attempts=1)) as client:
        with pytest.raises(RateLimited) as rl:
            await client.accounts.get(1)
    assert rl.value.retry_after == 7


async def test_retry_waits_honour_retry_after(emu, control):
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    await control.put("/faults", json={"error_rate": 1.0, "error_statuses": {"429": 1}, "retry_after": 4})
    async with make_client(emu, sleep=record, retry=RetrySettings(attempts=3, backoff_base=0.01)) as client:
        with pytest.raises(RateLimited):
            await client.accounts.get(1)
    assert waits and all(w >= 4 for w in waits)


async def test_never_policy_is_not_retried_after_it_may_have_applied(emu, control):
    await control.put("/faults", json={"lost_response_rate": 1.0, "methods": ["POST"]})
    async with make_client(emu) as client:
        with pytest.raises(TransportError) as te:
            await client.accounts.set_password(1, "correct-horse-battery")
        assert te.value.maybe_applied
    counters = (await control.get("/requests")).json()
    assert [r["count"] for r in counters["requests"] if r["method"] == "POST"] == [1]


async def test_connection_refused_is_a_transport_error_and_retried():
    # 127.0.0.1:9 (discard) has no listener here: the connection is refused, nothing was sent.
    async with SharingtoolsClient(
        "http://127.0.0.1:9/api/v1", "sht_" + "a" * 64, sleep=no_wait, retry=RetrySettings(attempts=2),
        connect_timeout=1,
    ) as client:
        with pytest.raises(TransportError) as te:
            await client.accounts.get(1)
        assert not te.value.maybe_applied
        assert client.transport.stats.requests["transport-error"] == 2


async def test_pagination_reads_everything_100_per_page(emu, control):
    from orchestrator.emulator.seed import seed_accounts

    seed_accounts(emu.state, 230)
    async with make_client(emu) as client:
        accounts = [a async for a in client.accounts.list()]
    assert len(accounts) == 255 and len({a.id for a in accounts}) == 255
    counters = (await control.get("/requests")).json()
    assert counters["total"] == 3  # 255 accounts at 100 a page


async def test_pagination_reads_a_bounded_window_ahead(emu, control):
    """A consumer that stops after three pages of twenty has caused at most ``ahead`` more reads:
    pages are streamed, not all fetched and held."""
    from orchestrator.api.pagination import pages
    from orchestrator.emulator.seed import seed_accounts

    seed_accounts(emu.state, 1975)  # 2,000 accounts: 20 pages
    async with make_client(emu) as client:
        seen = 0
        stream = pages(client.transport, "accounts", ahead=4)
        async for _page in stream:
            seen += 1
            if seen == 3:
                break
        await stream.aclose()
        ids = [a.id async for a in client.accounts.list()]
    assert ids == sorted(ids) and len(set(ids)) == 2000  # in order, every item once
    counters = (await control.get("/requests")).json()
    assert counters["total"] <= 3 + 4 + 20, counters["total"]


async def test_pagination_asks_for_the_next_pages_before_handing_on_the_first(emu, control):
    """A consumer that queues work per item (a plan queues a settings read per schedule) must
    not put that work ahead of the list's own next pages: they are asked for before the first
    page reaches it."""
    import anyio

    from orchestrator.api.pagination import pages
    from orchestrator.emulator.seed import seed_accounts

    seed_accounts(emu.state, 975)  # 1,000 accounts: 10 pages
    async with make_client(emu) as client:
        stream = pages(client.transport, "accounts", ahead=4)
        first = await stream.__anext__()
        assert first["page"] == 1
        for _ in range(100):  # bounded: the four reads ahead were started before the yield
            if client.transport.stats.snapshot()["total"] >= 5:
                break
            await anyio.sleep(0.01)
        assert client.transport.stats.snapshot()["total"] == 5  # page 1, and pages 2-5 already asked for
        await stream.aclose()


async def test_a_module_not_installed_is_not_retried(emu, control):
    from orchestrator.api.errors import ModuleNotInstalled

    modules = (await control.get("/modules")).json()["installed"]
    await control.put("/modules", json={"installed": [m for m in modules if m != "reactions"]})
    async with make_client(emu) as client:
        with pytest.raises(ModuleNotInstalled):
            await client.reactions.get_settings(1)
        assert client.transport.stats.retries == 0
