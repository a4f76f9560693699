"""The status page as a person uses it, in headless Chromium (Selenium, Debian's ``chromium`` and
``chromium-driver``): a real ``orchestrator reconcile --every 1h --metrics-port P`` against a
served emulator with the demo world; once its first cycle is recorded, the fleet's counts
(checked against the state database), the accounts that wait on a person, a filter, a table
of several pages, an account, a run. A screenshot of the front page is kept in the test's
temporary directory; ``REFRESH_SCREENSHOT=1`` writes it to ``docs/status-page.png`` (the
README shows it).

Outside CI, without Chromium, the test is skipped with a line saying what to install; in CI
(``CI`` set) the fixture installs the two packages itself, as CI runs on a clean machine.
Selenium is pointed at both binaries, so it downloads nothing (no Selenium Manager).
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from orchestrator.emulator.app import create_app
from orchestrator.emulator.server import BackgroundServer, build_state
from tests.harness.once import machine_wide
from tests.harness.processes import free_port
from tests.status.conftest import BLOCKED, ROOT

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
SCREENSHOT = ROOT / "docs" / "status-page.png"


def _install_chromium() -> None:
    """What CI needs on a clean machine (it runs as root): Debian's packages, once."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"]):
        subprocess.run(cmd, check=True, env=env, timeout=1200, stdout=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    if not (CHROMIUM.exists() and DRIVER.exists()):
        if not os.environ.get("CI") or shutil.which("apt-get") is None:
            pytest.skip("browser tests need headless Chromium: apt-get install chromium chromium-driver "
                        "(with CI set, the test installs them)")
        with machine_wide("apt"):
            if not (CHROMIUM.exists() and DRIVER.exists()):  # another worker may have meanwhile
                _install_chromium()
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium Manager reach out
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-default-apps", "--disable-extensions", "--lang=en-US"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=str(DRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A served emulator and a real reconcile loop serving its page: (page URL, state database)."""
    tmp = tmp_path_factory.mktemp("browser")
    db = tmp / "state.db"
    state, keys = build_state(seed="demo")
    with BackgroundServer(create_app(state)) as emulator:
        env = {**os.environ, "SHARINGTOOLS_BASE_URL": f"{emulator.url}/api/v1", "SHARINGTOOLS_API_KEY": keys["alice"],
               "SHARINGTOOLS_RATE": "2000", "SHARINGTOOLS_STATE_DB": str(db)}
        orchestrator = [sys.executable, "-m", "orchestrator"]
        # What an operator tries first: one cycle that only reports (the chart's first bar).
        first = subprocess.run([*orchestrator, "reconcile", "playbooks/", "--once", "--mode", "report"], cwd=ROOT,
                               env=env, capture_output=True, text=True, timeout=180)
        assert first.returncode == 2, first.stdout + first.stderr
        port = free_port()
        with (tmp / "reconcile.log").open("wb") as log:
            proc = subprocess.Popen([*orchestrator, "reconcile", "playbooks/", "--every", "1h", "--metrics-port",
                                     str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                url = f"http://127.0.0.1:{port}"
                deadline = time.monotonic() + 180
                while True:  # until the loop's first cycle is recorded (bounded)
                    assert proc.poll() is None, (tmp / "reconcile.log").read_text()
                    try:
                        status = httpx.get(f"{url}/api/status", timeout=5).json()
                        if status["last_cycle"] and status["last_cycle"]["mode"] == "fix":
                            break
                    except httpx.TransportError:
                        pass
                    assert time.monotonic() < deadline, "no cycle recorded in 180 s"
                    time.sleep(0.2)
                yield url, db
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        return dict(con.execute("SELECT state, COUNT(*) FROM status_accounts GROUP BY state").fetchall())


def wait_url(driver, part: str) -> None:
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 15).until(expected_conditions.url_contains(part))


def rows_shown(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    return [tr.get_attribute("data-account") for tr in driver.find_elements(By.CSS_SELECTOR, "#accounts tbody tr")]


def test_the_status_page_in_a_browser(chromium, loop: tuple[str, Path], tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = chromium
    url, db = loop
    driver.get(url + "/")
    # The fleet at a glance, as the state database has it.
    fleet = counts(db)
    assert fleet == {"in_sync": 23, "blocked": 2}
    for state in ("in_sync", "drifted", "blocked", "failed", "backed_off", "not_seen"):
        shown = driver.find_element(By.CSS_SELECTOR, f'#fleet a[data-state="{state}"] .count').text
        assert int(shown.replace(",", "")) == fleet.get(state, 0), state
    # Who waits on a person, why, and what to do.
    waiting = {tr.get_attribute("data-account"): tr.text for tr in
               driver.find_elements(By.CSS_SELECTOR, "#waiting tbody tr")}
    assert set(waiting) == set(BLOCKED)
    assert "needs a new Instagram login" in waiting["food_vegan"] and "log in again" in waiting["food_vegan"]
    assert "no OpenAI key" in waiting["food_kitchen"]
    assert "loop healthy" in driver.find_element(By.ID, "health").text
    assert driver.find_element(By.ID, "next-cycle").text.split("(")[-1].startswith("in ")
    assert len(driver.find_elements(By.CSS_SELECTOR, "#drift svg g.bar")) == 2
    driver.set_window_size(1280, min(3000, driver.execute_script("return document.body.scrollHeight") + 20))
    shot = tmp_path / "status-page.png"
    assert driver.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if os.environ.get("REFRESH_SCREENSHOT"):
        shutil.copyfile(shot, SCREENSHOT)
    driver.set_window_size(1280, 1000)

    # A filter: the blocked card opens the accounts that are blocked.
    driver.find_element(By.CSS_SELECTOR, '#fleet a[data-state="blocked"]').click()
    wait_url(driver, "state=blocked")
    assert sorted(rows_shown(driver)) == sorted(BLOCKED)
    # Back to every state, 10 a page: a table of three pages, the next one a click away.
    driver.find_element(By.LINK_TEXT, "any state").click()
    wait_url(driver, "/accounts")
    Select(driver.find_element(By.NAME, "per_page")).select_by_visible_text("10")
    driver.find_element(By.CSS_SELECTOR, "form.filters button").click()
    wait_url(driver, "per_page=10")
    first_page = rows_shown(driver)
    assert len(first_page) == 10 and "page 1 of 3" in driver.find_element(By.CSS_SELECTOR, ".pager").text
    driver.find_element(By.CSS_SELECTOR, 'a[rel="next"]').click()
    wait_url(driver, "page=2")
    second_page = rows_shown(driver)
    assert len(second_page) == 10 and not set(first_page) & set(second_page)
    assert "per_page=10" in driver.current_url  # the view is its URL: shareable
    # An account, then the cycle that judged it.
    name = second_page[0]
    driver.find_element(By.CSS_SELECTOR, f'tr[data-account="{name}"] a.account').click()
    wait_url(driver, "/accounts/")
    assert driver.find_element(By.ID, "account-name").text.startswith(name)
    assert driver.find_elements(By.CSS_SELECTOR, "#kinds table.fields tbody tr")
    driver.find_element(By.PARTIAL_LINK_TEXT, "cycle #").click()
    wait_url(driver, "/runs/")
    assert driver.find_element(By.ID, "run-title").text.startswith("Run #")
    assert "grouped as the plan groups them" in driver.find_element(By.ID, "changes").text
    # A blocked account says what a person must do.
    driver.get(url + "/accounts?q=food_vegan")
    driver.find_element(By.CSS_SELECTOR, 'tr[data-account="food_vegan"] a.account').click()
    wait_url(driver, "/accounts/")
    assert "log in again" in driver.find_element(By.ID, "notes").text
