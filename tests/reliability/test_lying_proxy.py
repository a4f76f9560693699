"""Through a lying server, nothing is read as "nothing there", and nothing is written.

``LyingProxy`` (``tests/harness/lying_proxy.py``, ours, not the emulator's fault injection) sits in front of
the emulator and lies to one read: with status 200 it answers an HTML maintenance page, an
empty body, the success envelope without ``data``, the real JSON cut in half, ``data`` of the
wrong type, or a page whose ``total`` disagrees with the list's. The cases are every read a
plan of the demo playbooks makes on the demo world, taken from the emulator's request
counters after a normal plan (``planner_reads``): each list on its second page where it has
one (the proxy caps ``per_page`` at 5, so the lists have several pages), each per-account
read for one account.

The rule, on a world the demo playbooks were applied to: through the lie there is no write
at all (the emulator's counters show no request but GETs), ``plan --strict`` exits 1 saying
the cause in words, and ``apply`` exits 1 when the lie was about the account list or the
caption library (the run stops) and 4 otherwise (the accounts concerned fail, nothing is
written for them). No case may be read as empty, as "no schedule", or as a shorter list.
The command line runs in process (``CliRunner``) against the proxy served by uvicorn on
127.0.0.1, so the client's real connection pool is in front of it.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from orchestrator import playbook
from orchestrator.api.errors import UnexpectedAnswer
from orchestrator.cli.app import app
from orchestrator.apply.run import ApplyOptions, apply
from orchestrator.planning.planner import build_plan, read_accounts
from tests.harness import PLAYBOOKS, Served, client_for, executor_for, request_rows, serve_demo
from tests.conftest import world
from tests.harness.lying_proxy import LIES, SAID, Lie, LyingProxy

CLAMP = 5  # per_page the proxy lets through: the demo's lists then have pages 2 and more
ACCOUNT = 3  # the account a per-account read lies about (fashion_luxe: in every demo entry)
#: Reads whose failure stops the run: the account list, and the caption library (the user's).
RUN_STOPPERS = ("/accounts", "/captions")
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")


@dataclass(frozen=True)
class Read:
    """One read a plan makes: a route as the emulator templates it, and how many requests."""

    route: str
    count: int

    @property
    def per_account(self) -> bool:
        return "{" in self.route

    @property
    def pattern(self) -> str:
        """A regex of the route's path for the account the lie is about (any object's, for a
        read by the id of a library object: a post's upload read back)."""
        path = self.route.replace("{account_id}", str(ACCOUNT))
        return "^" + re.sub(r"\{[^}]+\}", r"\\d+", path) + "$"

    @property
    def page(self) -> int | None:
        """The page a lie hits: the second where the list has one (a lie after page 1 must
        not leave a shorter list), the first otherwise; None for a read that is not a list."""
        if self.per_account:
            return None
        return 2 if self.count >= 2 else 1


@functools.cache
def planner_reads() -> tuple[Read, ...]:
    """Every GET route a plan of the demo playbooks reads on the converged demo world (through
    the honest proxy, ``per_page`` capped), from the emulator's request counters."""

    async def discover() -> list[dict[str, Any]]:
        emu = world()
        book = playbook.load([str(PLAYBOOKS)])
        async with client_for(emu, front=lambda inner: LyingProxy(inner, clamp=CLAMP)) as client:
            outcome = await apply(client, book, ApplyOptions(), executor=executor_for(client))
            assert outcome.exit_code == 0, outcome.message
            async with emu.control() as control:
                await control.post("/requests/reset")
                planned = await build_plan(client, book)
                assert planned.plan.empty and not planned.problems and not planned.read_failures
                return await request_rows(control)

    rows = anyio.run(discover)
    counts: dict[str, int] = {}
    for row in rows:
        assert row["method"] == "GET" and row["status"] == 200, row  # a plan only reads
        counts[row["route"]] = counts.get(row["route"], 0) + row["count"]
    return tuple(Read(route, n) for route, n in sorted(counts.items()))


