"""The fixtures of the web UI's tests, shared: a migrated platform, :mod:`ui_world`'s tenant, its app.

Registered in ``tests/conftest.py`` (``pytest_plugins``). A module whose platform or world differs
(more plugins, the event bus running, extra data) defines its own ``world_platform`` or ``world``;
the others here follow it, since pytest resolves a fixture's dependencies from the test's module.

``world_app`` is the Flask app of that world. ``tests/conftest.py`` has an ``app`` of its own (the
notes and tasks platform) which wins over any plugin's, so a module whose tests ask for ``app``
names this one: ``app = ui_world_fixtures.world_app``.
"""

from __future__ import annotations

import pytest
import ui_world
from xrm_sdk.testing import fresh_database_url

from xrm_core import migrate
from xrm_core.app import create_app


@pytest.fixture
def world_platform(make_platform):
    """A migrated platform with the notes and showcase plugins (the event bus not started)."""
    platform = make_platform("notes", ui_world.SHOWCASE)
    migrate.upgrade(platform)
    return platform


@pytest.fixture
def world(world_platform):
    """:func:`ui_world.build`'s tenants, users and parties."""
    return ui_world.build(world_platform)


@pytest.fixture
def world_app(world_platform, world):
    """The app of the world's platform, in testing mode (the world built first)."""
    app = create_app(platform=world_platform)
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="module")
def module_database_url():
    """One fresh database for a module whose world is built once (its tests only add to it)."""
    with fresh_database_url() as url:
        yield url
