"""In a real headless Chromium: the relationship map of a party's page, drawn by cytoscape.js.

Same set-up as ``tests/test_ui_browser.py``; the screenshot goes to ``build/screenshots/party-graph.png``.
"""

from __future__ import annotations

import pytest
import ui_world
from browser_testing import screenshot, served, sign_in, wait
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC

from xrm_core.graph.models import Party
from xrm_core.graph.service import define_relationship_type, relate


@pytest.fixture
def world(world_platform):
    """Zenith --employs--> Alice --knows-- Sales contact 00, and Zenith --knows-- Support Secret Ltd."""
    world = ui_world.build(world_platform)
    with world_platform.db.transaction(world.tenant_id) as session:
        define_relationship_type(session, "knows", "knows", symmetric=True)
        relate(session, session.get(Party, world.parties["Alice Martin"]),
               session.get(Party, world.parties["Sales contact 00"]), "knows")
        relate(session, session.get(Party, world.parties["Zenith Industries"]),
               session.get(Party, world.parties["Support Secret Ltd"]), "knows")
    return world


@pytest.fixture
def server(world_platform, world):
    with served(world_platform) as base:
        yield base


def drawn(driver) -> list[str]:
    """The names of the parties cytoscape has drawn (none before it has)."""
    return driver.execute_script(
        "return window.xrmPartyGraph ? window.xrmPartyGraph.nodes().map(n => n.data('label')).sort() : []")


def test_the_party_page_draws_the_map_filters_it_and_opens_a_clicked_party(server, browser, world):
    sign_in(browser, server, "sam@acme.test")
    browser.get(f"{server}/parties/{world.parties['Zenith Industries']}")

    wait(browser).until(lambda d: len(drawn(d)) == 3)
    assert drawn(browser) == ["Alice Martin", "Sales contact 00", "Zenith Industries"]
    assert browser.execute_script("return window.xrmPartyGraph.edges().map(e => e.data('label')).sort()") == [
        "employs", "knows"]
    assert browser.find_element(By.ID, "party-graph-canvas").find_elements(By.TAG_NAME, "canvas")
    browser.execute_script("document.getElementById('party-graph').scrollIntoView()")
    screenshot(browser, "party-graph")

    browser.find_element(By.CSS_SELECTOR, "#party-graph input[name=type][value=employs]").click()
    wait(browser).until(lambda d: drawn(d) == ["Alice Martin", "Zenith Industries"])
    rows = browser.execute_script("return document.querySelectorAll('#party-graph-edges tr').length")
    assert rows == 1
    assert "type=employs" in browser.current_url

    # A click on Alice's node opens her page.
    x, y = browser.execute_script(
        "const p = window.xrmPartyGraph.$(\"node[label = 'Alice Martin']\").renderedPosition(); return [p.x, p.y]")
    canvas = browser.find_element(By.ID, "party-graph-canvas")
    ActionChains(browser).move_to_element_with_offset(
        canvas, int(x - canvas.size["width"] / 2), int(y - canvas.size["height"] / 2)).click().perform()
    wait(browser).until(EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Alice Martin"))
