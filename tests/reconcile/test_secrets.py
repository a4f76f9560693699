"""A proxy with credentials drifts and is fixed by reconcile: its value never reaches the
drift history, the run report or the cycle's output."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from orchestrator.emulator.testing import LocalEmulator
from orchestrator.reconcile.loop import EXIT_OK
from tests.harness.reconcile import client_for, reconciler, write_book

SECRET = "http://agent:Sup3rS3cretPw@proxy.example:8080"
PLAYBOOK = """\
version: 1
groups:
  nova: {accounts: [fashion_nova]}
entries:
  - groups: nova
    account:
      proxy: {env: NOVA_PROXY}
"""


async def test_a_secret_proxy_is_fixed_and_never_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOVA_PROXY", SECRET)
    emu = LocalEmulator("demo")
    book = write_book(tmp_path, PLAYBOOK)
    async with client_for(emu) as client, emu.http("alice") as alice:
        loop = reconciler(emu, client, book, tmp_path, mode="fix")
        first = await loop.cycle()
        assert first.exit_code == EXIT_OK, first.summary()
        assert [(r.path, r.outcome) for r in first.drift] == [("proxy", "fixed")]
        # someone changes it in the panel: drift again, fixed again
        changed = await alice.post("/accounts/1/change-proxy", json={"proxy": "http://10.0.0.9:3128"})
        assert changed.status_code == 200, changed.text
        second = await loop.cycle()
        assert [(r.path, r.outcome) for r in second.drift] == [("proxy", "fixed")]
        account = (await alice.get("/accounts/1")).json()["data"]
        await loop.history.close()
    assert account["proxy"] == SECRET  # the server has it ...
    with sqlite3.connect(tmp_path / "state.db") as db:  # ... the state database does not
        dump = "\n".join(str(row) for table in ("runs", "operations", "drift_states", "backoff", "applied_values")
                         for row in db.execute(f"SELECT * FROM {table}"))  # noqa: S608 - fixed names
    assert "Sup3rS3cretPw" not in dump and "proxy" in dump
    assert "Sup3rS3cretPw" not in json.dumps([r.public() for r in second.drift])
