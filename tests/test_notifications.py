"""In-app notifications: fan-out to departments and teams, only one's own, read marks, workflows, the bell."""

from __future__ import annotations

import re

import pytest
import ui_world
import ui_world_fixtures
from sqlalchemy import func, select
from ui_world import csrf_token, sign_in

from xrm_core import migrate
from xrm_core.events import get_bus, load_event_settings
from xrm_core.events.models import OutboxEvent
from xrm_core.identity import admin
from xrm_core.identity.models import Department
from xrm_core.models import User
from xrm_core.notifications import Notification, NotificationError, notify


@pytest.fixture
def world_platform(make_platform):
    platform = make_platform("notes", ui_world.SHOWCASE)
    migrate.upgrade(platform)
    bus = get_bus(platform, load_event_settings(environ={}))  # notifications publish an event
    yield platform
    bus.stop()


app = ui_world_fixtures.world_app  # the world's app (conftest's ``app`` serves another platform)


def department_id(platform, tenant_id, name):
    with platform.db.session(tenant_id, read_only=True) as session:
        return session.scalar(select(Department.id).where(Department.name == name))


def stored(platform, tenant_id):
    """(recipient e-mail, title) of every notification of the tenant."""
    with platform.db.session(tenant_id, read_only=True) as session:
        return sorted(session.execute(select(User.email, Notification.title).join(
            User, User.id == Notification.user_id)).all())


def send(platform, tenant_id, **kwargs):
    with platform.db.transaction(tenant_id) as session:
        return notify(session, actor="cli", **kwargs).recipients


def signed_in(app, email):
    client = app.test_client()
    sign_in(client, email)
    return client


# -- the service ---------------------------------------------------------------------------------------


def test_a_department_and_a_team_fan_out_to_their_active_members_once_each(world_platform, world):
    tenant = world.tenant_id
    sales = department_id(world_platform, tenant, "Sales")
    with world_platform.db.transaction(tenant) as session:
        pat = session.get(User, world.users["pat@acme.test"])
        sue = session.get(User, world.users["sue@acme.test"])
        team = admin.create_team(session, "Key accounts", [pat, sue])
        admin.deactivate(session, sue)
        team_id = team.id

    reached = send(world_platform, tenant, departments=[sales], teams=[team_id], users=[world.users["sam@acme.test"]],
                   title="Quarter closes Friday", url="/parties")

    assert sorted(reached) == sorted([world.users["sam@acme.test"], world.users["admin@acme.test"],
                                      world.users["pat@acme.test"]])  # sam once; sue is deactivated
    assert stored(world_platform, tenant) == [("admin@acme.test", "Quarter closes Friday"),
                                              ("pat@acme.test", "Quarter closes Friday"),
                                              ("sam@acme.test", "Quarter closes Friday")]
    with world_platform.db.session(tenant, read_only=True) as session:
        [event] = session.scalars(select(OutboxEvent).where(OutboxEvent.type == "core.notification.created")).all()
        assert sorted(event.payload["recipients"]) == sorted(reached)
        assert event.payload["departments"] == [sales] and event.payload["teams"] == [team_id]


@pytest.mark.parametrize("kwargs, message", [
    ({"users": [999999], "title": "Hi"}, "no user #999999"),
    ({"departments": [999999], "title": "Hi"}, "no department #999999"),
    ({"users": ["me"], "title": " "}, "needs a title"),
    ({"users": ["me"], "title": "Hi", "url": "https://evil.example/"}, "local path"),
])
def test_bad_notifications_are_refused_and_nothing_is_written(world_platform, world, kwargs, message):
    kwargs = {**kwargs, "users": [world.users["sam@acme.test"] if u == "me" else u for u in kwargs.get("users", [])]}
    with pytest.raises(NotificationError, match=message):
        send(world_platform, world.tenant_id, **kwargs)
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Notification)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxEvent)
                              .where(OutboxEvent.type == "core.notification.created")) == 0


def test_users_of_another_tenant_cannot_be_notified(world_platform, world):
    with world_platform.db.session(world.other_tenant_id, read_only=True) as session:
        globex_admin = session.scalar(select(User.id))
    with pytest.raises(NotificationError, match=f"no user #{globex_admin}"):
        send(world_platform, world.tenant_id, users=[globex_admin], title="Leak")


# -- the API: only mine --------------------------------------------------------------------------------


def test_the_api_lists_counts_and_marks_only_the_callers_notifications(app, world_platform, world):
    send(world_platform, world.tenant_id, users=[world.users["sam@acme.test"]], title="For Sam 1")
    send(world_platform, world.tenant_id, users=[world.users["sam@acme.test"]], title="For Sam 2")
    send(world_platform, world.tenant_id, users=[world.users["pat@acme.test"]], title="For Pat")
    sam, pat = signed_in(app, "sam@acme.test"), signed_in(app, "pat@acme.test")
    headers = {"X-CSRFToken": csrf_token(sam.get("/parties").get_data(as_text=True))}

    listed = sam.get("/api/v1/notifications").json["items"]
    assert [n["title"] for n in listed] == ["For Sam 2", "For Sam 1"]
    assert sam.get("/api/v1/notifications/unread-count").json == {"unread": 2}
    [pats] = pat.get("/api/v1/notifications").json["items"]

    refused = sam.post(f"/api/v1/notifications/{pats['id']}/read", headers=headers)
    assert refused.status_code == 404 and refused.mimetype == "application/problem+json"
    assert pat.get("/api/v1/notifications/unread-count").json == {"unread": 1}

    marked = sam.post(f"/api/v1/notifications/{listed[0]['id']}/read", headers=headers)
    assert marked.status_code == 200 and marked.json["read_at"] is not None
    assert [n["title"] for n in sam.get("/api/v1/notifications?read_at__isnull=true").json["items"]] == ["For Sam 1"]
    assert sam.post("/api/v1/notifications/read-all", headers=headers).json == {"marked": 1}
    assert sam.get("/api/v1/notifications/unread-count").json == {"unread": 0}
    assert pat.get("/api/v1/notifications/unread-count").json == {"unread": 1}  # Pat's untouched