def cases() -> list[Any]:
    out = []
    for read in planner_reads():
        for how in LIES:
            if how == "total" and read.per_account:
                continue  # not a list: no total to disagree
            out.append(pytest.param(read, how, id=f"{read.route}-p{read.page or '-'}-{how}"))
    return out


def test_the_cases_are_every_read_a_plan_makes():
    """The matrix below comes from the counters; this pins that it holds what a plan reads
    (the account list, every kind's list, the library, and per-account settings), each list
    with a second page to lie on."""
    reads = {r.route: r for r in planner_reads()}
    assert {"/accounts", "/captions", "/reactions/schedules", "/repost/schedules", "/welcomedm/schedules",
            "/ai-dm/schedules", "/leads/schedules", "/first-comment/schedules"} <= set(reads)
    assert {"/reactions/schedules/{account_id}/settings", "/repost/schedules/{account_id}/settings"} <= set(reads)
    assert reads["/accounts"].page == 2 and reads["/captions"].page == 2


# -- the command line through the lying proxy, served on 127.0.0.1 ------------------------------
@dataclass
class Liar:
    served: Served
    proxy: LyingProxy

    def env(self, state_db: Path) -> dict[str, str | None]:
        base: dict[str, str | None] = {k: None for k in os.environ if k.startswith("SHARINGTOOLS_")}
        return base | self.served.env() | {
            "SHARINGTOOLS_STATE_DB": str(state_db), "SHARINGTOOLS_RETRY_ATTEMPTS": "2",
            "SHARINGTOOLS_RETRY_BACKOFF_BASE": "0.01", "SHARINGTOOLS_RETRY_BACKOFF_MAX": "0.02",
            "SHARINGTOOLS_RETRY_DEADLINE": "10"}

    def run(self, state_db: Path, *args: str) -> Result:
        return CliRunner().invoke(app, [*args], env=self.env(state_db))

    def control(self, method: str, path: str) -> Any:
        response = httpx.request(method, f"{self.served.server.url}/_emulator{path}", timeout=30)
        response.raise_for_status()
        return response.json()

    def writes(self) -> list[dict[str, Any]]:
        return [r for r in self.control("GET", "/requests")["requests"] if r["method"] in WRITE_METHODS]


@pytest.fixture(scope="module")
def liar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Liar]:
    """The demo world behind the lying proxy on a real socket, with the demo playbooks applied
    (through the proxy telling no lie): converged, so any write below comes from a lie read."""
    proxies: list[LyingProxy] = []

    def front(inner: Any) -> LyingProxy:
        proxies.append(LyingProxy(inner, clamp=CLAMP))
        return proxies[-1]

    with serve_demo(front) as served:
        world = Liar(served, proxies[0])
        state = tmp_path_factory.mktemp("converge") / "state.db"
        applied = world.run(state, "apply", str(PLAYBOOKS), "--yes")
        assert applied.exit_code == 0, applied.stderr[-2000:]
        yield world


@pytest.mark.uvicorn
def test_without_a_lie_the_converged_world_plans_empty_through_the_proxy(liar: Liar, tmp_path: Path):
    """The control: the proxy itself (its per_page cap included) changes nothing."""
    liar.control("POST", "/requests/reset")
    planned = liar.run(tmp_path / "s.db", "plan", str(PLAYBOOKS), "--strict", "--detailed-exitcode")
    applied = liar.run(tmp_path / "s.db", "apply", str(PLAYBOOKS), "--yes")
    assert (planned.exit_code, applied.exit_code) == (0, 0), planned.stderr[-2000:] + applied.stderr[-2000:]
    assert liar.writes() == []


