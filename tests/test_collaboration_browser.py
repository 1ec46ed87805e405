"""In a real headless Chromium: an @mention in a comment reaches the mentioned colleague's bell.

Same set-up as ``tests/test_ui_bulk_browser.py``: the application on a loopback port in a thread,
Debian's chromium driven by Selenium; screenshots go to ``build/screenshots/``.
"""

from __future__ import annotations

import pytest
import ui_world
from browser_testing import screenshot, served, sign_in, wait
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from xrm_core import migrate
from xrm_core.events import get_bus, load_event_settings


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


def test_a_mention_in_a_comment_shows_in_the_mentioned_users_bell_and_leads_to_the_party(server, browser, world):
    zenith = world.parties["Zenith Industries"]
    sign_in(browser, server, "sam@acme.test")
    browser.get(f"{server}/parties/{zenith}")
    body = wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=comment-body]")))
    body.send_keys("@sue@acme.test please call")
    browser.find_element(By.CSS_SELECTOR, "[data-testid=comment-submit]").click()
    wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=comment-outcome]")))
    assert "please call" in browser.find_element(By.CSS_SELECTOR, "li[data-comment-id] .comment-body").text
    assert browser.find_element(By.ID, "follow-toggle").get_attribute("aria-pressed") == "true"
    screenshot(browser, "collaboration-comment")

    browser.delete_all_cookies()
    sign_in(browser, server, "sue@acme.test")
    wait(browser).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-testid=unread-count]").text == "1")
    browser.find_element(By.ID, "notification-bell").click()
    note = wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "li.notification.unread")))
    assert note.find_element(By.TAG_NAME, "strong").text == "Sam Seller mentioned you"
    assert "please call" in note.text
    screenshot(browser, "collaboration-mention-notification")
    note.find_element(By.CSS_SELECTOR, "button[name=open]").click()
    wait(browser).until(EC.url_to_be(f"{server}/parties/{zenith}"))
    comment = wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "li[data-comment-id]")))
    assert "@sue@acme.test please call" in comment.text
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=unread-count]").text == "0"
