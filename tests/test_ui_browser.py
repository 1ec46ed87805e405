"""The web UI in a real headless Chromium (Debian's chromium and chromedriver, driven by Selenium).

The application runs on a loopback port in a thread, against the test database, exactly as a
browser sees it: real cookies, CSRF tokens, htmx requests. Screenshots of the main pages go to
``build/screenshots/`` (ignored by git) for a person to look at. Without Chromium these tests fail
(``scripts/chromium.sh`` installs it; the test command runs it).
"""

from __future__ import annotations

import pytest
from browser_testing import screenshot, served, sign_in, wait
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select


@pytest.fixture
def server(world_platform, world):
    with served(world_platform) as base:
        yield base


def party_names(driver) -> list[str]:
    """The names in the results table, read in one go (htmx may swap the table at any moment)."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#party-results tr[data-party-id] td:first-child a'),"
        " a => a.textContent.trim())")


def idle(driver) -> bool:
    """Whether no htmx request is in flight (htmx marks the requesting element while one is)."""
    return driver.execute_script("return document.querySelectorAll('.htmx-request').length === 0")



def test_sign_in_navigate_filter_sort_and_page_through_parties(server, browser):
    sign_in(browser, server, "sam@acme.test")

    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=tenant-name]").text == "ACME Corporation"
    assert browser.find_element(By.CSS_SELECTOR, "[data-testid=department-name]").text == "Sales"
    main_nav = [a.text for a in browser.find_elements(By.CSS_SELECTOR, "nav[aria-label=Main] a")]
    assert main_nav == ["Tickets", "Notes"]

    browser.find_element(By.LINK_TEXT, "Parties").click()
    wait(browser).until(lambda d: len(party_names(d)) == 25)
    assert party_names(browser)[:2] == ["Alice Martin", "Sales contact 00"]
    screenshot(browser, "party-list")

    # htmx: typing in the filter replaces only the results, and the address follows
    browser.find_element(By.ID, "filter-q").send_keys("contact 1")
    wait(browser).until(lambda d: party_names(d) == [f"Sales contact 1{n}" for n in range(10)])
    assert "q=contact%201" in browser.current_url

    # sort by clicking the name column's heading: it was ascending, it becomes descending
    browser.find_element(By.ID, "filter-q").clear()
    wait(browser).until(lambda d: idle(d) and "q=contact" not in d.current_url)
    Select(browser.find_element(By.ID, "filter-kind")).select_by_value("person")
    wait(browser).until(lambda d: idle(d) and "kind=person" in d.current_url)
    browser.find_element(By.CSS_SELECTOR, "#party-results th a").click()
    wait(browser).until(lambda d: party_names(d)[:1] == ["Sales contact 29"])

    # keyset pages: the next page continues after the last row, without repeating one
    first_page = party_names(browser)
    browser.find_element(By.CSS_SELECTOR, "a[rel=next]").click()
    wait(browser).until(lambda d: party_names(d) and party_names(d)[0] != first_page[0])
    second_page = party_names(browser)
    assert second_page == ["Sales contact 04", "Sales contact 03", "Sales contact 02", "Sales contact 01",
                           "Sales contact 00", "Alice Martin"]
    assert not set(first_page) & set(second_page)


def test_global_search_suggests_as_you_type(server, browser):
    sign_in(browser, server, "sam@acme.test")

    browser.find_element(By.ID, "global-search").send_keys("Zeni")
    link = wait(browser).until(EC.element_to_be_clickable((By.CSS_SELECTOR, "#search-results a")))
    assert link.text.startswith("Zenith Industries")
    link.click()

    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Zenith Industries"))


def test_the_party_page_shows_roles_relationships_and_lazy_panels(server, browser, world):
    sign_in(browser, server, "sam@acme.test")
    browser.get(f"{server}/parties/{world.parties['Zenith Industries']}")

    summary = wait(browser).until(EC.visibility_of_element_located((By.CSS_SELECTOR, ".showcase-summary")))
    assert summary.text == "Showcase summary of Zenith Industries"
    broken = browser.find_element(By.CSS_SELECTOR, "[data-panel='showcase.broken']")
    wait(browser).until(lambda d: "could not be shown" in broken.text)
    assert "Customer" in browser.find_element(By.CSS_SELECTOR, "[aria-labelledby=roles-heading]").text
    relationships = browser.find_element(By.CSS_SELECTOR, "[aria-labelledby=relationships-heading]").text
    assert "employs" in relationships and "Alice Martin" in relationships
    screenshot(browser, "party-page")

    browser.find_element(By.LINK_TEXT, "Alice Martin").click()
    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Alice Martin"))
    assert "works for" in browser.find_element(By.CSS_SELECTOR, "[aria-labelledby=relationships-heading]").text


def test_create_a_party_after_a_validation_error(server, browser):
    sign_in(browser, server, "sam@acme.test")
    browser.get(f"{server}/parties")
    browser.find_element(By.LINK_TEXT, "New party").click()

    browser.find_element(By.ID, "identifier_value").send_keys("FR-77")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()

    error = wait(browser).until(EC.visibility_of_element_located((By.ID, "display_name-error")))
    assert error.text == "Enter a name."
    assert browser.find_element(By.ID, "display_name").get_attribute("aria-invalid") == "true"
    assert "Say which system" in browser.find_element(By.ID, "identifier_source-error").text
    assert browser.find_element(By.ID, "identifier_value").get_attribute("value") == "FR-77"
    screenshot(browser, "party-form-errors")

    Select(browser.find_element(By.ID, "kind")).select_by_value("organization")
    browser.find_element(By.ID, "display_name").send_keys("Initech")
    browser.find_element(By.ID, "identifier_source").send_keys("vat")
    Select(browser.find_element(By.ID, "role")).select_by_value("supplier")
    browser.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()

    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Initech"))
    assert "Initech was created." in browser.find_element(By.CSS_SELECTOR, ".flashes").text
    assert "FR-77" in browser.find_element(By.CSS_SELECTOR, "dl.facts").text


def test_switch_the_interface_to_french(server, browser):
    sign_in(browser, server, "sam@acme.test")
    browser.get(f"{server}/parties")
    ActionChains(browser).send_keys(Keys.TAB).perform()
    assert browser.switch_to.active_element.text == "Skip to content"  # the first stop of the keyboard

    Select(browser.find_element(By.ID, "locale")).select_by_value("fr")
    browser.find_element(By.CSS_SELECTOR, "form.language button").click()

    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Tiers"))
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    assert "Langue modifiée." in browser.find_element(By.CSS_SELECTOR, ".flashes").text
    assert browser.find_element(By.LINK_TEXT, "Nouveau tiers")
    screenshot(browser, "party-list-fr")


@pytest.mark.parametrize("email, tenant", [("pat@acme.test", "acme"), ("admin@globex.test", "globex")])
def test_a_party_of_another_department_or_tenant_is_not_found(server, browser, world, email, tenant):
    sign_in(browser, server, email, tenant)

    browser.get(f"{server}/parties/{world.parties['Zenith Industries']}")

    assert browser.find_element(By.TAG_NAME, "h1").text == "404 Not Found"
    assert "Zenith" not in browser.page_source
    browser.get(f"{server}/parties?q=Zenith")
    assert party_names(browser) == []


def test_a_department_view_saved_after_htmx_filtering_is_shared_with_colleagues_only(server, browser):
    sign_in(browser, server, "sam@acme.test")
    browser.get(f"{server}/parties")
    Select(browser.find_element(By.ID, "filter-role")).select_by_value("prospect")
    wait(browser).until(lambda d: idle(d) and party_names(d) == ["Alice Martin"])

    browser.find_element(By.ID, "view-name").send_keys("Prospects")
    Select(browser.find_element(By.ID, "view-scope")).select_by_value("department")
    browser.find_element(By.CSS_SELECTOR, "#save-view-form button").click()

    wait(browser).until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".flashes"), "View Prospects saved."))
    assert party_names(browser) == ["Alice Martin"]

    browser.delete_all_cookies()
    sign_in(browser, server, "sue@acme.test")
    browser.get(f"{server}/parties")
    browser.find_element(By.LINK_TEXT, "Prospects").click()
    wait(browser).until(lambda d: "role=prospect" in d.current_url)
    assert party_names(browser) == ["Alice Martin"]

    browser.delete_all_cookies()
    sign_in(browser, server, "pat@acme.test")
    browser.get(f"{server}/parties")
    assert browser.find_elements(By.LINK_TEXT, "Prospects") == []
