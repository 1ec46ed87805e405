"""The hook specs are the public contract: each is documented, and each has a test.

``test_every_hook_has_a_test`` fails when a spec is added without a ``test_hook_<name>`` (here, or
where the hook is exercised for real: the SDK's tests or a first-party plugin's).
"""

import ast
import inspect
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from packaging.version import Version
from sqlalchemy import func, select
from xrm_fx_notes.plugin import Note

from xrm_core import contributions as c
from xrm_core import hookspecs, manifests, migrate, tenants
from xrm_core.app import create_app
from xrm_core.cli import cli
from xrm_core.errors import PluginError
from xrm_core.models import Tenant

SPECS = {name: fn for name, fn in vars(hookspecs).items() if name.startswith("xrm_") and callable(fn)}


def test_hook_specs_are_named_and_documented():
    assert len(SPECS) >= 19
    Version(hookspecs.HOOKSPEC_VERSION)
    for name, spec in SPECS.items():
        doc = inspect.getdoc(spec) or ""
        assert hasattr(spec, "xrm_spec"), f"{name} is not marked as a hook spec"
        assert "Called " in doc, f"{name}: say when it is called"
        assert ":returns:" in doc or spec.__annotations__.get("return") == "None", f"{name}: say what it returns"
        assert ".. versionadded::" in doc, f"{name}: say since which version it exists"
        for param in inspect.signature(spec).parameters:
            assert f":param {param}:" in doc, f"{name}: document the argument {param!r}"


def test_every_hook_has_a_test():
    """A ``test_hook_<name>`` in the core's, the SDK's or a first-party plugin's tests."""
    root = Path(__file__).parents[1]
    tested = set()
    for path in [*(root / "tests").rglob("test_*.py"), *(root / "sdk" / "tests").rglob("test_*.py"),
                 *(root / "plugins").glob("*/tests/test_*.py")]:
        tree = ast.parse(path.read_text())
        tested |= {node.name.removeprefix("test_hook_") for node in ast.walk(tree)
                   if isinstance(node, ast.FunctionDef) and node.name.startswith("test_hook_")}
    assert set(SPECS) - tested == set()


@pytest.fixture
def kitchen(make_platform):
    platform = make_platform("notes", "tasks", "kitchen", "rival")
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        tenant = tenants.create_tenant(session, "acme", "ACME")
        for plugin in ("tasks", "kitchen"):
            tenants.enable_plugin(platform, session, tenant, plugin)
    return platform, tenant


def _names(pairs):
    return [(plugin, value.name) for plugin, value in pairs]


def test_hook_xrm_models(platform):
    assert [t.name for t in platform.plugin_tables("notes")] == ["notes_notes"]
    assert [t.name for t in platform.plugin_tables("tasks")] == ["tasks_tasks"]


def test_hook_xrm_migrations(platform):
    folders = migrate.branches(platform)
    assert list(folders) == ["core", "notes", "tasks"]
    assert folders["notes"].parent.name == "xrm_fx_notes"


def test_hook_xrm_blueprints(app):
    rules = {rule.rule: rule.endpoint for rule in app.url_map.iter_rules()}
    assert rules["/notes/"] == "notes.list_notes"
    assert rules["/api/tasks/count"] == "tasks_api.count"


def test_hook_xrm_permissions(platform):
    assert _names(platform.contributed("xrm_permissions", c.Permission)) == [
        ("notes", "notes.note.read"), ("notes", "notes.note.create")]
    assert c.Permission("notes.note.fly").check("notes").startswith("permission 'notes.note.fly' must be")


def test_hook_xrm_party_roles(kitchen, caplog):
    platform, _ = kitchen
    with caplog.at_level(logging.ERROR):
        roles = _names(platform.contributed("xrm_party_roles", c.PartyRole))
    assert roles == [("kitchen", "customer"), ("kitchen", "supplier"), ("rival", "partner")]
    assert "'customer' is already contributed by kitchen" in caplog.text


def test_hook_xrm_relationship_types(kitchen):
    platform, _ = kitchen
    [(plugin, employs)] = platform.contributed("xrm_relationship_types", c.RelationshipType)
    assert (plugin, employs.forward_label, employs.inverse_label) == ("kitchen", "employs", "works for")


def test_hook_xrm_event_types(kitchen):
    platform, _ = kitchen
    assert _names(platform.contributed("xrm_event_types", c.EventType)) == [("kitchen", "kitchen.order.placed")]


def test_hook_xrm_event_handlers(kitchen):
    platform, _ = kitchen
    [(_, handler)] = platform.contributed("xrm_event_handlers", c.EventHandler)
    assert handler.pattern == "*.order.*" and callable(handler.handle)


def test_hook_xrm_workflow_triggers(kitchen):
    platform, _ = kitchen
    assert _names(platform.contributed("xrm_workflow_triggers", c.WorkflowTrigger)) == [("kitchen", "kitchen.fridge_empty")]


