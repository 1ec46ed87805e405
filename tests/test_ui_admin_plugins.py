"""The admin console's plugins section: enabling with requirements, refused disabling, settings forms."""

from __future__ import annotations

import re

import pytest
import ui_world
import ui_world_fixtures
from sqlalchemy import select
from ui_world import csrf_token, sign_in

from xrm_core import migrate
from xrm_core.models import AuditEntry, TenantPlugin


@pytest.fixture
def world_platform(make_platform):
    platform = make_platform("notes", "tasks", ui_world.SHOWCASE)
    migrate.upgrade(platform)
    return platform


app = ui_world_fixtures.world_app  # the world's app (conftest's ``app`` serves another platform)


def signed_in(app, email, tenant="acme"):
    client = app.test_client()
    sign_in(client, email, tenant)
    return client


def post(client, url, data=None, page="/admin/plugins"):
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **(data or {})}, follow_redirects=True)


def enabled(platform, tenant_id):
    with platform.db.session(tenant_id, read_only=True) as session:
        return {row.plugin for row in session.scalars(select(TenantPlugin).where(TenantPlugin.enabled))}


def audited(platform, tenant_id, action):
    with platform.db.session(tenant_id, read_only=True) as session:
        return [(entry.actor, entry.details) for entry in
                session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id))]


def test_staff_may_neither_see_nor_change_plugins(app, world_platform, world):
    client = signed_in(app, "sam@acme.test")
    assert client.get("/admin/plugins").status_code == 403
    assert client.get("/admin/plugins/showcase/settings").status_code == 403
    admin = signed_in(app, "admin@acme.test")
    token = csrf_token(admin.get("/admin/plugins").get_data(as_text=True))
    # The admin's form token does not help someone else; and without a token nothing is posted.
    assert client.post("/admin/plugins/notes/disable", data={"csrf_token": token}).status_code in (400, 403)
    assert admin.post("/admin/plugins/notes/disable").status_code == 400
    assert enabled(world_platform, world.tenant_id) == {"notes", "showcase"}


def test_enabling_brings_requirements_and_disabling_a_requirement_is_refused(app, world_platform, world):
    client = signed_in(app, "admin@acme.test")
    page = client.get("/admin/plugins").get_data(as_text=True)
    tasks = re.search(r'<tr data-plugin="tasks">(.*?)</tr>', page, re.DOTALL).group(1)
    assert "0.1.0" in tasks and "notes" in tasks and "Not enabled" in tasks and 'id="enable-tasks"' in tasks
    notes = re.search(r'<tr data-plugin="notes">(.*?)</tr>', page, re.DOTALL).group(1)
    assert "Free-text notes." in notes and "Enabled" in notes and "tasks" in notes and 'id="disable-notes"' in notes
    assert 'id="settings-showcase"' in page

    assert "Notes was disabled" in post(client, "/admin/plugins/notes/disable").get_data(as_text=True)
    assert enabled(world_platform, world.tenant_id) == {"showcase"}

    page = post(client, "/admin/plugins/tasks/enable").get_data(as_text=True)
    assert "Tasks was enabled, with the plugins it requires: Notes." in page
    assert enabled(world_platform, world.tenant_id) == {"notes", "tasks", "showcase"}

    refused = post(client, "/admin/plugins/notes/disable").get_data(as_text=True)
    assert "Notes was not disabled: Tasks require(s) it." in refused and "Nothing was changed." in refused
    assert enabled(world_platform, world.tenant_id) == {"notes", "tasks", "showcase"}
    assert 'id="needed-notes"' in refused

    actor = f"user:{world.users['admin@acme.test']}"
    assert [(a, d["plugin"]) for a, d in audited(world_platform, world.tenant_id, "plugin.enabled")][-2:] == \
        [(actor, "notes"), (actor, "tasks")]
    assert audited(world_platform, world.tenant_id, "plugin.disabled")[-1] == (actor, {"plugin": "notes"})
    # Globex's own plugins were never touched.
    assert enabled(world_platform, world.other_tenant_id) == {"notes"}


def test_settings_form_has_one_input_per_field_and_refuses_bad_values(app, world_platform, world):
    client = signed_in(app, "admin@acme.test")
    form = client.get("/admin/plugins/showcase/settings").get_data(as_text=True)
    assert re.search(r'<input type="text" id="setting-ticket_prefix" name="setting.ticket_prefix"\s+value="T-"', form)
    assert re.search(r'<input type="number" id="setting-page_size" name="setting.page_size"\s+value="20" step="1"', form)
    assert '<option value="green" >Green</option>' in form.replace("  ", " ")
    assert 'type="checkbox" id="setting-show_closed"' in form and "checked" not in form

    url = "/admin/plugins/showcase/settings"
    bad = post(client, url, {"setting.ticket_prefix": "T-", "setting.page_size": "500", "setting.colour": "red"},
               page=url)
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert re.search(r'id="setting-page_size-error">Must be greater than or equal to 5 and less than or equal to 100',
                     text)
    assert 'id="setting-colour-error">Must be one of: blue, green.' in text
    assert 'value="500"' in text  # what was typed is shown again
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        stored = session.scalar(select(TenantPlugin.settings).where(TenantPlugin.plugin == "showcase"))
    assert stored == {"ticket_prefix": "T-", "page_size": 20, "colour": "blue", "show_closed": False}

    good = post(client, url, {"setting.ticket_prefix": "TK", "setting.page_size": "50", "setting.colour": "green",
                              "setting.show_closed": "on"}, page=url)
    assert "The settings of Showcase were saved." in good.get_data(as_text=True)
    again = client.get(url).get_data(as_text=True)
    assert 'value="50"' in again and '<option value="green" selected>' in again and "checked" in again
    assert audited(world_platform, world.tenant_id, "plugin.settings_changed")[-1] == (
        f"user:{world.users['admin@acme.test']}",
        {"plugin": "showcase", "settings": ["colour", "page_size", "show_closed", "ticket_prefix"]})

    # Globex's admin reaches only Globex's plugins: showcase is not enabled there.
    assert signed_in(app, "admin@globex.test", "globex").get(url).status_code == 404
