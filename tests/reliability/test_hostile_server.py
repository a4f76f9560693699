"""A server that answers badly: HTML error pages, truncated JSON, wrong envelopes, a list
that claims to never end, a ``Retry-After`` of a year. Planning and applying against it end
in one clear line (the whole run) or a failure of the accounts concerned (one account's
answers), never a traceback, a hang, or a wait of a year.

The bad answers come from `Hostile`, a tiny ASGI app of ours in front of the emulator: in
process for the engine (virtual time), behind uvicorn for the command line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from orchestrator.api.errors import SharingtoolsError
from orchestrator.api.retry import RetrySettings
from orchestrator.cli.app import app
from orchestrator.apply.run import EXIT_PARTIAL, ApplyOptions, apply
from orchestrator.planning.planner import build_plan
from tests.harness import VirtualTime
from tests.harness import executor_for, failures_of, load_playbook, serve_demo, write_playbook
from tests.conftest import world
from tests.reliability.conftest import Hostile, Rule, hostile_client
from tests.harness import assert_clean

PLAYBOOK = """\
version: 1
groups:
  fashion:
    usernames: "fashion_*"
entries:
  - groups: fashion
    reactions:
      settings:
        likes_speed: 2
"""
FAST = RetrySettings(attempts=3, deadline=60)
YEAR = str(365 * 24 * 3600)
ACCOUNTS = r"GET /api/v1/accounts$"
ONE_ACCOUNT = r"GET /api/v1/reactions/schedules/3(/|$)"


def _envelope(data: Any) -> bytes:
    return json.dumps({"success": True, "data": data}).encode()


#: name -> the rule answering every read of the account list
WHOLE_RUN: dict[str, Rule] = {
    "an HTML error page": Rule(ACCOUNTS, 502, b"<html><h1>502 Bad Gateway</h1></html>", content_type="text/html"),
    "an HTML page with 200": Rule(ACCOUNTS, 200, b"<html>maintenance</html>", content_type="text/html"),
    "truncated JSON": Rule(ACCOUNTS, 200, _envelope({"items": [{"id": 1}], "total": 1})[:25]),
    "an empty 200": Rule(ACCOUNTS, 200, b""),
    "a JSON list instead of an envelope": Rule(ACCOUNTS, 200, b"[1, 2, 3]"),
    "an envelope without data": Rule(ACCOUNTS, 200, b'{"success": true}'),
    "data that is a string": Rule(ACCOUNTS, 200, _envelope("accounts")),
    "items that are not objects": Rule(ACCOUNTS, 200, _envelope({"items": [1, "x", None], "total": 3})),
    "items missing their id": Rule(ACCOUNTS, 200, _envelope({"items": [{"username": "x"}], "total": 1})),
    "success false with 200": Rule(ACCOUNTS, 200, b'{"success": false, "message": "nope"}'),
    "a list that never ends": Rule(ACCOUNTS, 200, _envelope({"items": [{"id": 1, "username": "fashion_nova"}] * 100,
                                                              "total": 10**12, "per_page": 100})),
    "a 429 with Retry-After of a year": Rule(ACCOUNTS, 429, b'{"success":false,"message":"slow down"}',
                                             headers={"Retry-After": YEAR}),
    "a 503 with Retry-After of a year": Rule(ACCOUNTS, 503, b'{"success":false,"message":"maintenance"}',
                                             headers={"Retry-After": YEAR}),
    "a Retry-After that is garbage": Rule(ACCOUNTS, 429, b"{}", headers={"Retry-After": "soon-ish"}),
    "a 401 HTML page": Rule(ACCOUNTS, 401, b"<html>login</html>", content_type="text/html"),
    "a 404 on the account list": Rule(ACCOUNTS, 404, b'{"success":false,"message":"Not found"}'),
    "a 422 with malformed errors": Rule(ACCOUNTS, 422, b'{"success":false,"errors":"everything"}'),
}


@pytest.mark.parametrize("name", sorted(WHOLE_RUN))
async def test_a_bad_answer_to_the_account_list_ends_the_plan_cleanly(tmp_path: Path, name: str):
    emu = world()
    book = load_playbook(tmp_path, PLAYBOOK)
    time = VirtualTime()
    async with hostile_client(emu, [WHOLE_RUN[name]], retry=FAST, time=time) as client:
        try:
            planned = await build_plan(client, book)
        except SharingtoolsError as exc:
            assert "\n" not in str(exc) and str(exc)
        else:  # a server answer read as "no accounts" or as some accounts is fine if nothing breaks
            assert planned.plan is not None
    assert max(time.slept, default=0) <= FAST.deadline  # never a wait of a year
    assert WHOLE_RUN[name].hits <= 200  # a list that "never ends" is not read for ever


#: name -> the rule answering account 3's own reads
ONE_ACCOUNT_ANSWERS: dict[str, Rule] = {
    "an HTML error page": Rule(ONE_ACCOUNT, 500, b"<html>oops</html>", content_type="text/html"),
    "truncated JSON": Rule(ONE_ACCOUNT, 200, _envelope({"likes_speed": 3})[:20]),
    "a JSON list": Rule(ONE_ACCOUNT, 200, b"[]"),
    "settings that are a string": Rule(ONE_ACCOUNT, 200, _envelope("settings")),
    "a Retry-After of a year": Rule(ONE_ACCOUNT, 429, b"{}", headers={"Retry-After": YEAR}),
}


@pytest.mark.parametrize("name", sorted(ONE_ACCOUNT_ANSWERS))
async def test_a_bad_answer_about_one_account_fails_that_account_only(tmp_path: Path, name: str):
    emu = world()
    book = load_playbook(tmp_path, PLAYBOOK)
    time = VirtualTime()
    async with hostile_client(emu, [ONE_ACCOUNT_ANSWERS[name]], retry=FAST, time=time) as client:
        outcome = await apply(client, book, ApplyOptions(), executor=executor_for(client))
    assert outcome.exit_code in (0, EXIT_PARTIAL), failures_of(outcome)
    assert {f.account_id for f in outcome.execution.failures} <= {3}, failures_of(outcome)
    assert outcome.execution.results[("reactions", "update_settings", "done")] >= 7
    assert max(time.slept, default=0) <= FAST.deadline


# -- the command line against a hostile server over a real socket ---------------------------------
@pytest.fixture(scope="module")
def hostile_server() -> Iterator[tuple[str, dict[str, str], list[Rule]]]:
    rules: list[Rule] = []
    with serve_demo(lambda app: Hostile(app, rules)) as served:
        yield served.api, served.keys, rules


@pytest.mark.uvicorn
@pytest.mark.parametrize("name", ["an HTML error page", "truncated JSON", "a list that never ends",
                                  "a 503 with Retry-After of a year", "a JSON list instead of an envelope"])
def test_the_command_line_against_a_hostile_server_ends_in_one_line(tmp_path: Path, hostile_server, name: str):
    url, keys, rules = hostile_server
    rules[:] = [Rule(**{**WHOLE_RUN[name].__dict__, "hits": 0})]
    pb = write_playbook(tmp_path, PLAYBOOK)
    env = {k: None for k in os.environ if k.startswith("SHARINGTOOLS_")} | {
        "SHARINGTOOLS_BASE_URL": url, "SHARINGTOOLS_API_KEY": keys["alice"], "SHARINGTOOLS_RATE": "2000",
        "SHARINGTOOLS_RETRY_ATTEMPTS": "2", "SHARINGTOOLS_RETRY_BACKOFF_MAX": "0.2", "SHARINGTOOLS_RETRY_DEADLINE": "5"}
    result = CliRunner().invoke(app, ["apply", str(pb), "--yes", "--state-db", str(tmp_path / "s.db")], env=env)
    if result.exit_code in (0, 4):  # read as an empty or partial fleet: fine, when said cleanly
        assert "Traceback" not in result.stderr
        return
    assert len(assert_clean(result)) == 1
