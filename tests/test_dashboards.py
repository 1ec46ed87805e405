"""Department homes: pinned views, dashboard widgets (isolated, only enabled plugins'), their choice."""

from __future__ import annotations

import re

import pytest
import ui_world
import ui_world_fixtures
from plugin_dists import CORE, Dist
from sqlalchemy import select
from ui_world import csrf_token, sign_in

from xrm_core import migrate, tenants
from xrm_core.identity.models import Department
from xrm_core.ui.models import DepartmentDashboard, SavedView

WIDGETS = Dist("xrm-fx-widgets", "0.1.0", "widgets", "xrm_fx_widgets.plugin", (CORE,))


@pytest.fixture
def world_platform(make_platform):
    platform = make_platform("notes", ui_world.SHOWCASE, WIDGETS)
    migrate.upgrade(platform)
    return platform


@pytest.fixture
def world(world_platform):
    world = ui_world.build(world_platform)
    set_widgets_plugin(world_platform, "acme", enabled=True)
    return world


app = ui_world_fixtures.world_app  # the world's app (conftest's ``app`` serves another platform)


def set_widgets_plugin(platform, slug, *, enabled):
    with platform.db.transaction(all_tenants=True) as session:
        tenant = tenants.get_tenant(session, slug)
        (tenants.enable_plugin if enabled else tenants.disable_plugin)(platform, session, tenant, "widgets")


def department_id(platform, tenant_id, name):
    with platform.db.session(tenant_id, read_only=True) as session:
        return session.scalar(select(Department.id).where(Department.name == name))


def signed_in(app, email):
    client = app.test_client()
    sign_in(client, email)
    return client


def widgets_on(html: str) -> list[str]:
    return re.findall(r'data-widget="([^"]+)"', html)


def widget_html(html: str, name: str) -> str:
    return re.search(rf'data-widget="{re.escape(name)}"(.*?)</section>', html, re.DOTALL).group(1)


def test_the_home_shows_the_departments_widgets_and_a_failing_one_costs_only_its_box(app, world):
    response = signed_in(app, "sam@acme.test").get("/")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert widgets_on(html) == ["core.recent_parties", "core.parties_by_role", "widgets.greeting", "widgets.broken"]
    assert "Hello from ACME Corporation" in widget_html(html, "widgets.greeting")
    broken = widget_html(html, "widgets.broken")
    assert "widget-error" in broken and "WidgetBroke" not in html and "Traceback" not in html
    assert "<svg" in widget_html(html, "core.parties_by_role")  # a real chart, drawn server-side
    assert "Sales contact" in widget_html(html, "core.recent_parties")
    assert 'aria-labelledby="plugins-heading"' in html  # the rest of the page rendered


def test_widgets_show_only_what_the_user_may_read(app, world):
    sam = widget_html(signed_in(app, "sam@acme.test").get("/").get_data(as_text=True), "core.recent_parties")
    admin = widget_html(signed_in(app, "admin@acme.test").get("/").get_data(as_text=True), "core.recent_parties")
    assert "Support Secret Ltd" in admin and "Support Secret Ltd" not in sam


def test_only_widgets_of_plugins_enabled_for_the_tenant_are_shown(app, world_platform, world):
    set_widgets_plugin(world_platform, "acme", enabled=False)
    sales = department_id(world_platform, world.tenant_id, "Sales")

    html = signed_in(app, "sam@acme.test").get(f"/departments/{sales}").get_data(as_text=True)

    assert widgets_on(html) == ["core.recent_parties", "core.parties_by_role"]


def test_an_administrator_chooses_the_widgets_and_their_order(app, world_platform, world):
    sales = department_id(world_platform, world.tenant_id, "Sales")
    admin = signed_in(app, "admin@acme.test")
    form = admin.get(f"/departments/{sales}/dashboard").get_data(as_text=True)
    assert 'value="widgets.greeting"' in form

    saved = admin.post(f"/departments/{sales}/dashboard", data={
        "csrf_token": csrf_token(form), "widgets": ["widgets.greeting", "core.recent_parties"]})

    assert saved.status_code == 302
    assert widgets_on(signed_in(app, "sue@acme.test").get("/").get_data(as_text=True)) == [
        "widgets.greeting", "core.recent_parties"]
    support = department_id(world_platform, world.tenant_id, "Support")  # other departments keep every widget
    assert len(widgets_on(signed_in(app, "pat@acme.test").get(f"/departments/{support}").get_data(as_text=True))) == 4


