"""The status page's views over a state database made by real cycles (see conftest): what they
show against what the database holds, filters and pages as URLs, and every wrong parameter
answered 400 with what is accepted."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from orchestrator.status import create_status_app
from tests.harness.stores import SyncStore
from orchestrator.status.params import account_filter, query_of
from tests.status.conftest import BLOCKED, Fleet, client_of, rows


class Links(HTMLParser):
    """Every href and src of a page, and whether it has a script."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts = 0
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        self.urls += [v for k, v in attrs if k in ("href", "src", "action") and v is not None]


def usernames(html: str) -> list[str]:
    """The accounts table's usernames, in order."""
    return re.findall(r'<tr data-account="([^"]+)">', html)


def card(html: str, state: str) -> int:
    match = re.search(rf'data-state="{state}"[^>]*>\s*<span class="count">([\d,]+)</span>', html)
    assert match, state
    return int(match.group(1).replace(",", ""))


async def test_the_front_page_counts_what_the_database_holds(page, fleet: Fleet) -> None:
    html = (await page.get("/")).text
    counts = dict(rows(fleet.db, "SELECT state, COUNT(*) FROM status_accounts GROUP BY state"))
    for state in ("in_sync", "drifted", "blocked", "failed", "backed_off", "not_seen"):
        assert card(html, state) == counts.get(state, 0), state
    assert counts == {"in_sync": 23, "blocked": 2}
    for username, reason in BLOCKED.items():  # who waits on a person, why, and what to do
        row = re.search(rf'<tr data-account="{username}">(.*?)</tr>', html, re.S)
        assert row and "panel" in row.group(1), username
        assert f'data-reason="{reason}"' in html
    last = fleet.reports[-1].run_id
    assert f'href="/runs/{last}"' in html and "no loop in this process" in html
    assert html.count('<g class="bar">') == len(fleet.reports)  # drift over time: a bar per cycle


async def test_the_json_says_the_same(page, fleet: Fleet) -> None:
    status = (await page.get("/api/status")).json()
    assert status["fleet"]["in_sync"] == 23 and status["fleet"]["blocked"] == 2 and status["accounts"] == 25
    assert status["blocked_by_reason"] == {"ai_key_missing": 1, "login_required": 1}
    assert {a["username"] for a in status["waiting"]["accounts"]} == set(BLOCKED)
    assert [c["run_id"] for c in status["drift"]] == [r.run_id for r in fleet.reports]
    assert [c["drift"] for c in status["drift"]] == [r.by_outcome() for r in fleet.reports]
    assert status["loop"] is None and status["last_cycle"]["run_id"] == fleet.reports[-1].run_id


async def test_a_failing_fleet_shows_its_failed_and_backed_off_accounts(fleet: Fleet) -> None:
    async with client_of(create_status_app(fleet.mid)) as client:
        html = (await client.get("/")).text
        counts = dict(rows(fleet.mid, "SELECT state, COUNT(*) FROM status_accounts GROUP BY state"))
        assert counts.get("backed_off") and card(html, "backed_off") == counts["backed_off"]
        listed = (await client.get("/api/accounts", params={"state": "backed_off", "per_page": 200})).json()
        assert listed["total"] == counts["backed_off"]
        assert all(any(n["reason"] == "backed_off" for n in a["notes"]) for a in listed["items"])


@pytest.mark.parametrize(("params", "expected"), [
    ({"state": "blocked"}, sorted(BLOCKED)),
    ({"reason": "login_required"}, ["food_vegan"]),
    ({"state": "blocked", "reason": "ai_key_missing"}, ["food_kitchen"]),
    ({"group": "fashion_flagships"}, ["fashion_luxe", "fashion_nova"]),
    ({"q": "TRAVEL_"}, ["travel_coast", "travel_nomad", "travel_peak", "travel_wander"]),
    ({"q": "travel", "sort": "-username"}, ["travel_wander", "travel_peak", "travel_nomad", "travel_coast"]),
    ({"state": "failed"}, []),
])
async def test_the_accounts_filters(page, params, expected) -> None:
    html = (await page.get("/accounts", params=params)).text
    assert usernames(html) == expected
    api = (await page.get("/api/accounts", params=params)).json()
    assert [a["username"] for a in api["items"]] == expected and api["total"] == len(expected)


async def test_kind_and_state_filters_match_the_database(page, fleet: Fleet) -> None:
    want = sorted(u for (u,) in rows(fleet.db, "SELECT username FROM status_accounts WHERE kinds LIKE '%,ai_dm,%'"))
    assert usernames((await page.get("/accounts", params={"kind": "ai_dm", "per_page": 200})).text) == want
    assert 0 < len(want) < 25


