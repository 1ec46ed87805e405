"""In a real headless Chromium: the header's notification bell and a bulk action on the party list.

Same set-up as ``tests/test_ui_browser.py``: the application on a loopback port in a thread,
Debian's chromium driven by Selenium; screenshots go to ``build/screenshots/``.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import ui_world
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait
from sqlalchemy import select
from werkzeug.serving import make_server

from xrm_core import migrate
from xrm_core.app import create_app
from xrm_core.events import get_bus, load_event_settings
from xrm_core.graph.models import Party
from xrm_core.notifications import notify

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = Path(__file__).parents[1] / "build" / "screenshots"
WAIT = 15


@pytest.fixture
def world_platform(make_platform):
    platform = make_platform("notes", ui_world.SHOWCASE)
    migrate.upgrade(platform)
    bus = get_bus(platform, load_event_settings(environ={}))
    yield platform
    bus.stop()


@pytest.fixture
def world(world_platform):
    return ui_world.build(world_platform)


@pytest.fixture
def server(world_platform, world):
    app = create_app(platform=world_platform)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


@pytest.fixture
def browser():
    missing = [path for path in (CHROMIUM, CHROMEDRIVER) if not shutil.which(path)]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: run scripts/chromium.sh (the test command does)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1400,1000", "--lang=en-GB"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def wait(driver):
    return WebDriverWait(driver, WAIT)


def sign_in(driver, base: str, email: str) -> None:
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "tenant").send_keys("acme")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(ui_world.PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=tenant-name]")))


def bell_count(driver) -> str:
    return driver.find_element(By.CSS_SELECTOR, "[data-testid=unread-count]").text


def test_the_bell_counts_new_notifications_through_htmx_and_reading_clears_it(server, browser, world_platform, world):
    sign_in(browser, server, "sam@acme.test")
    assert bell_count(browser) == "0"

    with world_platform.db.transaction(world.tenant_id) as session:
        for title in ("Call Zenith back", "Quarter closes Friday"):
            notify(session, users=[world.users["sam@acme.test"]], title=title, actor="cli")
    # what the 30-second poll does, without waiting for it: htmx swaps in a fresh bell
    browser.execute_script("document.body.dispatchEvent(new Event('notifications-changed'))")
    wait(browser).until(lambda d: bell_count(d) == "2")
    screenshot(browser, "notification-bell")

    browser.find_element(By.ID, "notification-bell").click()
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "li.notification.unread")))
    assert [e.text for e in browser.find_elements(By.CSS_SELECTOR, "li.notification strong")] == [
        "Quarter closes Friday", "Call Zenith back"]
    screenshot(browser, "notifications")
    browser.find_element(By.ID, "read-all").click()
    wait(browser).until(lambda d: bell_count(d) == "0")
    assert browser.find_elements(By.CSS_SELECTOR, "li.notification.unread") == []


def test_a_bulk_tag_on_selected_rows_reports_what_was_done(server, browser, world_platform, world):
    sign_in(browser, server, "sam@acme.test")
    browser.get(f"{server}/parties?q=Sales+contact+0")
    rows = browser.find_elements(By.CSS_SELECTOR, "#party-results tr[data-party-id] input[name=ids]")
    assert len(rows) == 10
    for checkbox in rows[:3]:
        checkbox.click()
    Select(browser.find_element(By.ID, "bulk-action")).select_by_value("tag")
    browser.find_element(By.ID, "bulk-tag").send_keys("campaign")
    browser.find_element(By.ID, "bulk-apply").click()

    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=bulk-result]")))
    assert browser.find_element(By.ID, "bulk-summary").text == "3 done, 0 refused."
    screenshot(browser, "bulk-result")
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        tagged = [p.display_name for p in session.scalars(select(Party)) if "campaign" in (p.tags or [])]
    assert sorted(tagged) == ["Sales contact 00", "Sales contact 01", "Sales contact 02"]
    browser.find_element(By.LINK_TEXT, "Back to the list").click()
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "#party-results")))
    assert "campaign" in browser.find_element(By.CSS_SELECTOR, "#party-results").text


def screenshot(driver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