def test_choosing_widgets_is_refused_to_staff_and_unknown_widgets_change_nothing(app, world_platform, world):
    sales = department_id(world_platform, world.tenant_id, "Sales")
    sam = signed_in(app, "sam@acme.test")
    token = csrf_token(sam.get("/").get_data(as_text=True))
    assert sam.get(f"/departments/{sales}/dashboard").status_code == 403
    assert sam.post(f"/departments/{sales}/dashboard", data={"csrf_token": token, "widgets": ["core.recent_parties"]}
                    ).status_code == 403
    admin = signed_in(app, "admin@acme.test")
    refused = admin.post(f"/departments/{sales}/dashboard", data={
        "csrf_token": csrf_token(admin.get("/").get_data(as_text=True)), "widgets": ["core.recent_parties", "nope.x"]})
    assert refused.status_code == 400 and "nope.x" in refused.get_data(as_text=True)
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        assert session.scalars(select(DepartmentDashboard)).all() == []


def test_a_department_home_is_for_its_members_and_administrators(app, world_platform, world):
    sales = department_id(world_platform, world.tenant_id, "Sales")
    assert signed_in(app, "pat@acme.test").get(f"/departments/{sales}").status_code == 403
    assert signed_in(app, "sam@acme.test").get("/departments/999999").status_code == 404
    globex_admin = app.test_client()
    sign_in(globex_admin, "admin@globex.test", "globex")
    assert globex_admin.get(f"/departments/{sales}").status_code == 404  # another tenant's department


def test_a_department_view_pinned_by_an_administrator_shows_on_its_members_homes_only(app, world_platform, world):
    sales = department_id(world_platform, world.tenant_id, "Sales")
    admin = signed_in(app, "admin@acme.test")
    token = csrf_token(admin.get("/parties").get_data(as_text=True))
    admin.post("/views/parties", data={"csrf_token": token, "name": "VIP customers", "scope": "department",
                                       "q": "Zenith"})
    admin.post("/views/parties", data={"csrf_token": token, "name": "My private list", "scope": "me"})
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        views = {v.name: v.id for v in session.scalars(select(SavedView))}
    home = admin.get(f"/departments/{sales}").get_data(as_text=True)
    pinnable = re.search(r'<select id="pin-view"[^>]*>(.*?)</select>', home, re.DOTALL).group(1)
    assert "VIP customers" in pinnable and "My private list" not in pinnable  # only shared views can be pinned

    assert admin.post(f"/departments/{sales}/pins", data={
        "csrf_token": token, "saved_view_id": views["My private list"]}).status_code == 404
    assert admin.post(f"/departments/{sales}/pins", data={
        "csrf_token": token, "saved_view_id": views["VIP customers"]}).status_code == 302

    sue_home = signed_in(app, "sue@acme.test").get("/").get_data(as_text=True)
    pinned = re.search(r'data-testid="pinned-views">(.*?)</section>', sue_home, re.DOTALL).group(1)
    assert "VIP customers" in pinned and "Unpin" not in pinned  # staff see, but may not change, the pins
    pat_home = signed_in(app, "pat@acme.test").get("/").get_data(as_text=True)
    assert "VIP customers" not in pat_home

    sam = signed_in(app, "sam@acme.test")
    pin_id = re.search(rf"/departments/{sales}/pins/(\d+)/delete", admin.get("/").get_data(as_text=True)).group(1)
    assert sam.post(f"/departments/{sales}/pins/{pin_id}/delete", data={"csrf_token": token}).status_code in (400, 403)
    assert admin.post(f"/departments/{sales}/pins/{pin_id}/delete", data={"csrf_token": token}).status_code == 302
    assert "VIP customers" not in re.search(r'data-testid="pinned-views">(.*?)</section>',
                                            admin.get("/").get_data(as_text=True), re.DOTALL).group(1)
