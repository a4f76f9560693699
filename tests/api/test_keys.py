"""KeysResource (the later revision): generate, use, revoke; and ProxiesResource."""

from __future__ import annotations

import pytest

from orchestrator.api import SharingtoolsClient
from orchestrator.api.errors import InvalidApiKey, NotFound, ValidationFailed
from orchestrator.emulator.testing import LocalEmulator
from tests.api.conftest import make_client


async def test_key_lifecycle_generate_use_revoke(emu: LocalEmulator, client: SharingtoolsClient) -> None:
    generated = await client.keys.generate("ci")
    raw = generated.key.get_secret_value()
    assert raw.startswith("sht_") and len(raw) == 68 and raw not in repr(generated)
    assert generated.prefix and raw.startswith(generated.prefix)

    listed = [k async for k in client.keys.list()]
    assert {k.id for k in listed} >= {generated.id}
    dumped = str([k.model_dump() for k in listed])
    assert raw not in dumped and "hash" not in dumped  # shown once, never stored in the clear

    async with make_client(emu, raw) as ci:
        assert (await ci.user.get()).username == "alice"  # the new key authenticates
        with pytest.raises(ValidationFailed):  # a key cannot revoke itself
            await ci.keys.revoke(generated.id)
        revoked = await client.keys.revoke(generated.id)
        assert revoked.is_active is False and revoked.revoked_at
        with pytest.raises(InvalidApiKey):
            await ci.user.get()
    assert (await client.keys.revoke(generated.id)).is_active is False  # repeatable
    assert [k.id async for k in client.keys.list(is_active=False)] == [generated.id]
    assert (await client.user.get()).username == "alice"  # alice's own key still works


async def test_keys_are_personal(client: SharingtoolsClient, bob_client: SharingtoolsClient) -> None:
    generated = await client.keys.generate()
    assert generated.id not in [k.id async for k in bob_client.keys.list()]
    with pytest.raises(NotFound):
        await bob_client.keys.revoke(generated.id)


async def test_proxies_list_what_the_accounts_use(client: SharingtoolsClient) -> None:
    proxies = [p async for p in client.proxies.list()]
    accounts = [a async for a in client.accounts.list()]
    with_proxy = {a.id for a in accounts if a.proxy}
    assert {i for p in proxies for i in p.account_ids} == with_proxy
    assert all(p.accounts_count == len(p.account_ids) and p.host and p.port for p in proxies)
    await client.accounts.update(2, proxy="http://user:hunter22@10.0.0.9:8080")
    await client.accounts.update(3, proxy="http://user:hunter22@10.0.0.9:8080")
    shared = [p async for p in client.proxies.list(account_id=2)]
    assert len(shared) == 1 and shared[0].account_ids == [2]
    everyone = [p async for p in client.proxies.list() if p.host == "10.0.0.9"]
    assert everyone[0].account_ids == [2, 3] and "hunter22" not in everyone[0].proxy
    page = await client.proxies.page(1, 2)
    assert len(page.items) == 2 and page.total == len(proxies) - 2 + 1
