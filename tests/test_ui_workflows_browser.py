"""In a real headless Chromium: the workflow editor checks a condition as it is typed, then saves.

Same set-up as ``tests/test_ui_bulk_browser.py``: the application on a loopback port in a thread,
Debian's chromium driven by Selenium; screenshots go to ``build/screenshots/``.
"""

from __future__ import annotations

import pytest
from browser_testing import screenshot, served, sign_in, wait
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select
from sqlalchemy import select

from xrm_core.workflows import service
from xrm_core.workflows.models import Workflow


@pytest.fixture
def server(world_platform, world):
    with served(world_platform) as base:
        yield base


def check_text(driver) -> str:
    return driver.find_element(By.ID, "trigger_condition-check").text


def test_a_bad_condition_shows_its_error_live_and_the_fixed_one_saves(server, browser, world_platform, world):
    sign_in(browser, server, "admin@acme.test")
    browser.get(f"{server}/admin/workflows/new")
    browser.find_element(By.ID, "name").send_keys("Welcome new parties")
    # Choosing another kind of trigger swaps in its fields (htmx), keeping what was typed.
    Select(browser.find_element(By.ID, "trigger_kind")).select_by_value("schedule")
    wait(browser).until(EC.presence_of_element_located((By.ID, "trigger_cron")))
    assert not browser.find_elements(By.ID, "trigger_condition")
    Select(browser.find_element(By.ID, "trigger_kind")).select_by_value("event")
    wait(browser).until(EC.presence_of_element_located((By.ID, "trigger_event")))
    assert browser.find_element(By.ID, "name").get_attribute("value") == "Welcome new parties"
    Select(browser.find_element(By.ID, "trigger_event")).select_by_value("core.party.created")

    condition = browser.find_element(By.ID, "trigger_condition")
    condition.send_keys('event.payload.kind == ')
    wait(browser).until(lambda d: "Line 1, column" in check_text(d))
    assert browser.find_element(By.CSS_SELECTOR, "#trigger_condition-check pre").text.endswith("^")
    screenshot(browser, "workflow-condition-error")

    condition.send_keys('"person"')
    wait(browser).until(lambda d: "valid" in check_text(d) and "column" not in check_text(d))

    Select(browser.find_element(By.ID, "step-0-action")).select_by_value("core.update_party")
    browser.find_element(By.ID, "step-0-params").send_keys("add_tags: [welcome]")
    browser.find_element(By.ID, "permissions").send_keys("core.party.update: tenant" + Keys.ENTER)
    browser.find_element(By.ID, "save-workflow").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".flashes"), "version 1"))

    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        workflow = session.scalar(select(Workflow).where(Workflow.name == "Welcome new parties"))
        definition = service.version_of(session, workflow).definition
    assert definition["trigger"] == {"kind": "event", "event": "core.party.created",
                                     "condition": 'event.payload.kind == "person"'}
    assert definition["steps"][0]["params"] == {"add_tags": ["welcome"]}
