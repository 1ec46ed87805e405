"""In a real headless Chromium: an admin disables a plugin from the console and its navigation goes.

Same set-up as ``tests/test_ui_browser.py``: the application on a loopback port in a thread,
Debian's chromium driven by Selenium; screenshots go to ``build/screenshots/``.
"""

from __future__ import annotations

import pytest
import ui_world
from browser_testing import screenshot, served, sign_in, wait
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC


@pytest.fixture
def server(world_platform):
    ui_world.build(world_platform)
    with served(world_platform) as base:
        yield base


def sidebar_links(driver) -> list[str]:
    return [link.text for link in driver.find_elements(By.CSS_SELECTOR, "nav[aria-label=Main] a")]


def test_disabling_a_plugin_removes_its_navigation_and_enabling_brings_it_back(server, browser):
    sign_in(browser, server, "admin@acme.test")
    browser.get(f"{server}/admin/plugins")
    assert "Tickets" in sidebar_links(browser)  # the showcase plugin's entry

    browser.find_element(By.ID, "disable-showcase").click()
    wait(browser).until(EC.presence_of_element_located((By.ID, "enable-showcase")))
    assert "Showcase was disabled" in browser.find_element(By.CSS_SELECTOR, ".flashes").text
    assert "Tickets" not in sidebar_links(browser) and "Notes" in sidebar_links(browser)
    screenshot(browser, "admin-plugins-disabled")

    browser.find_element(By.ID, "enable-showcase").click()
    wait(browser).until(EC.presence_of_element_located((By.ID, "disable-showcase")))
    assert "Showcase was enabled." in browser.find_element(By.CSS_SELECTOR, ".flashes").text
    assert "Tickets" in sidebar_links(browser)