def test_hook_xrm_workflow_actions(kitchen):
    platform, _ = kitchen
    [(_, action)] = platform.contributed("xrm_workflow_actions", c.WorkflowAction)
    assert action.params().load({"items": ["eggs"]}) == {"items": ["eggs"]}


def test_hook_xrm_import_export_formats(kitchen):
    platform, _ = kitchen
    [(_, fmt)] = platform.contributed("xrm_import_export_formats", c.DataFormat)
    assert (fmt.name, fmt.extension) == ("kitchen.recipes_csv", "csv")


def _cli(platform, *args, **kwargs):
    info = ScriptInfo(create_app=lambda: create_app(platform=platform))
    return CliRunner().invoke(cli, list(args), obj=info, **kwargs)


def test_hook_xrm_cli_commands(platform):
    result = _cli(platform, "notes", "count")
    assert result.exit_code == 0, result.output
    assert result.output == "notes: ok\n"
    assert "Commands of the Notes plugin." in _cli(platform, "notes", "--help").output


def test_hook_xrm_settings_schema(platform):
    with platform.db.transaction(all_tenants=True) as session:
        manifests.apply(platform, session, {"tenant": "acme", "plugins": {"notes": {"settings": {"label": "Memos"}}}})
        row = tenants.plugin_states(session, tenants.get_tenant(session, "acme"))["notes"]
        assert row.settings == {"label": "Memos", "max_length": 500}


def test_hook_xrm_tenant_setup(kitchen):
    platform, acme = kitchen
    with platform.db.session(acme.id) as session:
        assert session.scalars(select(Note.text)).all() == ["Welcome"]  # notes' setup ran when tasks pulled it in
    with platform.db.transaction(all_tenants=True) as session:
        tenant = session.get(Tenant, acme.id)
        tenants.disable_plugin(platform, session, tenant, "tasks")
        tenants.disable_plugin(platform, session, tenant, "notes")
        tenants.enable_plugin(platform, session, tenant, "notes")
    with platform.db.session(acme.id) as session:
        assert session.scalar(select(func.count()).select_from(Note)) == 1  # setup is idempotent

    with pytest.raises(PluginError, match="plugin 'kitchen' failed to set up tenant 'cursed': this tenant cannot cook"):
        with platform.db.transaction(all_tenants=True) as session:
            cursed = tenants.create_tenant(session, "cursed", "Cursed")
            tenants.enable_plugin(platform, session, cursed, "kitchen")
    with platform.db.session(all_tenants=True) as session:
        assert session.scalar(select(Tenant).where(Tenant.slug == "cursed")) is None


def test_hook_xrm_demo_data(platform):
    result = _cli(platform, "demo")
    assert result.exit_code == 0, result.output
    with platform.db.session(all_tenants=True) as session:
        demo = tenants.get_tenant(session, "demo")
    with platform.db.session(demo.id) as session:
        assert sorted(session.scalars(select(Note.text))) == ["Call ACME back", "Send the catalogue", "Welcome"]
        assert platform.enabled_plugins(session) == ["notes", "tasks"]


def test_hook_xrm_navigation(kitchen):
    platform, acme = kitchen
    with platform.db.session(acme.id) as session:
        assert _names(platform.contributions_for_tenant("xrm_navigation", c.NavEntry, acme, session)) == [
            ("notes", "notes.list"), ("tasks", "tasks.board")]
        tenant = session.get(Tenant, acme.id)
    with platform.db.transaction(all_tenants=True) as session:
        tenants.disable_plugin(platform, session, session.get(Tenant, acme.id), "tasks")
    with platform.db.session(acme.id) as session:
        assert _names(platform.contributions_for_tenant("xrm_navigation", c.NavEntry, tenant, session)) == [
            ("notes", "notes.list")]


def test_hook_xrm_party_panels(kitchen):
    platform, acme = kitchen
    with platform.db.session(acme.id) as session:
        [(_, panel)] = platform.contributions_for_tenant("xrm_party_panels", c.Panel, acme, session, party="Bob")
    assert (panel.title, panel.render("Bob")) == ("Orders of Bob", "<p>Bob</p>")


def test_hook_xrm_dashboard_widgets(kitchen):
    platform, acme = kitchen
    with platform.db.session(acme.id) as session:
        [(_, widget)] = platform.contributions_for_tenant("xrm_dashboard_widgets", c.DashboardWidget, acme, session)
    assert widget.title == "Stock of acme"


def test_hook_xrm_search(kitchen):
    platform, acme = kitchen
    with platform.db.session(acme.id) as session:
        hits = platform.contributions_for_tenant("xrm_search", c.SearchHit, acme, session, query="soup", limit=2)
    assert [(hit.name, hit.title) for _, hit in hits] == [("kitchen.recipe.0", "soup recipe 0"), ("kitchen.recipe.1", "soup recipe 1")]
