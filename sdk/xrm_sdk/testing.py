"""pytest plugin for plugin authors: real platforms, databases and tenants, plus a conformance kit.

Loaded automatically (``pytest11`` entry point) once ``xrm-sdk`` is installed. Choose the plugins a
test loads with the ``xrm_plugins`` ini option or ``@pytest.mark.xrm_plugins("sales")``; the
plugins they require are added. Every test gets a fresh database: SQLite in a temporary folder, or
a new PostgreSQL database on the server ``XRM_TEST_DATABASE_URL`` points to.

Fixtures: ``xrm_platform``, ``xrm_tenant``, ``xrm_session``, ``xrm_app``, ``xrm_client`` (an
administrator), ``xrm_login`` (a client with given permissions), ``xrm_events`` (what was published);
``xrm_plugin_path`` and ``xrm_database_url`` can be overridden. sdk/GUIDE.md describes each.

Time and delivery are in the test's hands:

* ``xrm_clock`` freezes the platform's clock (``xrm.utcnow()``, workflow timers, schedules, periodic
  jobs' ``now``) for the test: ``xrm_clock.set(datetime(2026, 3, 27, 9, tzinfo=UTC))``,
  ``xrm_clock.advance(hours=4)`` (or a ``timedelta``), ``xrm_clock.now()``; the real clock is back
  after the test.
* ``xrm_deliver_events()`` delivers every committed, pending event now, in the test's thread,
  through the platform's real dispatcher code (subscribers, plugin handlers, workflows, retries
  that are due at the clock's time); it returns when nothing more is due. No thread runs in tests
  otherwise: an event a test does not deliver is not handled.
* ``xrm_run_periodic_jobs()`` runs every periodic job once now (``xrm_run_periodic_jobs("sales.reminders")``
  only the named ones), e.g. after ``xrm_clock.advance(...)``.

A plugin's ``tests/test_contract.py`` is usually just::

    from xrm_sdk.testing import PluginContractTests

    class TestContract(PluginContractTests):
        plugin = "sales"
"""

from __future__ import annotations

import os
import tomllib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask.testing import FlaskClient
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from xrm_core import clock, contributions, migrate, tenants
from xrm_core.app import create_app
from xrm_core.config import load_settings
from xrm_core.db import Model
from xrm_core.events import schedule, signals
from xrm_core.events.bus import get_bus
from xrm_core.events.envelope import Event
from xrm_core.identity import admin
from xrm_core.identity.bootstrap import ensure_administrator
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Department, Scope
from xrm_core.identity.tokens import create_token
from xrm_core.models import Tenant, User
from xrm_core.platform import Platform
from xrm_core.plugins.discovery import discover

#: Contribution hooks whose values must be named after the plugin, and the type they return.
NAMED_HOOKS = {
    "xrm_permissions": contributions.Permission,
    "xrm_event_types": contributions.EventType,
    "xrm_event_handlers": contributions.EventHandler,
    "xrm_workflow_triggers": contributions.WorkflowTrigger,
    "xrm_workflow_actions": contributions.WorkflowAction,
    "xrm_workflow_functions": contributions.WorkflowFunction,
    "xrm_import_export_formats": contributions.DataFormat,
    "xrm_periodic_jobs": contributions.PeriodicJob,
}
TEST_TENANT = "test"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("xrm_plugins", "installed XRM plugins the tests load (their requirements are added)", type="args")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "xrm_plugins(*names): load these installed XRM plugins for this test")


@pytest.fixture
def xrm_plugin_path() -> list[str] | None:
    """Folders searched for installed plugins; ``None`` means ``sys.path`` (override to isolate)."""
    return None


@contextmanager
def fresh_database_url() -> Iterator[str]:
    """A fresh, empty database while the block runs: on the PostgreSQL server of
    ``XRM_TEST_DATABASE_URL`` (dropped afterwards), else ``''`` (SQLite in the instance folder)."""
    server = os.environ.get("XRM_TEST_DATABASE_URL")
    if not server:
        yield ""
        return
    name = f"xrm_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def xrm_database_url() -> Iterator[str]:
    """A fresh, empty database for this test (``''`` means SQLite in the instance folder)."""
    with fresh_database_url() as url:
        yield url


def _wanted_plugins(request: pytest.FixtureRequest) -> list[str]:
    marker = request.node.get_closest_marker("xrm_plugins")
    if marker:
        return list(marker.args)
    own = getattr(request.cls, "plugin", None)
    if own:
        return [own]
    return list(request.config.getini("xrm_plugins")) or _plugins_of_own_project(request.node.path)


