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
from tests.harness.hostile import Hostile, Rule, hostile_client
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


def _page(items: list[Any], total: int) -> bytes:
    return _envelope({"items": items, "total": total, "page": 1, "per_page": 100})


#: name -> the rule answering every read of the account list, and words its error must say
WHOLE_RUN: dict[str, tuple[Rule, str]] = {
    "an HTML error page": (Rule(ACCOUNTS, 502, b"<html><h1>502 Bad Gateway</h1></html>", content_type="text/html"),
                           "502"),
    "an HTML page with 200": (Rule(ACCOUNTS, 200, b"<html>maintenance</html>", content_type="text/html"),
                              "answered 200 with an HTML page, not the API's JSON"),
    "truncated JSON": (Rule(ACCOUNTS, 200, _page([{"id": 1}], 1)[:25]), "JSON cut off after 25 bytes"),
    "an empty 200": (Rule(ACCOUNTS, 200, b""), "answered 200 with an empty body"),
    "a JSON list instead of an envelope": (Rule(ACCOUNTS, 200, b"[1, 2, 3]"), "a JSON array of 3, not the API's"),
    "an envelope without data": (Rule(ACCOUNTS, 200, b'{"success": true}'), '{"success": true} without "data"'),
    "data that is a string": (Rule(ACCOUNTS, 200, _envelope("accounts")), "data that is a string where a page"),
    "a page without its total": (Rule(ACCOUNTS, 200, _envelope({"items": []})), 'a page whose "total" is null'),
    "items that are not objects": (Rule(ACCOUNTS, 200, _page([1, "x", None], 3)), "items[0] that is not an Account"),
    "items missing their id": (Rule(ACCOUNTS, 200, _page([{"username": "x"}], 1)),
                               "items[0] that is not an Account (id: Field required)"),
    "fewer items than the total": (Rule(ACCOUNTS, 200, _page([{"id": 1, "username": "fashion_nova"}], 2)),
                                   "1 items where the list's total (2, 100 a page) puts 2 on this page"),
    "success false with 200": (Rule(ACCOUNTS, 200, b'{"success": false, "message": "nope"}'), "nope"),
    "a list that never ends": (Rule(ACCOUNTS, 200, _envelope({"items": [{"id": 1, "username": "fashion_nova"}] * 100,
                                                               "total": 10**12, "page": 1, "per_page": 100})),
                               "claims 10,000,000,000 pages"),
    "a 429 with Retry-After of a year": (Rule(ACCOUNTS, 429, b'{"success":false,"message":"slow down"}',
                                              headers={"Retry-After": YEAR}), "slow down"),
    "a 503 with Retry-After of a year": (Rule(ACCOUNTS, 503, b'{"success":false,"message":"maintenance"}',
                                              headers={"Retry-After": YEAR}), "maintenance"),
    "a Retry-After that is garbage": (Rule(ACCOUNTS, 429, b"{}", headers={"Retry-After": "soon-ish"}), "429"),
    "a 401 HTML page": (Rule(ACCOUNTS, 401, b"<html>login</html>", content_type="text/html"), "401"),
    "a 404 on the account list": (Rule(ACCOUNTS, 404, b'{"success":false,"message":"Not found"}'), "not found"),
    "a 404 HTML page": (Rule(ACCOUNTS, 404, b"<html>Not Found</html>", content_type="text/html"),
                        "answered 404 with an HTML page"),
    "a 422 with malformed errors": (Rule(ACCOUNTS, 422, b'{"success":false,"errors":"everything"}'), "422"),
}


@pytest.mark.parametrize("name", sorted(WHOLE_RUN))
async def test_a_bad_answer_to_the_account_list_ends_the_plan_cleanly(tmp_path: Path, name: str):
    """Every one of these is a failure of the run, said in one line: never a fleet read as
    empty (or as the few accounts a broken page held)."""
    emu = world()
    book = load_playbook(tmp_path, PLAYBOOK)
    time = VirtualTime()
    rule, said = WHOLE_RUN[name]
    async with hostile_client(emu, [rule], retry=FAST, time=time) as client:
        with pytest.raises(SharingtoolsError) as caught:
            await build_plan(client, book)
    message = str(caught.value)
    assert "\n" not in message and said.lower() in message.lower(), message
    assert max(time.slept, default=0) <= FAST.deadline  # never a wait of a year
    assert rule.hits <= FAST.attempts  # a list that "never ends" is not read for ever


