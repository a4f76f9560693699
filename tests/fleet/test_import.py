"""``orchestrator import``: the playbook it writes from a live installation is valid, holds no
secret, shares entries between accounts configured alike, and plans empty, on the demo world
and on a 1,000-account world with a few dozen configurations."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from orchestrator import playbook
from orchestrator.api import SharingtoolsClient
from orchestrator.cli.app import app
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.importer import ImportOptions, Imported, import_playbook
from orchestrator.importer.live import leads_fragment
from orchestrator.planning.planner import build_plan
from orchestrator.contract import Kind
from tests.harness import client_for
from tests.conftest import world

SECRET_PROXY = "socks5://agency:s3cr3t-pa55@198.51.100.7:1080"


async def imported_and_planned(client: SharingtoolsClient, tmp_path: Path, options: ImportOptions | None = None,
                               name: str = "imported.yaml") -> tuple[Imported, Path]:
    """Import, write, validate, and plan the file: the plan must be empty."""
    imported = await import_playbook(client, options)
    path = tmp_path / name
    path.write_text(imported.text, encoding="utf-8")
    assert [str(p) for p in playbook.validate([str(path)])] == []
    planned = await build_plan(client, playbook.load([str(path)]))
    assert planned.ok, [*map(str, planned.problems), *map(str, planned.diagnostics)]
    assert planned.plan.empty, [c.public() for c in planned.plan.changes][:20]
    return imported, path


def kinds_in(text: str) -> set[str]:
    return {m for m in re.findall(r"^    (\w+):", text, re.MULTILINE) if m in {k.value for k in Kind}}


async def test_the_demo_world_round_trips(tmp_path: Path) -> None:
    emu = world()
    async with client_for(emu) as client:
        imported, path = await imported_and_planned(client, tmp_path)
    text = imported.text
    # every managed kind is there, and the caption library
    assert kinds_in(text) == {"account", "reactions", "repost", "welcomedm", "ai_dm", "leads", "first_comment",
                              "posts"}
    assert "\ncaptions:\n  library:\n" in text
    # the most common settings come once, first; accounts list only where they differ
    first = imported.layout.entries[0]
    assert first.name == "Settings most schedules share" and first.groups == ["everyone"]
    assert len(first.kinds[Kind.REACTIONS]["settings"]) > 80
    assert text.startswith("# Imported by `orchestrator import`")
    book = playbook.load([str(path)])
    assert book.groups["everyone"].spec.all


@pytest.mark.slow
async def test_a_thousand_accounts_in_a_few_dozen_configurations(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    emu = LocalEmulator("accounts=1000")  # four niches, schedules varying with each account's number
    async with client_for(emu, concurrency=64) as client:
        accounts = [a async for a in client.accounts.list()]
        assert len(accounts) == 1000
        # A few changes through the API: a niche tuned, one account's proxy with credentials.
        for account in accounts:
            if account.username.startswith("food_") and account.id % 2:
                await client.reactions.update_settings(account.id, {"likes_speed": 4, "is_story_likes": True})
        secret_owner = accounts[7]
        await client.accounts.change_proxy(secret_owner.id, SECRET_PROXY)
        env = "PROXY_" + secret_owner.username.upper()
        monkeypatch.setenv(env, SECRET_PROXY)  # what the user fills in before plan

        imported, path = await imported_and_planned(client, tmp_path)
        layout = imported.layout
        assert layout.accounts == 1000
        assert 24 <= layout.configurations <= 100  # a few dozen
        assert layout.secrets == [env]
        text = imported.text
        assert SECRET_PROXY not in text and "s3cr3t" not in text
        assert f"proxy: {{env: {env}}}  # fill in" in text

        # One entry per account, for a tenth of the fleet, is already longer than the whole
        # fleet's grouped playbook: so it is more than 10 times shorter than one entry per account.
        tenth = [a.username for a in accounts[:100]]
        per_account = await import_playbook(client, ImportOptions(limit=tenth, per_account=True))
    assert len(per_account.layout.entries) == 100
    print(f"1,000 accounts, {layout.configurations} configurations: {len(text.splitlines())} lines, {len(text)} bytes; "
          f"one entry per account for 100 of them: {len(per_account.text.splitlines())} lines, "
          f"{len(per_account.text)} bytes")
    grouped_lines, per_account_lines = len(text.splitlines()), len(per_account.text.splitlines())
    assert grouped_lines <= per_account_lines, (grouped_lines, per_account_lines)
    assert len(text) <= len(per_account.text), (len(text), len(per_account.text))


async def test_the_per_account_layout_round_trips_too(tmp_path: Path) -> None:
    async with client_for(world()) as client:
        imported, _ = await imported_and_planned(client, tmp_path, ImportOptions(per_account=True))
    assert len(imported.layout.entries) == 25 and all(len(e.groups) == 1 for e in imported.layout.entries)


async def test_exact_proxies_are_written_per_account(tmp_path: Path) -> None:
    async with client_for(world()) as client:
        imported, _ = await imported_and_planned(client, tmp_path, ImportOptions(exact_proxies=True))
        proxies = {a.username: a.proxy async for a in client.accounts.list() if a.proxy}
        auto = await import_playbook(client, ImportOptions(kinds=frozenset({Kind.ACCOUNT, Kind.WELCOMEDM})))
        exact = await import_playbook(client, ImportOptions(kinds=frozenset({Kind.ACCOUNT, Kind.WELCOMEDM}),
                                                            exact_proxies=True))
    assert "proxy: auto" not in imported.text
    assert all(f"proxy: {proxy}" in imported.text for proxy in proxies.values())
    # a proxy is one account's own: it does not split the configurations the rest share
    assert exact.layout.configurations <= auto.layout.configurations < 10


async def test_patterns_select_exactly_their_accounts(tmp_path: Path) -> None:
    async with client_for(world()) as client:
        imported, path = await imported_and_planned(client, tmp_path, ImportOptions(kinds=frozenset({Kind.LEADS})))
        accounts = [a async for a in client.accounts.list()]
    book = playbook.load([str(path)])
    members = playbook.desired_state(book, accounts).groups
    for group in imported.layout.groups:
        pattern = group.selection.get("usernames")
        if isinstance(pattern, str):  # a pattern is used only when it selects exactly the accounts meant
            assert len(members[group.name]) == group.size


async def test_limit_and_kinds(tmp_path: Path) -> None:
    async with client_for(world()) as client:
        imported, _ = await imported_and_planned(
            client, tmp_path, ImportOptions(kinds=frozenset({Kind.REACTIONS, Kind.CAPTIONS}), limit=["fashion_*"]))
    assert kinds_in(imported.text) == {"reactions"}
    assert "captions:" not in imported.text  # the library belongs to no account: left out under --limit
    assert imported.layout.accounts == 8


async def test_a_module_the_plan_lacks_is_noted_not_fatal(tmp_path: Path) -> None:
    async with client_for(world(), "bob") as client:
        imported, _ = await imported_and_planned(client, tmp_path)
    assert "ai_dm: not imported (your plan does not include it)" in imported.notes
    assert "ai_dm:" not in imported.text.split("version: 1", 1)[1]


@pytest.mark.parametrize(("tasks", "expected"), [
    ([("a", "running"), ("b", "running")], {"state": "running"}),
    ([("a", "running"), ("b", "stopped"), ("c", "stopped")],
     [{"state": "stopped"}, {"task_name": "a", "state": "running"}]),
    ([(None, "stopped"), ("a", "running"), ("b", "running")],  # unnamed: only a catch-all reaches it
     [{"state": "stopped"}, {"task_name": "a", "state": "running"}, {"task_name": "b", "state": "running"}]),
    ([(None, "stopped"), (None, "running")], None),  # two unnamed tasks in two states: cannot be said
    ([("a", None), ("b", "running"), (None, "stopped")], [{"task_name": "b", "state": "running"}]),
    ([("a", None)], None),  # stopping: nothing can be managed
])
def test_leads_written_as_the_shortest_list_that_says_each_state(tasks, expected) -> None:
    assert leads_fragment(tasks) == expected


@pytest.mark.uvicorn
def test_the_command_writes_a_file_whose_plan_is_empty(served, tmp_path: Path) -> None:
    env = {"SHARINGTOOLS_BASE_URL": served.api, "SHARINGTOOLS_API_KEY": served.keys["alice"],
           "SHARINGTOOLS_RATE": "2000", "SHARINGTOOLS_CONFIG": None, "SHARINGTOOLS_API_KEY_FILE": None}
    out = tmp_path / "live.yaml"
    runner = CliRunner()
    result = runner.invoke(app, ["import", "-o", str(out)], env=env)
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"imported 25 accounts in \d+ configurations: \d+ groups, \d+ entries -> .*live\.yaml\n",
                        result.stderr)
    assert served.keys["alice"] not in out.read_text()
    plan = runner.invoke(app, ["plan", str(out), "--detailed-exitcode"], env=env)
    assert plan.exit_code == 0, plan.output
    assert "No changes" in plan.stdout

    to_stdout = runner.invoke(app, ["import", "--kinds", "welcomedm", "-l", "travel_*"], env=env)
    assert to_stdout.exit_code == 0 and to_stdout.stdout.startswith("# Imported")
    for args, message in ((["--kinds", "reactions,bogus"], "error: unknown kind 'bogus' in --kinds"),
                          (["--limit", "nobody"], "error: --limit 'nobody' matches no account")):
        bad = runner.invoke(app, ["import", *args], env=env)
        assert bad.exit_code == 1 and bad.stderr.startswith(message) and len(bad.stderr.splitlines()) == 1


async def test_nothing_to_import_is_an_error_not_an_empty_file() -> None:
    from orchestrator.importer import ImportError_

    async with client_for(world()) as client:
        with pytest.raises(ImportError_, match="nothing to import from 1 accounts"):
            await import_playbook(client, ImportOptions(kinds=frozenset({Kind.CAPTIONS}), limit=["fashion_nova"]))