def _plugins_of_own_project(test_file: Path) -> list[str]:
    """The ``xrm_plugins`` option of the nearest ``pyproject.toml`` above ``test_file``.

    pytest reads only one configuration file, the one of the folder it was started from; a workspace
    that runs every plugin's tests from its root would otherwise load no plugin for them.
    """
    for folder in test_file.parents:
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            options = tomllib.loads(candidate.read_text()).get("tool", {}).get("pytest", {})
            return list(options.get("ini_options", {}).get("xrm_plugins", []))
    return []


@pytest.fixture
def xrm_platform(request, tmp_path, xrm_database_url, xrm_plugin_path) -> Iterator[Platform]:
    """A migrated platform with the chosen plugins (and what they require) installed."""
    installed = {info.name: info for info in discover(xrm_plugin_path)}
    chosen: dict[str, object] = {}
    pending = _wanted_plugins(request)
    while pending:
        name = pending.pop()
        if name in chosen:
            continue
        if name not in installed:
            pytest.fail(f"plugin {name!r} is not installed (installed: {', '.join(sorted(installed)) or 'none'})")
        chosen[name] = installed[name]
        pending.extend(installed[name].requires)
    settings = load_settings(environ={}, instance_path=tmp_path / "instance", database_url=xrm_database_url)
    platform = Platform(settings, plugins=list(chosen.values()))
    if platform.refused:
        pytest.fail("; ".join(f"plugin {name} refused: {why}" for name, why in platform.refused.items()))
    migrate.upgrade(platform)
    get_bus(platform)  # so that publishing works outside requests too (workflow actions, services)
    yield platform
    platform.db.dispose()


@pytest.fixture
def xrm_tenant(xrm_platform) -> Tenant:
    """The tenant ``test``, with every loaded plugin enabled."""
    with xrm_platform.db.transaction(all_tenants=True) as session:
        tenant = tenants.create_tenant(session, TEST_TENANT, "Test tenant")
        for name in xrm_platform.plugins:
            tenants.enable_plugin(xrm_platform, session, tenant, name)
    return tenant


@pytest.fixture
def xrm_session(xrm_platform, xrm_tenant) -> Iterator[Session]:
    """A session scoped to the test tenant; commit explicitly to make changes visible to requests."""
    with xrm_platform.db.session(xrm_tenant.id) as session:
        yield session


@pytest.fixture
def xrm_app(xrm_platform):
    app = create_app(platform=xrm_platform)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def xrm_client(xrm_platform, xrm_app, xrm_tenant) -> FlaskClient:
    """A test client whose requests are made by an administrator of the test tenant."""
    client = xrm_app.test_client()
    headers = administrator_headers(xrm_platform, xrm_tenant.id)
    client.environ_base["HTTP_AUTHORIZATION"] = headers["Authorization"]
    return client


@pytest.fixture
def xrm_login(xrm_platform, xrm_app, xrm_tenant):
    """A factory: ``xrm_login("sales.deal.read", scope="own")`` is a client of a new user with a role
    granting exactly those permissions at that scope (``own``, ``department``, ``subtree``, ``tenant``).
    ``department="Sales North"`` puts the user in that top-level department (created when missing).
    """

    def login(*permissions: str, scope: str = "tenant", department: str | None = None) -> FlaskClient:
        with xrm_platform.db.transaction(xrm_tenant.id) as session:
            name = f"user-{uuid.uuid4().hex[:8]}"
            role = admin.define_role(session, name, {p: Scope(scope) for p in permissions},
                                     set(all_permissions(xrm_platform)))
            user = User(email=f"{name}@{TEST_TENANT}.example", display_name=name, password_hash="")
            if department is not None:
                found = session.scalar(select(Department).where(Department.name == department,
                                                                Department.parent_id.is_(None)))
                user.department_id = (found or admin.create_department(session, department)).id
            session.add(user)
            session.flush()
            admin.assign_role(session, user, role)
            _, token = create_token(session, user, "tests")
        client = xrm_app.test_client()
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        return client

    return login


@pytest.fixture
def xrm_events() -> Iterator[list[Event]]:
    """The domain events published during the test, in order (as ``publish`` sent them, before commit)."""
    published: list[Event] = []

    def capture(_session, event: Event, **_kwargs) -> None:
        published.append(event)

    signals.connect(None, capture)
    yield published
    signals.disconnect(None, capture)


class TestClock:
    """The platform's clock, held by a test (the ``xrm_clock`` fixture)."""

    def now(self) -> datetime:
        """The frozen moment (UTC)."""
        return clock.now()

    def set(self, moment: datetime) -> datetime:
        """Put the clock at ``moment`` (timezone-aware); return it in UTC."""
        return clock.freeze(moment)

    def advance(self, delta: timedelta | None = None, **units: float) -> datetime:
        """Move the clock forward by ``delta`` or by ``days=…, hours=…, minutes=…, seconds=…``."""
        return clock.advance((delta or timedelta()) + timedelta(**units))


