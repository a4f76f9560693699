"""A saved plan for a playbook whose proxy is a secret reference holds neither the proxy nor the
API key: the change shows the reference, masked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.harness.plan_cli import Cli, write

pytestmark = pytest.mark.uvicorn

PROXY = "http://agency:Pr0xyPa55w0rd@10.20.30.40:3128"


def test_a_saved_plan_holds_no_secret(cli: Cli, tmp_path: Path) -> None:
    book = write(tmp_path, "proxies.yaml", """
        version: 1
        groups:
          flagships: {accounts: [fashion_nova, fashion_luxe]}
        entries:
          - groups: flagships
            account:
              proxy: {env: PLAN_TEST_FLAGSHIP_PROXY}
        """)
    key = cli.served.keys["alice"]
    for fmt in ("text", "markdown", "json"):
        saved = tmp_path / f"plan-{fmt}.json"
        result = cli.plan(book, "--format", fmt, "--out", saved, env={"PLAN_TEST_FLAGSHIP_PROXY": PROXY})
        assert result.exit_code == 0, result.output
        text = saved.read_text(encoding="utf-8")
        for shown in (text, result.stdout, result.stderr):
            assert PROXY not in shown and "Pr0xyPa55w0rd" not in shown and "10.20.30.40" not in shown
            assert key not in shown and key[4:20] not in shown
        assert "PLAN_TEST_FLAGSHIP_PROXY" in result.stdout  # the reference is shown, not the value
    changes = json.loads(text)["changes"]
    assert {(c["username"], c["kind"], c["action"], c["path"]) for c in changes} == {
        ("fashion_luxe", "account", "set", "proxy"), ("fashion_nova", "account", "set", "proxy")}
    for c in changes:
        assert c["after"].startswith("***") and "PLAN_TEST_FLAGSHIP_PROXY" in c["after"]
        assert c["before"] in (None, "***")


def test_an_unset_secret_reference_is_one_clear_line(cli: Cli, tmp_path: Path) -> None:
    book = write(tmp_path, "proxies.yaml", """
        version: 1
        groups:
          flagships: {accounts: [fashion_nova]}
        entries:
          - groups: flagships
            account:
              proxy: {env: PLAN_TEST_UNSET_PROXY}
        """)
    result = cli.plan(book, "--strict", env={"PLAN_TEST_UNSET_PROXY": None})
    assert result.exit_code == 1
    [shown, _] = result.stderr.strip().splitlines()
    assert shown.startswith("problem: fashion_nova · account: proxy {env: PLAN_TEST_UNSET_PROXY} (" + f"{book}:"), shown
    assert shown.endswith("environment variable PLAN_TEST_UNSET_PROXY is not set"), shown
