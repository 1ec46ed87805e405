"""Fixtures for the core's tests: real databases and real plugin distributions.

``XRM_TEST_DATABASE_URL`` (set by the test command to a PostgreSQL server it started) makes every
test run on its own fresh PostgreSQL database; without it each test gets its own SQLite file.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from xrm_core import migrate
from xrm_core.app import create_app
from xrm_core.config import load_settings
from xrm_core.platform import Platform
from xrm_core.plugins.discovery import discover

FIXTURE_PLUGINS = Path(__file__).parent / "fixture_plugins"
sys.path.insert(0, str(FIXTURE_PLUGINS))

from plugin_dists import DISTS, Dist

pytest_plugins = ["pytester", "browser_testing", "ui_world_fixtures"]


@pytest.fixture
def database_url(xrm_database_url):
    """A fresh, empty database for this test: the SDK harness's, so both stay the same."""
    return xrm_database_url


@pytest.fixture
def make_platform(tmp_path, database_url):
    """Build a platform whose installed plugins are exactly the named fixture distributions.

    Several calls share one database and instance folder, like successive releases installed
    on the same server.
    """
    built: list[Platform] = []

    def make(*names: str | Dist, **settings) -> Platform:
        site = tmp_path / f"site-packages-{len(built)}"
        site.mkdir()
        for name in names:
            (DISTS[name] if isinstance(name, str) else name).write(site)
        config = load_settings(environ={}, instance_path=tmp_path / "instance", database_url=database_url, **settings)
        platform = Platform(config, plugins=discover(path=[str(site)]))
        built.append(platform)
        return platform

    yield make
    for platform in built:
        platform.db.dispose()


@pytest.fixture
def platform(make_platform) -> Platform:
    """A migrated platform with the notes and tasks plugins installed."""
    platform = make_platform("notes", "tasks")
    migrate.upgrade(platform)
    return platform


@pytest.fixture
def app(platform):
    app = create_app(platform=platform)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()