async def test_pages_are_server_side_and_cover_the_fleet_once(page, fleet: Fleet) -> None:
    seen: list[str] = []
    url = "/accounts?per_page=10"
    for _ in range(5):  # 25 accounts, 10 a page: 3 pages, followed by their "next" links
        html = (await page.get(url)).text
        got = usernames(html)
        assert len(got) <= 10
        seen += got
        nxt = re.search(r'<a rel="next" href="([^"]+)"', html)
        if nxt is None:
            break
        url = nxt.group(1).replace("&amp;", "&")
    assert "page 3 of 3" in html
    assert seen == sorted(u for (u,) in rows(fleet.db, "SELECT username FROM status_accounts"))
    past = await page.get("/accounts?per_page=10&page=9")  # a bookmark past the end: an empty page, a way back
    assert past.status_code == 200 and usernames(past.text) == [] and "page=3" in past.text
    api = (await page.get("/api/accounts", params={"per_page": 10, "page": 2})).json()
    assert (api["total"], api["pages"], len(api["items"])) == (25, 3, 10)
    assert api["next"] == "/api/accounts?page=3&per_page=10"


def test_a_view_has_one_url() -> None:
    for query in ["state=blocked&reason=login_required", "kind=ai_dm&sort=-since&page=2&per_page=10",
                  "group=fashion&q=nova", ""]:
        params: dict[str, list[str]] = {}
        for pair in filter(None, query.split("&")):
            k, v = pair.split("=")
            params.setdefault(k, []).append(v)
        f = account_filter(params, lambda: ["fashion"])
        assert query_of(f) == query
    f = account_filter({"state": ["blocked"], "page": ["3"]}, list)
    assert query_of(f, state="drifted", page=1) == "state=drifted"  # a new filter starts at page 1


@pytest.mark.parametrize(("url", "message"), [
    ("/accounts?stat=blocked", "unknown parameter 'stat': use state, kind, group, reason, q, sort, page or per_page"),
    ("/accounts?state=synced", "state 'synced' is not one of: in_sync, drifted, blocked"),
    ("/accounts?kind=reaction", "kind 'reaction' is not one of: account, reactions"),
    ("/accounts?reason=password", "reason 'password' is not one of: login_required"),
    ("/accounts?group=fashon", "no account is in a group 'fashon': the groups are ai_concierge, everyone, fashion"),
    ("/accounts?page=0", "page 0 is out of range: 1 or more"),
    ("/accounts?page=two", "page 'two' is not a whole number"),
    ("/accounts?per_page=1000", "per_page 1000 is out of range: from 1 to 200"),
    ("/accounts?sort=name", "sort 'name': use username, state, since, differences or id"),
    ("/accounts?state=blocked&state=drifted", "give 'state' once"),
    ("/accounts?q=" + "x" * 101, "q is 101 characters long: 100 at most"),
    ("/runs?per_page=0", "per_page 0 is out of range"),
    ("/?page=2", "unknown parameter 'page': this page takes none"),
])
async def test_a_wrong_parameter_is_a_400_that_says_what_is_accepted(page, url: str, message: str) -> None:
    html = await page.get(url)
    assert html.status_code == 400 and message in html.text.replace("&#39;", "'")
    api = await page.get(url.replace("/accounts", "/api/accounts").replace("/runs", "/api/runs")
                         .replace("/?", "/api/status?"))
    assert api.status_code == 400 and message in api.json()["error"]


async def test_an_account_page_shows_desired_beside_live(page, fleet: Fleet) -> None:
    [(nova,)] = rows(fleet.db, "SELECT account_id FROM status_accounts WHERE username = 'fashion_nova'")
    html = (await page.get(f"/accounts/{nova}")).text
    assert 'id="kind-reactions"' in html and "settings.likes_speed" in html and "growth.yaml:" in html
    api = (await page.get(f"/api/accounts/{nova}")).json()
    fields = {f["path"]: f for f in api["kinds"]["reactions"]["fields"]}
    assert fields["settings.likes_speed"]["desired"] == 4 and fields["settings.likes_speed"]["in_sync"] is False
    assert fields["settings.likes_speed"]["live"] == 1 and fields["settings.likes_speed"]["outcome"] == "fixed"
    assert fields["state"]["in_sync"] is True and fields["state"]["live"] == fields["state"]["desired"]
    # what drifted when: the panel's change, put back by the last cycle
    last = fleet.reports[-1].run_id
    assert {(e["run_id"], e["before"], e["after"], e["outcome"]) for e in api["drift"]
            if e["path"] == "settings.likes_speed"} >= {(last, 1, 4, "fixed")}
    assert last in [r["id"] for r in api["runs"]]