def test_the_api_needs_a_signed_in_caller(app):
    response = app.test_client().get("/api/v1/notifications")
    assert response.status_code == 401 and response.mimetype == "application/problem+json"


# -- the UI: bell and page --------------------------------------------------------------------------


def bell_count(html: str) -> int:
    return int(re.search(r'data-testid="unread-count">(\d+)<', html).group(1))


def test_the_bell_counts_unread_and_the_page_marks_them_read(app, world_platform, world):
    sam = signed_in(app, "sam@acme.test")
    assert bell_count(sam.get("/parties").get_data(as_text=True)) == 0
    send(world_platform, world.tenant_id, users=[world.users["sam@acme.test"]], title="Call Zenith back",
         url=f"/parties/{world.parties['Zenith Industries']}")
    send(world_platform, world.tenant_id, users=[world.users["pat@acme.test"]], title="Pat only")

    assert bell_count(sam.get("/notifications/bell").get_data(as_text=True)) == 1
    page = sam.get("/notifications").get_data(as_text=True)
    assert "Call Zenith back" in page and "Pat only" not in page
    note_id = int(re.search(r'data-notification-id="(\d+)"', page).group(1))

    assert sam.post(f"/notifications/{note_id}/read", data={}).status_code == 400  # no CSRF token
    opened = sam.post(f"/notifications/{note_id}/read", data={"csrf_token": csrf_token(page), "open": "1"})
    assert opened.status_code == 302 and opened.location.endswith(f"/parties/{world.parties['Zenith Industries']}")
    assert bell_count(sam.get("/parties").get_data(as_text=True)) == 0
    pat = signed_in(app, "pat@acme.test")
    assert pat.post(f"/notifications/{note_id}/read", data={"csrf_token": csrf_token(page)}).status_code in (400, 404)


# -- workflows -------------------------------------------------------------------------------------


def test_the_workflow_notify_action_creates_notifications_for_a_department(app, world_platform, world):
    from xrm_sdk.testing import administrator_headers
    tenant = world.tenant_id
    headers = administrator_headers(world_platform, tenant)
    sales = department_id(world_platform, tenant, "Sales")
    definition = {"trigger": {"kind": "manual"}, "permissions": {"core.party.read": "tenant"},
                  "steps": [{"action": "core.notify", "params": {
                      "departments": [sales], "message": "Look at {{ subject.display_name }}"}}]}
    client = app.test_client()
    created = client.post("/api/v1/workflows", json={"name": "Tell sales", "definition": definition}, headers=headers)
    assert created.status_code == 201, created.json
    accepted = client.post(f"/api/v1/workflows/{created.json['id']}/runs", headers=headers, json={
        "subject_type": "core_parties", "subject_id": str(world.parties["Zenith Industries"])})
    assert accepted.status_code == 202
    get_bus(world_platform).run_until_idle()

    assert stored(world_platform, tenant) == [("admin@acme.test", "Look at Zenith Industries"),
                                              ("sam@acme.test", "Look at Zenith Industries"),
                                              ("sue@acme.test", "Look at Zenith Industries")]
    with world_platform.db.session(tenant, read_only=True) as session:
        kinds = set(session.execute(select(Notification.kind, Notification.subject_type, Notification.subject_id)))
    assert kinds == {("workflow", "core_parties", str(world.parties["Zenith Industries"]))}


def test_the_workflow_notify_action_tells_only_those_who_may_read_the_record(app, world_platform, world):
    """The message quotes the record: Support (no right on Sales' party) is withheld, and the step says so."""
    from xrm_sdk.testing import administrator_headers

    from xrm_core.workflows.models import WorkflowStep
    tenant = world.tenant_id
    headers = administrator_headers(world_platform, tenant)
    definition = {"trigger": {"kind": "manual"}, "permissions": {"core.party.read": "tenant"},
                  "steps": [{"action": "core.notify", "params": {
                      "departments": [department_id(world_platform, tenant, "Support")],
                      "users": [world.users["sam@acme.test"]],
                      "message": "Look at {{ subject.display_name }}"}}]}
    client = app.test_client()
    created = client.post("/api/v1/workflows", json={"name": "Tell support", "definition": definition}, headers=headers)
    assert created.status_code == 201, created.json
    assert client.post(f"/api/v1/workflows/{created.json['id']}/runs", headers=headers, json={
        "subject_type": "core_parties", "subject_id": str(world.parties["Zenith Industries"])}).status_code == 202
    get_bus(world_platform).run_until_idle()

    assert stored(world_platform, tenant) == [("sam@acme.test", "Look at Zenith Industries")]
    with world_platform.db.session(tenant, read_only=True) as session:
        [step] = session.scalars(select(WorkflowStep)).all()
    assert step.output["withheld"] == [world.users["pat@acme.test"]]
    assert step.output["notified"] == [world.users["sam@acme.test"]]
