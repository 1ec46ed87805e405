"""Tenant manifests: load, validate, apply (idempotent, all or nothing) and export."""

from __future__ import annotations

import pytest
import yaml
from sqlalchemy import func, select
from xrm_fx_notes.plugin import Note
from xrm_fx_tasks.plugin import Task

from xrm_core import manifests, tenants
from xrm_core.errors import ManifestError
from xrm_core.models import AuditEntry, Tenant, TenantPlugin, TenantStatus

NOTES_DEFAULTS = {"max_length": 500, "label": "Notes"}


def apply(platform, manifest: dict | str) -> manifests.ApplyReport:
    """Apply a manifest (a mapping or YAML text) in its own committed transaction."""
    data = manifests.load(manifest) if isinstance(manifest, str) else manifest
    with platform.db.transaction(all_tenants=True) as session:
        return manifests.apply(platform, session, data)


def export(platform, slug: str) -> str:
    with platform.db.session(all_tenants=True) as session:
        return manifests.export(platform, session, tenants.get_tenant(session, slug))


def snapshot(platform) -> dict:
    """Everything a manifest can change, as plain values, for before/after comparisons."""
    with platform.db.session(all_tenants=True) as session:
        return {
            "tenants": [(t.slug, t.name, t.status.value) for t in session.scalars(select(Tenant).order_by(Tenant.slug))],
            "plugins": sorted(
                (row.tenant_id, row.plugin, row.enabled, repr(row.settings))
                for row in session.scalars(select(TenantPlugin))
            ),
            "audit": session.scalar(select(func.count(AuditEntry.id))),
        }


def plugin_rows(platform, slug: str) -> dict[str, TenantPlugin]:
    with platform.db.session(all_tenants=True) as session:
        return tenants.plugin_states(session, tenants.get_tenant(session, slug))


# -- applying ------------------------------------------------------------------------------------


def test_apply_creates_the_tenant_and_enables_the_listed_plugins(platform):
    report = apply(platform, {"tenant": "acme", "name": "ACME Corp", "plugins": {"notes": None, "tasks": {}}})

    assert report.created
    assert report.changes[:3] == ["created tenant acme", "enabled notes", "enabled tasks"]
    with platform.db.session(all_tenants=True) as session:
        tenant = tenants.get_tenant(session, "acme")
        assert (tenant.name, tenant.status) == ("ACME Corp", TenantStatus.ACTIVE)
    rows = plugin_rows(platform, "acme")
    assert {name: row.enabled for name, row in rows.items()} == {"notes": True, "tasks": True}


def test_plugin_settings_are_validated_by_the_plugin_schema_and_defaults_filled(platform):
    apply(platform, {"tenant": "acme", "plugins": {"notes": {"settings": {"label": "Memos"}}}})

    assert plugin_rows(platform, "acme")["notes"].settings == {"max_length": 500, "label": "Memos"}


def test_a_plugin_listed_without_settings_gets_the_schema_defaults(platform):
    apply(platform, {"tenant": "acme", "plugins": {"notes": {"enabled": True}}})

    assert plugin_rows(platform, "acme")["notes"].settings == NOTES_DEFAULTS


def test_applying_the_same_manifest_twice_changes_nothing_the_second_time(platform):
    manifest = {"tenant": "acme", "name": "ACME", "plugins": {"notes": {"settings": {"max_length": 80}}, "tasks": None}}
    first = apply(platform, manifest)
    before = snapshot(platform)

    second = apply(platform, manifest)

    assert first.changes and first.created
    assert second.changes == [] and not second.created
    assert snapshot(platform) == before


def test_changing_settings_name_and_status_is_reported_and_applied(platform):
    apply(platform, {"tenant": "acme", "plugins": {"notes": None}})

    report = apply(platform, {"tenant": "acme", "name": "Acme Ltd", "status": "suspended",
                              "plugins": {"notes": {"settings": {"max_length": 42}}}})

    assert report.changes == ["renamed to 'Acme Ltd'", "status suspended", "settings of notes"]
    with platform.db.session(all_tenants=True) as session:
        tenant = tenants.get_tenant(session, "acme")
        assert (tenant.name, tenant.status) == ("Acme Ltd", TenantStatus.SUSPENDED)
    assert plugin_rows(platform, "acme")["notes"].settings == {"max_length": 42, "label": "Notes"}


def test_removing_a_plugin_from_the_manifest_disables_it_and_keeps_its_data(platform):
    apply(platform, {"tenant": "acme", "plugins": {"notes": None, "tasks": None}})
    with platform.db.session(all_tenants=True) as session:
        tenant_id = tenants.get_tenant(session, "acme").id
    with platform.db.transaction(tenant_id) as session:
        session.add(Task(title="Keep me"))

    report = apply(platform, {"tenant": "acme", "plugins": {"notes": None}})

    assert report.changes == ["disabled tasks"]
    rows = plugin_rows(platform, "acme")
    assert rows["tasks"].enabled is False and rows["notes"].enabled is True
    with platform.db.session(tenant_id) as session:
        assert list(session.scalars(select(Task.title))) == ["Keep me"]
        assert list(session.scalars(select(Note.text))) == ["Welcome"]


def test_enabled_false_disables_dependents_before_what_they_require(platform):
    apply(platform, {"tenant": "acme", "plugins": {"notes": None, "tasks": None}})

    report = apply(platform, {"tenant": "acme", "plugins": {"notes": {"enabled": False}}})

    assert report.changes == ["disabled tasks", "disabled notes"]
    assert {name: row.enabled for name, row in plugin_rows(platform, "acme").items()} == {"notes": False, "tasks": False}


# -- export --------------------------------------------------------------------------------------


