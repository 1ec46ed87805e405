"""What the browser tests share: headless Chromium, the application on a loopback port, sign-in.

Loaded as a pytest plugin by ``tests/conftest.py`` (the ``browser`` fixture); the helpers are
imported by the test modules. Debian's chromium and chromedriver are driven by Selenium; without
them the tests fail (``scripts/chromium.sh`` installs them; the test command runs it).
Screenshots go to ``build/screenshots/`` (ignored by git) for a person to look at.
"""

from __future__ import annotations

import shutil
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
import ui_world
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait
from werkzeug.serving import make_server

from xrm_core.app import create_app

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = Path(__file__).parents[2] / "build" / "screenshots"
WAIT_SECONDS = 15


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
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-GB,en"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


@contextmanager
def served(platform):
    """The application on a free loopback port, served by werkzeug in a thread; yields its base URL."""
    httpd = make_server("127.0.0.1", 0, create_app(platform=platform), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(5)


def wait(driver):
    # htmx may swap an element between finding it and reading it; the condition is simply retried
    return WebDriverWait(driver, WAIT_SECONDS, ignored_exceptions=(StaleElementReferenceException,))


def sign_in(driver, base: str, email: str, tenant: str = "acme") -> None:
    driver.get(f"{base}/login")
    driver.find_element(By.ID, "tenant").send_keys(tenant)
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(ui_world.PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait(driver).until(EC.presence_of_element_located((By.CSS_SELECTOR, "[data-testid=tenant-name]")))


def screenshot(driver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))
