"""In a real headless Chromium: importing a CSV file through the import pages, from the navigation to the run."""

from __future__ import annotations

import pytest
from browser_testing import screenshot, served, sign_in, wait
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select
from sqlalchemy import select

from xrm_core.graph.models import Party


@pytest.fixture
def server(world_platform, world):
    with served(world_platform) as base:
        yield base


def test_a_csv_file_is_uploaded_mapped_checked_and_imported(server, browser, world_platform, world, tmp_path):
    people = tmp_path / "people.csv"
    people.write_text("Full name,E-mail\nAda Lovelace,ada@example.org\nGrace Hopper,grace@example.org\n", encoding="utf-8")
    sign_in(browser, server, "sam@acme.test")
    browser.find_element(By.ID, "import-link").click()
    browser.find_element(By.ID, "import-file").send_keys(str(people))
    Select(browser.find_element(By.ID, "import-target")).select_by_value("core.party")
    browser.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()

    wait(browser).until(EC.presence_of_element_located((By.ID, "column-mapping")))
    Select(browser.find_element(By.ID, "field-0")).select_by_value("display_name")
    Select(browser.find_element(By.ID, "field-1")).select_by_value("identifier.email")
    browser.find_element(By.ID, "dry-run-button").click()
    wait(browser).until(EC.presence_of_element_located((By.ID, "commit-button")))
    assert "2 to create" in browser.find_element(By.ID, "check-heading").text
    assert "Grace Hopper" in browser.find_element(By.ID, "preview").text
    screenshot(browser, "import-mapping")

    browser.find_element(By.ID, "commit-button").click()
    wait(browser).until(EC.presence_of_element_located((By.ID, "run-counts")))
    assert browser.find_element(By.CSS_SELECTOR, "[data-count=created]").text == "2"
    screenshot(browser, "import-run")
    with world_platform.db.session(world.tenant_id) as session:
        assert {"Ada Lovelace", "Grace Hopper"} <= set(session.scalars(select(Party.display_name)))