def test_export_describes_the_tenant_and_its_plugins(platform):
    apply(platform, {"tenant": "acme", "name": "ACME", "plugins": {"notes": {"settings": {"max_length": 99}}, "tasks": None}})

    exported = yaml.safe_load(export(platform, "acme"))

    assert exported == {
        "version": manifests.MANIFEST_VERSION,
        "tenant": "acme",
        "name": "ACME",
        "status": "active",
        "plugins": {
            "notes": {"enabled": True, "settings": {"max_length": 99, "label": "Notes"}},
            "tasks": {"enabled": True},
        },
    }


def test_export_then_apply_is_a_no_op(platform):
    apply(platform, {"tenant": "acme", "name": "ACME", "plugins": {"notes": {"settings": {"label": "Memos"}}, "tasks": None}})
    apply(platform, {"tenant": "acme", "status": "suspended", "plugins": {"notes": {"settings": {"label": "Memos"}}}})
    before = snapshot(platform)

    report = apply(platform, export(platform, "acme"))

    assert report.changes == []
    assert snapshot(platform) == before


def test_an_exported_manifest_recreates_the_tenant_elsewhere(platform):
    apply(platform, {"tenant": "acme", "name": "ACME", "plugins": {"notes": {"settings": {"max_length": 7}}, "tasks": None}})
    text = export(platform, "acme").replace("tenant: acme", "tenant: acme-copy")

    report = apply(platform, text)

    assert report.created
    assert yaml.safe_load(export(platform, "acme-copy"))["plugins"] == yaml.safe_load(export(platform, "acme"))["plugins"]


# -- invalid manifests ---------------------------------------------------------------------------


def test_invalid_yaml_is_reported_with_its_line_number():
    with pytest.raises(ManifestError, match=r"not valid YAML at line 3"):
        manifests.load("tenant: acme\nplugins:\n  notes: enabled: true\n")


@pytest.mark.parametrize("text", ["- just\n- a list\n", "just a string\n", ""])
def test_a_manifest_that_is_not_a_mapping_is_refused(text):
    with pytest.raises(ManifestError, match="must be a mapping"):
        manifests.load(text)


INVALID = {
    "unknown top-level key": ({"tenant": "acme", "colour": "blue"}, "colour"),
    "unsupported version": ({"version": 2, "tenant": "acme"}, "version"),
    "missing tenant slug": ({"plugins": {"notes": None}}, "tenant"),
    "invalid tenant slug": ({"tenant": "Not A Slug"}, "tenant"),
    "empty name": ({"tenant": "acme", "name": "  "}, "name"),
    "unknown status": ({"tenant": "acme", "status": "paused"}, "status"),
    "plugins not a mapping": ({"tenant": "acme", "plugins": ["notes"]}, "plugins"),
    "unknown plugin": ({"tenant": "acme", "plugins": {"notes": None, "crm": None}}, "plugins.crm"),
    "unknown plugin key": ({"tenant": "acme", "plugins": {"notes": {"enable": True}}}, "plugins.notes"),
    "enabled not a boolean": ({"tenant": "acme", "plugins": {"notes": {"enabled": "yes"}}}, "plugins.notes.enabled"),
    "setting of the wrong type": (
        {"tenant": "acme", "plugins": {"notes": {"settings": {"max_length": "x"}}}},
        "plugins.notes.settings.max_length",
    ),
    "setting the schema does not know": (
        {"tenant": "acme", "plugins": {"notes": {"settings": {"colour": "red"}}}},
        "plugins.notes.settings.colour",
    ),
    "settings for a plugin without settings": (
        {"tenant": "acme", "plugins": {"notes": None, "tasks": {"settings": {"x": 1}}}},
        "plugins.tasks.settings",
    ),
    "plugin enabled without what it requires": ({"tenant": "acme", "plugins": {"tasks": None}}, "plugins.tasks"),
    "required plugin listed but disabled": (
        {"tenant": "acme", "plugins": {"notes": {"enabled": False}, "tasks": None}},
        "plugins.tasks",
    ),
}


@pytest.mark.parametrize("manifest, key", INVALID.values(), ids=INVALID.keys())
def test_an_invalid_manifest_names_the_offending_key_and_creates_nothing(platform, manifest, key):
    before = snapshot(platform)
    # The error is caught inside the transaction, which then commits: anything apply() changed
    # before raising would be kept, so an unchanged database shows that it validated first.
    with platform.db.transaction(all_tenants=True) as session, pytest.raises(ManifestError) as raised:
        manifests.apply(platform, session, manifest)

    assert key in str(raised.value)
    assert snapshot(platform) == before


def test_a_missing_requirement_names_the_required_plugin(platform):
    with (
        platform.db.transaction(all_tenants=True) as session,
        pytest.raises(ManifestError, match=r"plugins\.tasks: requires plugin 'notes'"),
    ):
        manifests.apply(platform, session, {"tenant": "acme", "plugins": {"tasks": None}})


def test_an_invalid_manifest_leaves_an_existing_tenant_unchanged(platform):
    apply(platform, {"tenant": "acme", "name": "ACME", "plugins": {"notes": {"settings": {"max_length": 10}}, "tasks": None}})
    before = snapshot(platform)
    # Valid changes (rename, suspend, drop tasks) followed by an invalid setting: none may happen.
    broken = {"tenant": "acme", "name": "Renamed", "status": "suspended",
              "plugins": {"notes": {"settings": {"max_length": "x"}}}}

    with (
        platform.db.transaction(all_tenants=True) as session,
        pytest.raises(ManifestError, match=r"plugins\.notes\.settings\.max_length"),
    ):
        manifests.apply(platform, session, broken)

    assert snapshot(platform) == before
    assert plugin_rows(platform, "acme")["tasks"].enabled is True