#: name -> the rule answering account 3's own reads, and words its failure must say
ONE_ACCOUNT_ANSWERS: dict[str, tuple[Rule, str]] = {
    "an HTML error page": (Rule(ONE_ACCOUNT, 500, b"<html>oops</html>", content_type="text/html"), "500"),
    "an HTML page with 200": (Rule(ONE_ACCOUNT, 200, b"<html>maintenance</html>", content_type="text/html"),
                              "an HTML page"),
    "truncated JSON": (Rule(ONE_ACCOUNT, 200, _envelope({"likes_speed": 3})[:20]), "JSON cut off"),
    "a JSON list": (Rule(ONE_ACCOUNT, 200, b"[]"), "an empty JSON array, not the API's envelope"),
    "settings that are a string": (Rule(ONE_ACCOUNT, 200, _envelope("settings")), "data that is a string"),
    "an envelope without data": (Rule(ONE_ACCOUNT, 200, b'{"status": "success"}'), 'without "data"'),
    "a Retry-After of a year": (Rule(ONE_ACCOUNT, 429, b"{}", headers={"Retry-After": YEAR}), "429"),
}


@pytest.mark.parametrize("name", sorted(ONE_ACCOUNT_ANSWERS))
async def test_a_bad_answer_about_one_account_fails_that_account_only(tmp_path: Path, name: str):
    """Account 3's reads answer badly: account 3 fails its read (nothing written for it), the
    seven other fashion accounts are applied, the run is partial. Never read as data."""
    emu = world()
    book = load_playbook(tmp_path, PLAYBOOK)
    time = VirtualTime()
    rule, said = ONE_ACCOUNT_ANSWERS[name]
    async with hostile_client(emu, [rule], retry=FAST, time=time) as client:
        outcome = await apply(client, book, ApplyOptions(), executor=executor_for(client))
    assert outcome.exit_code == EXIT_PARTIAL, failures_of(outcome)
    (failure,) = outcome.execution.failures
    assert (failure.account_id, failure.step) == (3, "read") and said in failure.message, failures_of(outcome)
    assert outcome.execution.results[("reactions", "update_settings", "done")] == 7
    assert max(time.slept, default=0) <= FAST.deadline


# -- the command line against a hostile server over a real socket ---------------------------------
@pytest.fixture(scope="module")
def hostile_server() -> Iterator[tuple[str, dict[str, str], list[Rule]]]:
    rules: list[Rule] = []
    with serve_demo(lambda app: Hostile(app, rules)) as served:
        yield served.api, served.keys, rules


@pytest.mark.uvicorn
@pytest.mark.parametrize("name", ["an HTML error page", "an HTML page with 200", "truncated JSON",
                                  "an envelope without data", "a list that never ends",
                                  "a 503 with Retry-After of a year", "a JSON list instead of an envelope"])
def test_the_command_line_against_a_hostile_server_ends_in_one_line(tmp_path: Path, hostile_server, name: str):
    """Whatever the account list answers, apply stops before writing: exit 1, one line naming
    the cause (never a run read as an empty or partial fleet)."""
    url, keys, rules = hostile_server
    rule, said = WHOLE_RUN[name]
    rules[:] = [Rule(**{**rule.__dict__, "hits": 0})]
    pb = write_playbook(tmp_path, PLAYBOOK)
    env = {k: None for k in os.environ if k.startswith("SHARINGTOOLS_")} | {
        "SHARINGTOOLS_BASE_URL": url, "SHARINGTOOLS_API_KEY": keys["alice"], "SHARINGTOOLS_RATE": "2000",
        "SHARINGTOOLS_RETRY_ATTEMPTS": "2", "SHARINGTOOLS_RETRY_BACKOFF_MAX": "0.2", "SHARINGTOOLS_RETRY_DEADLINE": "5"}
    result = CliRunner().invoke(app, ["apply", str(pb), "--yes", "--state-db", str(tmp_path / "s.db")], env=env)
    (line,) = assert_clean(result)
    assert said.lower() in line.lower(), line
