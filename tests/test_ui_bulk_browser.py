"""In a real headless Chromium: the header's notification bell and a bulk action on the party list.

Same set-up as ``tests/test_ui_browser.py``: the application on a loopback port in a thread,
Debian's chromium driven by Selenium; screenshots go to ``build/screenshots/``.
"""

from __future__ import annotations

import pytest
import ui_world
from browser_testing import screenshot, served, sign_in, wait
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select
from sqlalchemy import select

from xrm_core import migrate
from xrm_core.events import get_bus, load_event_settings
from xrm_core.graph.models import Party
from xrm_core.notifications import notify


@pytest.fixture
def world_platform(make_platform):
    platform = make_platform("notes", ui_world.SHOWCASE)
    migrate.upgrade(platform)
    bus = get_bus(platform, load_event_settings(environ={}))
    yield platform
    bus.stop()


@pytest.fixture
def server(world_platform, world):
    with served(world_platform) as base:
        yield base


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
