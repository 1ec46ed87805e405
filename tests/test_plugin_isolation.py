"""A plugin that raises must not break the request nor the other plugins."""

import logging

from sqlalchemy import select

from xrm_core import migrate, tenants
from xrm_core.contributions import NavEntry, Permission
from xrm_core.models import AuditEntry, TenantPlugin


def _tenant_with(platform, slug, *plugins):
    with platform.db.transaction(all_tenants=True) as session:
        tenant = tenants.create_tenant(session, slug, slug.title())
        for plugin in plugins:
            tenants.enable_plugin(platform, session, tenant, plugin)
    return tenant


def test_hook_that_raises_is_skipped_and_logged_with_the_plugin_name(make_platform, caplog):
    platform = make_platform("flaky", "notes")
    migrate.upgrade(platform)
    tenant = _tenant_with(platform, "acme", "flaky", "notes")
    with caplog.at_level(logging.ERROR, logger="xrm.plugins"), platform.db.session(tenant.id) as session:
        entries = platform.contributions_for_tenant("xrm_navigation", NavEntry, tenant, session)
    assert [(plugin, entry.name) for plugin, entry in entries] == [("notes", "notes.list")]
    failure = next(r for r in caplog.records if "failed in xrm_navigation" in r.getMessage())
    assert failure.getMessage() == "plugin flaky failed in xrm_navigation"
    assert "navigation exploded for acme" in caplog.text


def test_contribution_with_a_name_the_plugin_does_not_own_is_dropped(make_platform, caplog):
    platform = make_platform("flaky", "notes")
    with caplog.at_level(logging.ERROR, logger="xrm.plugins"):
        permissions = [(plugin, p.name) for plugin, p in platform.contributed("xrm_permissions", Permission)]
    assert permissions == [("flaky", "flaky.thing.read"), ("notes", "notes.note.read"), ("notes", "notes.note.create")]
    assert "Permission 'notes.note.delete' must be named 'flaky.<…>'" in caplog.text


def test_repeated_failures_disable_the_plugin_for_that_tenant_only(make_platform):
    platform = make_platform("flaky", "notes", plugin_failure_threshold=3)
    migrate.upgrade(platform)
    acme = _tenant_with(platform, "acme", "flaky", "notes")
    beta = _tenant_with(platform, "beta", "flaky")
    for _ in range(2):
        with platform.db.session(acme.id) as session:
            platform.contributions_for_tenant("xrm_navigation", NavEntry, acme, session)
    assert platform.apply_circuit_breakers() == []
    with platform.db.session(acme.id) as session:
        platform.contributions_for_tenant("xrm_navigation", NavEntry, acme, session)
    assert platform.apply_circuit_breakers() == [(acme.id, "flaky")]

    with platform.db.session(acme.id) as session:
        assert platform.enabled_plugins(session) == ["notes"]
        row = session.scalar(select(TenantPlugin).where(TenantPlugin.plugin == "flaky"))
        assert row.disabled_reason == "disabled after 3 consecutive failures"
        audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "plugin.disabled")).all()
        assert [(a.actor, a.target) for a in audit] == [("platform", "flaky")]
    with platform.db.session(beta.id) as session:
        assert platform.enabled_plugins(session) == ["flaky"]


def test_a_success_resets_the_failure_count(make_platform):
    platform = make_platform("plain", plugin_failure_threshold=2)
    host = platform.host
    host._count_failure(1, "plain")
    host._count_success(1, "plain")
    host._count_failure(1, "plain")
    assert host.take_plugins_to_disable() == set()
    host._count_failure(1, "plain")
    assert host.take_plugins_to_disable() == {(1, "plain")}
