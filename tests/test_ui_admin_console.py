"""The admin console's home and its audit log section (the other sections have their own tests)."""

from __future__ import annotations

import re

import ui_world_fixtures
from ui_world import sign_in

from xrm_core.audit import record

app = ui_world_fixtures.world_app  # the world's app (conftest's ``app`` serves another platform)


def signed_in(app, email, tenant="acme"):
    client = app.test_client()
    sign_in(client, email, tenant)
    return client


def test_staff_without_admin_rights_see_no_console(app):
    client = signed_in(app, "sam@acme.test")
    assert 'id="admin-link"' not in client.get("/parties").get_data(as_text=True)
    assert client.get("/admin").status_code == 403
    assert client.get("/admin/audit").status_code == 403


def test_the_admin_sees_the_console_and_its_sections(app):
    client = signed_in(app, "admin@acme.test")
    assert 'id="admin-link"' in client.get("/parties").get_data(as_text=True)
    page = client.get("/admin").get_data(as_text=True)
    assert "Audit log" in page and 'href="/admin/audit"' in page


def test_the_audit_log_lists_this_tenants_entries_filtered_and_paged(app, world_platform, world):
    with world_platform.db.transaction(world.tenant_id) as session:
        for number in range(105):
            record(session, "cli", "test.tick", target=f"tick:{number}")
    with world_platform.db.transaction(world.other_tenant_id) as session:
        record(session, "cli", "test.tick", target="globex-secret")
    client = signed_in(app, "admin@acme.test")

    page = client.get("/admin/audit?action=test.tick").get_data(as_text=True)
    assert page.count("<tr data-audit-id") == 100
    assert "tick:104" in page and "tick:4<" not in page and "globex-secret" not in page
    older_link = re.search(r'href="([^"]+)" id="older-entries"', page).group(1).replace("&amp;", "&")
    older = client.get(older_link)
    assert older.get_data(as_text=True).count("<tr data-audit-id") == 5

    only_one = client.get("/admin/audit?target=tick:7").get_data(as_text=True)
    assert only_one.count("<tr data-audit-id") == 1 and "tick:7" in only_one

    globex = signed_in(app, "admin@globex.test", "globex").get("/admin/audit?action=test.tick").get_data(as_text=True)
    assert "globex-secret" in globex and "tick:7" not in globex
