"""In a real headless Chromium: drag a card on a board to another column (pointer events, driven by
Selenium's ActionChains), see it land and stay after a reload; a refused drag puts the card back
and says why. Same set-up as ``tests/test_ui_bulk_browser.py``; screenshots in ``build/screenshots/``.
"""

from __future__ import annotations

import board_world
import pytest
from browser_testing import screenshot, served, sign_in, wait
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from xrm_core import migrate


@pytest.fixture
def world_platform(make_platform):
    platform = make_platform(*board_world.PLUGINS)
    migrate.upgrade(platform)
    return platform


def card(driver, complaint_id):
    return driver.find_element(By.CSS_SELECTOR, f"[data-board-card='{complaint_id}']")


def column_of(driver, complaint_id) -> str:
    return card(driver, complaint_id).find_element(By.XPATH, "ancestor::*[@data-board-column]").get_attribute(
        "data-board-column")


def drag(driver, complaint_id, column):
    target = driver.find_element(By.CSS_SELECTOR, f"[data-board-column='{column}'] [data-board-cards]")
    title = card(driver, complaint_id).find_element(By.TAG_NAME, "strong")
    ActionChains(driver).click_and_hold(title).move_by_offset(10, 10).move_to_element(target).release().perform()


def test_a_card_dragged_to_another_column_lands_there_and_stays_after_a_reload(world_platform, browser):
    world, complaints = board_world.build(world_platform)
    late, broken = complaints["Late delivery"], complaints["Broken part"]
    with served(world_platform) as base:
        sign_in(browser, base, "sam@acme.test")
        browser.get(f"{base}/board/complaints")
        assert column_of(browser, late) == "new"

        drag(browser, late, "investigating")
        wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, "[data-board-notice]"),
                                                             "Moved to Investigating."))
        assert column_of(browser, late) == "investigating"
        screenshot(browser, "board-moved")
        assert board_world.stage_of(world_platform, world, late) == "investigating"
        browser.refresh()
        wait(browser).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-board]")))
        assert column_of(browser, late) == "investigating"

        drag(browser, broken, "resolved")  # refused: no resolution written yet
        refusal = (By.CSS_SELECTOR, "[data-board-refusal]")
        wait(browser).until(EC.visibility_of_element_located(refusal))
        assert browser.find_element(*refusal).text == (
            "Not moved: resolution: Write the resolution before resolving the complaint.")
        assert column_of(browser, broken) == "investigating"
        screenshot(browser, "board-refused")
    assert board_world.stage_of(world_platform, world, broken) == "investigating"