async def test_a_blocked_account_says_what_to_do(page, fleet: Fleet) -> None:
    [(vegan,)] = rows(fleet.db, "SELECT account_id FROM status_accounts WHERE username = 'food_vegan'")
    html = (await page.get(f"/accounts/{vegan}")).text
    assert "Waits on a person" in html and "needs a new Instagram login" in html and "log in again" in html
    api = (await page.get(f"/api/accounts/{vegan}")).json()
    blocked = [f for k in api["kinds"].values() for f in k["fields"] if f["outcome"] == "blocked"]
    assert blocked and all("log in again" in f["reason"] for f in blocked)


async def test_a_run_page_groups_its_changes_as_a_plan(page, fleet: Fleet) -> None:
    first = fleet.reports[0]
    api = (await page.get(f"/api/runs/{first.run_id}")).json()
    counted = {outcome: sum(g["accounts"] for g in groups) for outcome, groups in api["changes"].items()}
    assert counted == first.by_outcome()
    reported = api["changes"]["reported"]
    assert len(reported) < counted["reported"]  # identical changes on many accounts are one line
    assert [(g["kind"]) for g in reported] == sorted(g["kind"] for g in reported)  # in kind order, as a plan
    html = (await page.get(f"/runs/{first.run_id}")).text
    assert "grouped as the plan groups them" in html and "food_vegan needs a new Instagram login" in html
    assert (await page.get("/runs/99999")).status_code == 404


async def test_the_runs_list_pages(page, fleet: Fleet) -> None:
    html = (await page.get("/runs?per_page=2")).text
    ids = [int(i) for i in re.findall(r'<tr data-run="(\d+)">', html)]
    assert ids == sorted((r.run_id for r in fleet.reports), reverse=True)[:2]
    assert "page 1 of 3" in html


async def test_what_keeps_drifting(page) -> None:
    spots = (await page.get("/api/drift")).json()["hot_spots"]
    # put back by cycle 4, changed in the panel, put back again by cycle 5: it came back once; the
    # settings that failed (cycle 2), waited (3) and were fixed (4) did not come back
    assert [(s["username"], s["kind"], s["path"], s["came_back"]) for s in spots] == [
        ("fashion_nova", "reactions", "settings.likes_speed", 1)]
    html = (await page.get("/drift")).text
    assert "<svg" in html and "settings.likes_speed" in html


async def test_read_only_self_contained_and_scriptless(page, fleet: Fleet) -> None:
    [(vegan,)] = rows(fleet.db, "SELECT account_id FROM status_accounts WHERE username = 'food_vegan'")
    for url in ["/", "/accounts", f"/accounts/{vegan}", "/runs", f"/runs/{fleet.reports[0].run_id}", "/drift"]:
        response = await page.get(url)
        assert response.status_code == 200, url
        assert "script-src" not in response.headers["content-security-policy"]  # default-src 'none': no script
        assert response.headers["content-security-policy"].startswith("default-src 'none'")
        links = Links(response.text)
        assert links.scripts == 0, url
        # nothing from elsewhere: every URL is this server's
        assert all(u.startswith(("/", "?", "#")) and not u.startswith("//") for u in links.urls), url
    css = await page.get(re.search(r'href="(/static/status\.css\?v=\w+)"', (await page.get("/")).text).group(1))
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert (await page.head("/")).status_code == 200
    assert (await page.post("/accounts")).status_code == 405
    assert (await page.get("/accounts/999999")).status_code == 404
    assert (await page.get("/nowhere")).status_code == 404


async def test_without_a_database_or_before_any_cycle(tmp_path: Path) -> None:
    async with client_of(create_status_app(tmp_path / "none.db")) as client:
        missing = await client.get("/")
        assert missing.status_code == 503 and "there is no state database at" in missing.text
        assert (await client.get("/api/status")).json()["status"] == 503
    SyncStore(tmp_path / "state.db").close()  # an apply's database: no reconcile has written the status tables
    async with client_of(create_status_app(tmp_path / "state.db")) as client:
        home = await client.get("/")
        assert home.status_code == 200 and "No reconcile cycle recorded yet" in home.text
        for url in ["/accounts", "/runs", "/drift", "/api/status", "/api/accounts"]:
            assert (await client.get(url)).status_code == 200, url
