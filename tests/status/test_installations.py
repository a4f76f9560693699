"""The page reads one installation, on either backend: the one named (``--base-url``), else the
only one the database holds; several and none named is one line naming them. The snapshot's
rows carry their installation like every other row of the store, and one installation's
cycle never touches another's."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator.cli.app import app
from orchestrator.contract.vocabulary import AccountState
from orchestrator.state.db import open_store
from orchestrator.state.snapshot import AccountStatus, CycleStatus
from orchestrator.state.store import StateStore, normalise_url
from orchestrator.status import create_status_app
from orchestrator.status.queries import AccountFilter, StatusInstallationError, StatusSource
from tests.status.conftest import client_of

URL_A = "https://a.example/api/v1"
URL_B = "https://b.example/api/v1"
runner = CliRunner()


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    return str(request.getfixturevalue("pg_url"))


async def _cycle(store: StateStore, names: list[str]) -> int:
    run_id = await store.start_run("reconcile-fix", None, [])
    await store.finish_run(run_id, "ok", {"message": "ok"})
    accounts = [AccountStatus(i + 1, name, AccountState.IN_SYNC, kinds=("reactions",), groups=("everyone",),
                              desired={"reactions": []}) for i, name in enumerate(names)]
    await store.record_status(CycleStatus(run_id, 1000.0 + run_id, "fix", "ok", {"states": {"in_sync": len(names)}}),
                              accounts)
    return run_id


async def _two_installations(target: str) -> None:
    a, b = await open_store(target, URL_A), await open_store(target, URL_B)
    try:
        await _cycle(a, ["ana_1", "ana_2", "ana_3"])
        await _cycle(b, ["bo_1"])
        await _cycle(a, ["ana_1", "ana_2"])  # ana_3 left a's list: only a's row goes
    finally:
        await a.close()
        await b.close()


async def test_each_installation_sees_its_own_fleet(target: str) -> None:
    await _two_installations(target)
    for url, names in ((URL_A, ["ana_1", "ana_2"]), (URL_B, ["bo_1"])):
        async with client_of(create_status_app(target, base_url=url)) as client:
            status = (await client.get("/api/accounts")).json()
            assert [r["username"] for r in status["items"]] == names
            runs = (await client.get("/api/runs")).json()
            assert len(runs["items"]) == (2 if url == URL_A else 1)


async def test_several_installations_and_none_named_is_one_line(target: str) -> None:
    await _two_installations(target)
    source = StatusSource(target)
    try:
        assert sorted(source.installations().values()) == [normalise_url(URL_A), normalise_url(URL_B)]
        with pytest.raises(StatusInstallationError, match="holds 2 installations .*name one with --base-url"):
            source.check()
    finally:
        source.close()
    async with client_of(create_status_app(target)) as client:
        page = await client.get("/api/status")
        assert page.status_code == 503 and "--base-url" in page.json()["error"]
    result = runner.invoke(app, ["status", "serve", "--state-db", target], env={"SHARINGTOOLS_BASE_URL": None})
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: the state database ")
    assert "holds 2 installations" in result.stderr and ":secret@" not in result.stderr
    other = runner.invoke(app, ["status", "serve", "--state-db", target, "--base-url", "https://c.example/api/v1"])
    assert other.exit_code == 1 and "holds no rows of https://c.example/api/v1" in other.stderr


async def test_one_installation_needs_no_name(target: str) -> None:
    store = await open_store(target, URL_B)
    try:
        await _cycle(store, ["bo_1", "bo_2"])
    finally:
        await store.close()
    source = StatusSource(target)
    try:
        source.check()
        assert [r.username for r in source.accounts(AccountFilter()).items] == ["bo_1", "bo_2"]
    finally:
        source.close()


async def test_a_store_no_cycle_wrote_yet_is_an_empty_page(target: str) -> None:
    await (await open_store(target, URL_A)).close()  # migrated (version 3), nothing written
    async with client_of(create_status_app(target)) as client:
        home = await client.get("/")
        assert home.status_code == 200 and "No reconcile cycle recorded yet" in home.text


async def test_an_unreachable_postgresql_store_is_a_503_without_its_password() -> None:
    url = "postgresql://ana:Sup3rSecret@127.0.0.1:1/nowhere"
    async with client_of(create_status_app(url)) as client:
        page = await client.get("/api/status")
    assert page.status_code == 503, page.text
    assert "Sup3rSecret" not in page.text, page.text
    assert "127.0.0.1:1/nowhere (it cannot be read" in page.json()["error"]