@pytest.mark.uvicorn
@pytest.mark.parametrize(("read", "how"), cases())
def test_a_lie_is_a_read_failure_and_nothing_is_written(liar: Liar, tmp_path: Path, read: Read, how: str):
    liar.control("POST", "/requests/reset")
    lie = Lie("GET", read.pattern, how, page=read.page)
    liar.proxy.lie = lie
    try:
        planned = liar.run(tmp_path / "s.db", "plan", str(PLAYBOOKS), "--strict")
        told_to_plan = lie.told
        applied = liar.run(tmp_path / "s.db", "apply", str(PLAYBOOKS), "--yes")
    finally:
        liar.proxy.lie = None
    said = planned.stdout + planned.stderr + applied.stdout + applied.stderr
    assert told_to_plan >= 1 and lie.told > told_to_plan, "the lie was never told: the case tests nothing"
    assert liar.writes() == [], said[-3000:]
    assert planned.exit_code == 1, said[-3000:]
    assert SAID[how] in planned.stderr and SAID[how] in applied.stdout + applied.stderr, said[-3000:]
    stopper = read.route in RUN_STOPPERS
    assert applied.exit_code == (1 if stopper else 4), said[-3000:]
    assert "Traceback" not in said
    # never "fashion_luxe · reactions: has no Reactions Pro schedule (create it in the web panel ...)"
    assert not re.search(r"has no [\w -]+ schedule", said), said[-3000:]
    assert liar.served.keys["alice"] not in said
    if stopper:  # the run stops in one line
        assert len([line for line in planned.stderr.splitlines() if line.strip()]) == 1, planned.stderr
    elif "{account_id}" in read.route:  # that one account fails its read; the others are planned
        assert "error: 1 account reads failed" in planned.stderr, planned.stderr[-3000:]
    elif read.per_account:  # a shared object (an upload): every account whose posts hold it fails
        assert re.search(r"error: \d+ account reads failed", planned.stderr), planned.stderr[-3000:]
        assert re.search(r"error: \w+ · posts: could not read Posts: GET /media/\d+ answered 200",
                         planned.stderr), planned.stderr[-3000:]
    else:  # every account of the kind is a failed read, each named with the list's cause
        assert "account reads failed" in planned.stderr, planned.stderr[-3000:]


# -- the engine through the proxy in process (virtual time) -------------------------------------
async def test_a_maintenance_page_that_passes_is_retried_and_the_list_is_whole():
    """A maintenance page is transient: told once on page 2 of the account list, the client's
    retry reads the real page and every account is there."""
    emu = world()
    lie = Lie("GET", "^/accounts$", "html", page=2, times=1)
    async with client_for(emu, front=lambda inner: LyingProxy(inner, clamp=CLAMP, lie=lie)) as client:
        accounts = await read_accounts(client)
        assert client.transport.stats.retries == 1
    assert lie.told == 1 and [a.id for a in accounts] == list(range(1, 26))


@pytest.mark.parametrize("how", ["no_data", "wrong_type", "total"])
async def test_a_well_formed_lie_is_not_retried(how: str):
    """A well-formed answer of the wrong shape would come back the same: one attempt, then a
    failure (a maintenance page, an empty or cut-off body are retried)."""
    emu = world()
    lie = Lie("GET", "^/accounts$", how, page=2)
    async with client_for(emu, front=lambda inner: LyingProxy(inner, clamp=CLAMP, lie=lie)) as client:
        with pytest.raises(UnexpectedAnswer) as caught:
            await read_accounts(client)
        assert client.transport.stats.retries == 0
    assert lie.told == 1 and caught.value.page == 2 and SAID[how] in str(caught.value)


@pytest.mark.parametrize("how", ["html", "empty", "truncated"])
async def test_a_transient_lie_that_persists_fails_after_the_retries(how: str):
    emu = world()
    lie = Lie("GET", "^/accounts$", how, page=2)
    async with client_for(emu, front=lambda inner: LyingProxy(inner, clamp=CLAMP, lie=lie)) as client:
        with pytest.raises(UnexpectedAnswer) as caught:
            await read_accounts(client)
    assert lie.told == 6 and caught.value.transient  # the default six attempts, each lied to
    assert str(caught.value).startswith(f"GET /accounts page 2 answered 200 with {SAID[how][:5]}")