@pytest.fixture
def xrm_clock() -> Iterator[TestClock]:
    """The platform's clock, frozen at the moment the test starts; set and advance it at will."""
    with clock.frozen():
        yield TestClock()


@pytest.fixture
def xrm_deliver_events(xrm_platform):
    """``xrm_deliver_events()``: deliver every pending event now, in this thread, with the real dispatcher."""

    def deliver(timeout: float = 30.0) -> None:
        get_bus(xrm_platform).run_until_idle(timeout)

    return deliver


@pytest.fixture
def xrm_run_periodic_jobs(xrm_platform):
    """``xrm_run_periodic_jobs(*names)``: run the periodic jobs once now (all of them without names).

    Returns ``{name: result}``; a job that raises fails the test (in production it is only logged).
    """

    def run(*names: str) -> dict[str, object]:
        bus = get_bus(xrm_platform)
        return {name: schedule.run_job(bus, name) for name in names or schedule.jobs_for(bus)}

    return run


def administrator_headers(platform: Platform, tenant_id: int) -> dict[str, str]:
    """Request headers authenticating as a new administrator of the tenant (a bearer token)."""
    with platform.db.transaction(tenant_id) as session:
        email = f"admin-{uuid.uuid4().hex[:8]}@{TEST_TENANT}.example"
        user = ensure_administrator(session, platform, email, None, "Test administrator")
        _, token = create_token(session, user, "tests")
    return {"Authorization": f"Bearer {token}"}


class PluginContractTests:
    """Checks every plugin must pass; subclass it and set ``plugin``.

    Like Tryton's ``ModuleTestCase``: the platform's rules, tested for free in each plugin's suite.
    """

    #: The plugin's entry-point name.
    plugin: str = ""

    def test_plugin_loads(self, xrm_platform):
        assert self.plugin in xrm_platform.plugins, xrm_platform.refused.get(self.plugin, "not loaded")

    def test_contributions_are_named_after_the_plugin(self, xrm_platform):
        problems = []
        for hook, kind in NAMED_HOOKS.items():
            for name, values in xrm_platform.host.call(hook, only=[self.plugin]):
                for value in values if isinstance(values, (list, tuple)) else [values]:
                    problem = (value.check(name) if isinstance(value, kind)
                               else f"returned {value!r}, not a {kind.__name__}")
                    if problem:
                        problems.append(f"{hook}: {problem}")
        assert problems == []

    def test_tables_match_the_migrations(self, xrm_platform):
        tables = {t.name for t in xrm_platform.plugin_tables(self.plugin)}
        with xrm_platform.db.engine.connect() as connection:
            differences = [
                diff for diff in compare_metadata(MigrationContext.configure(connection), Model.metadata)
                if _table_of(diff) in tables
            ]
        assert differences == [], "the models and the migrations disagree"

    def test_migrations_go_down_to_base_and_up_again(self, xrm_platform):
        tables = {t.name for t in xrm_platform.plugin_tables(self.plugin)}
        if self.plugin not in migrate.branches(xrm_platform):
            assert tables == set(), "the plugin has tables but no migrations"
            return
        migrate.downgrade(xrm_platform, self.plugin)
        assert not tables & set(inspect(xrm_platform.db.engine).get_table_names())
        migrate.upgrade(xrm_platform)
        assert tables <= set(inspect(xrm_platform.db.engine).get_table_names())

    def test_enabling_disabling_and_demo_data(self, xrm_platform, xrm_tenant):
        with xrm_platform.db.transaction(xrm_tenant.id) as session:
            xrm_platform.host.call_plugin(self.plugin, "xrm_demo_data", tenant=xrm_tenant, session=session)
        with xrm_platform.db.transaction(all_tenants=True) as session:
            tenant = session.get(Tenant, xrm_tenant.id)
            for name in reversed(list(xrm_platform.plugins)):
                if name == self.plugin or self.plugin in xrm_platform.plugins[name].requires:
                    tenants.disable_plugin(xrm_platform, session, tenant, name)
            assert tenants.enable_plugin(xrm_platform, session, tenant, self.plugin) == [self.plugin]


def _table_of(diff) -> str:
    """The table an Alembic autogenerate difference is about."""
    if isinstance(diff, list):  # column modifications come grouped: (op, schema, table, column, …)
        diff = diff[0]
    operation, subject = diff[0], diff[1]
    if operation.endswith("_column") or operation.startswith("modify_"):
        return diff[2]
    if operation.endswith("_table"):
        return subject.name
    if operation.endswith("_fk"):
        return subject.parent.name
    return subject.table.name  # indexes and constraints
