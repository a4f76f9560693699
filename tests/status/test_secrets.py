"""No secret on any page: a proxy read from a secret reference, a proxy with credentials set in
the panel, the API key. Every page the front page leads to (and every JSON view) is fetched
and searched for them; and a value that reached the database unmasked (an older writer, a
bug) is masked by the page all the same."""

from __future__ import annotations

import json
import re
import sqlite3
from html import unescape
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from orchestrator import playbook
from orchestrator.emulator.testing import LocalEmulator
from orchestrator.status import create_status_app
from tests.harness.reconcile import VirtualTime, client_for, reconciler
from tests.status.conftest import client_of

SECRET_PROXY = "http://agent:Sup3rS3cretPw@proxy.example:8080"
PANEL_PROXY = "http://panel-user:PanelPw9876@10.1.2.3:3128"
PLAYBOOK = """\
version: 1
groups:
  nova: {accounts: [fashion_nova]}
  luxe: {accounts: [fashion_luxe]}
entries:
  - groups: nova
    account:
      proxy: {env: NOVA_PROXY}
  - groups: luxe
    account: {proxy: auto}
"""


async def crawl(client, start: str = "/", limit: int = 300) -> dict[str, str]:
    """Every page reachable from ``start`` on this server (at most ``limit``), by URL."""
    seen: dict[str, str] = {}
    todo = [start]
    while todo and len(seen) < limit:
        url = todo.pop()
        if url in seen:
            continue
        response = await client.get(url)
        seen[url] = response.text
        if "text/html" not in response.headers.get("content-type", ""):
            continue
        for href in re.findall(r'href="([^"]+)"', response.text):
            target = urljoin(url, unescape(href))
            if urlsplit(target).netloc == "" and not target.startswith("/static/"):
                todo.append(target)
    return seen


@pytest.fixture
async def secret_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    monkeypatch.setenv("NOVA_PROXY", SECRET_PROXY)
    emu = LocalEmulator("demo")
    book_file = tmp_path / "playbooks" / "secrets.yaml"
    book_file.parent.mkdir()
    book_file.write_text(PLAYBOOK)
    book = playbook.load([str(book_file)])
    async with client_for(emu, time=VirtualTime()) as client, emu.http("alice") as alice:
        changed = await alice.post("/accounts/2/change-proxy", json={"proxy": PANEL_PROXY})  # fashion_luxe
        assert changed.status_code == 200, changed.text
        for mode in ("report", "fix"):
            loop = reconciler(emu, client, book, tmp_path, lock=False, mode=mode)
            report = await loop.cycle()
            assert {r.path for r in report.drift} == {"proxy"}, report.summary()
            await loop.history.close()
        assert (await alice.get("/accounts/1")).json()["data"]["proxy"] == SECRET_PROXY  # the server has it
    return tmp_path / "state.db", emu.keys["alice"]


async def test_no_page_shows_a_secret(secret_world: tuple[Path, str]) -> None:
    db, api_key = secret_world
    async with client_of(create_status_app(db)) as client:
        pages = await crawl(client)
        for url in ["/api/status", "/api/accounts?per_page=200", "/api/runs", "/api/drift", "/api/accounts/1",
                    "/api/accounts/2", "/api/runs/1", "/api/runs/2"]:
            pages[url] = (await client.get(url)).text
    assert any(u.startswith("/accounts/") for u in pages) and any(u.startswith("/runs/") for u in pages)
    everything = "\n".join(pages.values())
    assert "proxy" in everything and "NOVA_PROXY" in everything  # what is shown: the field and the reference
    for secret in ("Sup3rS3cretPw", "PanelPw9876", "panel-user", api_key, api_key[4:20]):
        leaks = [u for u, text in pages.items() if secret in text]
        assert leaks == [], f"{secret!r} on {leaks}"


async def test_a_secret_that_reached_the_database_is_masked_on_the_page(secret_world: tuple[Path, str]) -> None:
    db, api_key = secret_world
    with sqlite3.connect(db) as con:  # as if written by a writer that did not redact
        con.execute("UPDATE drift_states SET before = ?, reason = ? WHERE path = 'proxy'",
                    (json.dumps(PANEL_PROXY), f"failed with key {api_key}"))
        con.execute("UPDATE status_accounts SET notes = ?", (json.dumps([["account", "failed", f"key {api_key}"]]),))
        con.execute("UPDATE runs SET report = ?", (json.dumps({"message": f"proxy {PANEL_PROXY}"}),))
    async with client_of(create_status_app(db)) as client:
        pages = await crawl(client)
        pages["json"] = "".join([(await client.get(u)).text for u in ["/api/accounts/2", "/api/runs/1", "/api/status"]])
    for secret in ("PanelPw9876", api_key):
        leaks = {u: text[max(0, text.find(secret) - 100):text.find(secret) + 50] for u, text in pages.items()
                 if secret in text}
        assert leaks == {}, list(leaks.items())[:2]
    assert any("***" in text for text in pages.values())
