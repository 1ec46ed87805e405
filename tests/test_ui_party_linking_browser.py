"""In a real headless Chromium: create a person and an organization, link them from the party page
(the other party found by the htmx search), and see the new edge in the relationship map.

Same set-up as ``tests/test_ui_browser.py``; the screenshot goes to ``build/screenshots/party-linked.png``.
"""

from __future__ import annotations

import pytest
import ui_world
from browser_testing import screenshot, served, sign_in, wait
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select

from xrm_core import migrate, tenants
from xrm_core.graph.service import define_relationship_type
from xrm_core.identity.bootstrap import ensure_administrator


@pytest.fixture
def server(make_platform):
    """Tenant ``acme`` with its administrator and the "employs" / "works for" type, nothing else."""
    platform = make_platform()
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, "acme", "ACME Corporation").id
    with platform.db.transaction(tenant_id) as session:
        ensure_administrator(session, platform, "admin@acme.test", ui_world.PASSWORD, "Ada Admin")
        define_relationship_type(session, "employs", "employs", "works for")
    with served(platform) as base:
        yield base


def create_party(driver, base: str, kind: str, name: str) -> str:
    """Fill the new-party form; the URL of the created party's page."""
    driver.get(f"{base}/parties/new")
    Select(driver.find_element(By.ID, "kind")).select_by_value(kind)
    driver.find_element(By.ID, "display_name").send_keys(name)
    driver.find_element(By.CSS_SELECTOR, "form.record-form button[type=submit]").click()
    wait(driver).until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), name))
    return driver.current_url


def test_two_new_parties_are_linked_and_the_map_shows_the_edge(server, browser):
    sign_in(browser, server, "admin@acme.test")
    initech = create_party(browser, server, "organization", "Initech")
    peter = create_party(browser, server, "person", "Peter Gibbons")

    browser.find_element(By.CSS_SELECTOR, "#link-party summary").click()
    Select(browser.find_element(By.ID, "link-type")).select_by_visible_text("works for")
    browser.find_element(By.ID, "link-search-input").send_keys("Init")
    candidate = wait(browser).until(EC.element_to_be_clickable(
        (By.CSS_SELECTOR, "#link-candidates input[name=other_party_id]")))
    assert [label.text for label in browser.find_elements(By.CSS_SELECTOR, "#link-candidates label")] == [
        "Initech Organization"]
    candidate.click()
    browser.find_element(By.ID, "link-submit").click()

    wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "Peter Gibbons works for Initech"))
    assert browser.current_url.split("#")[0] == peter
    wait(browser).until(lambda d: d.execute_script(
        "return window.xrmPartyGraph ? window.xrmPartyGraph.edges().length : 0") == 1)
    edge = browser.execute_script(
        "const e = window.xrmPartyGraph.edges()[0];"
        "return [e.source().data('label'), e.data('label'), e.target().data('label')]")
    assert edge == ["Initech", "employs", "Peter Gibbons"]
    # the accessible list beside the map (folded away once the map is drawn)
    assert [[cell.get_attribute("textContent").strip() for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in browser.find_elements(By.CSS_SELECTOR, "#party-graph-edges tr")] == [
        ["Initech", "employs", "Peter Gibbons"]]
    browser.execute_script("document.getElementById('relationships-heading').scrollIntoView()")
    screenshot(browser, "party-linked")
    assert initech.rsplit("/", 1)[1] in browser.find_element(
        By.CSS_SELECTOR, "#relationships-heading + table a").get_attribute("href")
