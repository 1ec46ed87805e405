"""Collaboration on records: comments with @mentions, follows, assignment, department shares, history.

The ``ui_world`` tenant: sam and sue sell (Sales, department-scoped party rights), pat supports
(Support), the administrator sits in Sales; Zenith Industries is a Sales party, Support Secret Ltd a
Support one, Globex Partner belongs to another tenant.
"""

from __future__ import annotations

from contextlib import contextmanager

import marshmallow as ma
import pytest
import ui_world
import ui_world_fixtures
from sqlalchemy import select
from ui_world import csrf_token, sign_in

from xrm_core import migrate
from xrm_core.collaboration import service
from xrm_core.errors import Conflict
from xrm_core.events import get_bus, load_event_settings
from xrm_core.events.models import OutboxEvent
from xrm_core.graph.models import Party
from xrm_core.identity import admin
from xrm_core.identity.models import Department
from xrm_core.identity.principal import load_principal
from xrm_core.identity.scoping import PermissionDenied, act_as
from xrm_core.identity.tokens import create_token
from xrm_core.models import AuditEntry, User
from xrm_core.notifications import Notification


@pytest.fixture
def world_platform(make_platform):
    platform = make_platform("notes", ui_world.SHOWCASE)
    migrate.upgrade(platform)
    bus = get_bus(platform, load_event_settings(environ={}))
    yield platform
    bus.stop()


app = ui_world_fixtures.world_app  # the world's app (conftest's ``app`` serves another platform)


@pytest.fixture
def tokens(world_platform, world):
    """E-mail -> Authorization header of an API token of that user (globex's administrator included)."""
    headers = {}
    for tenant_id, emails in ((world.tenant_id, ("sam@acme.test", "sue@acme.test", "pat@acme.test")),
                              (world.other_tenant_id, ("admin@globex.test",))):
        with world_platform.db.transaction(tenant_id) as session:
            for email in emails:
                user = session.scalar(select(User).where(User.email == email))
                headers[email] = {"Authorization": f"Bearer {create_token(session, user, 'tests')[1]}"}
    return headers


def notifications_of(platform, world, email: str) -> list[Notification]:
    with platform.db.session(world.tenant_id) as session:
        return session.scalars(select(Notification).where(Notification.user_id == world.users[email])
                               .order_by(Notification.id)).all()


@contextmanager
def acting(platform, world, email: str):
    """A transaction of the tenant acting as ``email`` (committed at the end of the block)."""
    with platform.db.transaction(world.tenant_id) as session:
        act_as(session, load_principal(session, session.get(User, world.users[email])))
        yield session


def test_comments_over_the_api_notify_only_mentioned_readers_and_tell_the_author(
        app, world_platform, world, tokens):
    api = app.test_client()
    zenith = world.parties["Zenith Industries"]
    sam, sue, pat = tokens["sam@acme.test"], tokens["sue@acme.test"], tokens["pat@acme.test"]
    # sue follows first: followers hear of every new comment
    followed = api.post("/api/v1/follows", json={"resource": "core.party", "record_id": zenith}, headers=sue)
    assert followed.status_code == 201

    posted = api.post("/api/v1/comments", headers=sam, json={
        "resource": "core.party", "record_id": zenith,
        "body": "@sue@acme.test @pat@acme.test @nobody@acme.test please call; mail bob@x.test"})
    assert posted.status_code == 201, posted.get_json()
    body = posted.get_json()
    assert body["notified"] == [world.users["sue@acme.test"]]
    assert body["mentions"]["users"] == [world.users["sue@acme.test"], world.users["pat@acme.test"]]
    assert {"who": "pat@acme.test", "reason": "cannot see this record"} in body["not_notified"]
    assert {"who": "@nobody@acme.test", "reason": "no active user has this e-mail address"} in body["not_notified"]
    [mention] = notifications_of(world_platform, world, "sue@acme.test")  # mentioned: not told twice as follower
    assert (mention.kind, mention.url, mention.subject_id) == ("mention", f"/parties/{zenith}", str(zenith))
    assert "please call" in mention.body
    assert notifications_of(world_platform, world, "pat@acme.test") == []
    with world_platform.db.session(world.tenant_id) as session:
        [event] = session.scalars(select(OutboxEvent).where(OutboxEvent.type == "core.comment.created")).all()
    assert event.payload["comment_id"] == body["id"] and event.payload["record_id"] == zenith
    assert (event.subject_type, event.subject_id) == ("core_parties", str(zenith))

    # a department mention reaches its members who may read the record; the author follows now
    sue_posted = api.post("/api/v1/comments", headers=sue, json={
        "resource": "core.party", "record_id": zenith, "body": "@Support and @Sales: signed today"}).get_json()
    assert sue_posted["notified"] == sorted([world.users["sam@acme.test"], world.users["admin@acme.test"]])
    assert {"who": "Support", "reason": "no member of this department can see this record"} in \
        sue_posted["not_notified"]
    assert [n.kind for n in notifications_of(world_platform, world, "sam@acme.test")] == ["mention"]
    follows = api.get(f"/api/v1/follows?resource=core.party&record_id={zenith}", headers=sam).get_json()
    assert [f["record_id"] for f in follows["items"]] == [zenith]
    api.post("/api/v1/comments", headers=sam, json={"resource": "core.party", "record_id": zenith, "body": "Done."})
    assert [n.kind for n in notifications_of(world_platform, world, "sue@acme.test")] == ["mention", "comment"]

    listed = api.get(f"/api/v1/comments?resource=core.party&record_id={zenith}&limit=2", headers=sue)
    assert [c["body"][:4] for c in listed.get_json()["items"]] == ["@sue", "@Sup"]
    assert listed.get_json()["next_cursor"] and 'rel="next"' in listed.headers["Link"]
    missing = api.get("/api/v1/comments?resource=core.party", headers=sam)
    assert missing.status_code == 422 and "record_id" in missing.get_json()["errors"]
    unknown = api.post("/api/v1/comments", headers=sam, json={"resource": "nope.thing", "record_id": 1, "body": "x"})
    assert unknown.status_code == 422 and "resource" in unknown.get_json()["errors"]
    empty = api.post("/api/v1/comments", headers=sam, json={"resource": "core.party", "record_id": zenith,
                                                            "body": "   "})
    assert empty.status_code == 422 and "body" in empty.get_json()["errors"]

    # out of reach (another department, another tenant) is a 404, never a 403
    assert api.get(f"/api/v1/comments?resource=core.party&record_id={zenith}", headers=pat).status_code == 404
    assert api.post("/api/v1/comments", headers=pat, json={
        "resource": "core.party", "record_id": zenith, "body": "hello"}).status_code == 404
    assert api.get(f"/api/v1/comments/{body['id']}", headers=pat).status_code == 404
    assert api.post("/api/v1/follows", headers=pat, json={
        "resource": "core.party", "record_id": zenith}).status_code == 404
    assert api.get(f"/api/v1/comments/{body['id']}", headers=tokens["admin@globex.test"]).status_code == 404
    assert api.post("/api/v1/comments", headers=sam, json={
        "resource": "core.party", "record_id": world.parties["Support Secret Ltd"], "body": "hi"}).status_code == 404

    # only the author edits or deletes a comment; both are audited on the record
    assert api.patch(f"/api/v1/comments/{body['id']}", headers=sue, json={"body": "mine now"}).status_code == 403
    assert api.delete(f"/api/v1/comments/{body['id']}", headers=sue).status_code == 403
    edited = api.patch(f"/api/v1/comments/{body['id']}", headers=sam, json={"body": "@sue@acme.test call today"})
    assert edited.status_code == 200 and edited.get_json()["edited_at"]
    assert api.delete(f"/api/v1/comments/{body['id']}", headers=sam).status_code == 204
    assert api.get(f"/api/v1/comments/{body['id']}", headers=sam).status_code == 404
    with world_platform.db.session(world.tenant_id) as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.target == f"core.party#{zenith}",
                                                           AuditEntry.action.like("core.comment.%"))
                                  .order_by(AuditEntry.id)).all()
    assert [(e.action, e.details["body"][1]) for e in entries] == [
        ("core.comment.updated", "@sue@acme.test call today"), ("core.comment.deleted", None)]

    # unfollowing: one's own follows only
    sue_follow = api.get("/api/v1/follows", headers=sue).get_json()["items"][0]["id"]
    assert api.delete(f"/api/v1/follows/{sue_follow}", headers=sam).status_code == 404
    assert api.delete(f"/api/v1/follows/{sue_follow}", headers=sue).status_code == 204
    assert api.get("/api/v1/follows", headers=sue).get_json()["items"] == []


def signed_in(app, email):
    client = app.test_client()
    sign_in(client, email)
    return client


def test_the_panel_and_the_service_comment_follow_assign_share_and_show_history(app, world_platform, world):
    zenith = world.parties["Zenith Industries"]
    sam = signed_in(app, "sam@acme.test")
    page = sam.get(f"/parties/{zenith}").get_data(as_text=True)
    assert f'data-collaboration="core.party:{zenith}"' in page
    panel_url = f"/collaboration/core.party/{zenith}"
    panel = sam.get(f"{panel_url}?page=/parties/{zenith}").get_data(as_text=True)
    assert 'data-testid="comment-body"' in panel and "No comment yet." in panel
    assert 'name="assignee"' not in panel and 'name="department_id"' not in panel  # no assign/share right
    token = csrf_token(page)
    htmx = {"HX-Request": "true", "X-CSRFToken": token}

    posted = sam.post(f"{panel_url}/comments?page=/parties/{zenith}", headers=htmx,
                      data={"body": "@pat@acme.test and @sue@acme.test: Zenith signs Friday"})
    text = posted.get_data(as_text=True)
    assert posted.status_code == 200 and "Zenith signs Friday" in text
    assert "pat@acme.test was not notified: cannot see this record" in text
    assert "1 person was notified of the mention." in text
    assert 'aria-pressed="true"' in text  # the author follows
    [told] = notifications_of(world_platform, world, "sue@acme.test")
    assert told.url == f"/parties/{zenith}"
    assert sam.post(f"{panel_url}/comments", headers=htmx, data={"body": ""}).status_code == 422

    unfollowed = sam.post(f"{panel_url}/follow", headers=htmx, data={"following": "0"}).get_data(as_text=True)
    assert 'aria-pressed="false"' in unfollowed

    choices = sam.get("/collaboration/mentions?q=su").get_data(as_text=True)
    assert 'value="@sue@acme.test"' in choices and 'value="@Support"' in choices and "globex" not in choices

    comment_id = int(text.split('data-comment-id="')[1].split('"')[0])
    sue = signed_in(app, "sue@acme.test")
    sue_headers = {"HX-Request": "true", "X-CSRFToken": csrf_token(sue.get(f"/parties/{zenith}").get_data(as_text=True))}
    assert sue.post(f"{panel_url}/comments/{comment_id}/edit", headers=sue_headers,
                    data={"body": "hijacked"}).status_code == 403
    assert sue.post(f"{panel_url}/comments/{comment_id}/delete", headers=sue_headers).status_code == 403
    edited = sam.post(f"{panel_url}/comments/{comment_id}/edit", headers=htmx, data={"body": "Signs Monday"})
    assert "Signs Monday" in edited.get_data(as_text=True) and "(edited)" in edited.get_data(as_text=True)

    pat = signed_in(app, "pat@acme.test")
    assert pat.get(panel_url).status_code == 404
    pat_token = csrf_token(pat.get("/parties").get_data(as_text=True))
    assert pat.post(f"{panel_url}/comments", headers={"X-CSRFToken": pat_token},
                    data={"body": "peek"}).status_code == 404

    boss = signed_in(app, "admin@acme.test")
    boss_panel = boss.get(panel_url).get_data(as_text=True)
    assert 'name="assignee"' in boss_panel and 'name="department_id"' in boss_panel
    boss_headers = {"X-CSRFToken": csrf_token(boss.get(f"/parties/{zenith}").get_data(as_text=True))}
    assigned = boss.post(f"{panel_url}/assign?page=/parties/{zenith}", headers=boss_headers,
                         data={"assignee": f"user:{world.users['sue@acme.test']}"})
    assert assigned.status_code == 302 and assigned.headers["Location"] == f"/parties/{zenith}"
    assert [n.kind for n in notifications_of(world_platform, world, "sue@acme.test")] == ["mention", "assignment"]
    history = boss.get(panel_url).get_data(as_text=True)
    assert "core.party.updated" in history and "owner_user_id" in history

    # the same rules in the service: assignment, department shares, history, mentions after a share
    alice = world.parties["Alice Martin"]
    with world_platform.db.transaction(world.tenant_id) as session:
        admin.create_department(session, "Sales North")
    with acting(world_platform, world, "sam@acme.test") as session:
        with pytest.raises(PermissionDenied):  # staff hold no assign right
            service.assign(session, session.get(Party, alice), user_id=world.users["sue@acme.test"])
        mentions = service.parse_mentions(session, "ask @Sales North, cc @sales; not me@sales or @Salesforce")
        assert [session.get(Department, d).name for d in mentions.departments] == ["Sales North", "Sales"]

    with acting(world_platform, world, "admin@acme.test") as session:
        party = session.get(Party, alice)
        before = party.owner_user_id
        assert service.assign(session, party, user_id=world.users["sue@acme.test"]) == [world.users["sue@acme.test"]]
        with pytest.raises(ma.ValidationError, match="one user or one department"):
            service.assign(session, party)
        support = session.scalar(select(Department.id).where(Department.name == "Support"))
        shares = service.share_with_department(session, session.get(Party, zenith), support, ["read"])
        assert [s.action for s in shares] == ["read"]
        with pytest.raises(Conflict):
            service.share_with_department(session, session.get(Party, zenith), support, ["read"])

    told = notifications_of(world_platform, world, "sue@acme.test")[-1]
    assert (told.kind, told.url, told.body) == ("assignment", f"/parties/{alice}", "Alice Martin")
    with acting(world_platform, world, "admin@acme.test") as session:
        history = service.history(session, session.get(Party, alice))
        assert history[0].action == "core.party.updated"
        assert history[0].changes["owner_user_id"] == [before, world.users["sue@acme.test"]]
        assert service.history(session, session.get(Party, zenith))[0].action == "record.shared"

    # the department share opens Zenith to pat: now a mention reaches pat
    with acting(world_platform, world, "sam@acme.test") as session:
        posted = service.post_comment(session, session.get(Party, zenith), "@pat@acme.test over to you")
        assert posted.mentioned == [world.users["pat@acme.test"]] and posted.not_notified == []
    with acting(world_platform, world, "pat@acme.test") as session:
        assert service.find_record(session, "core.party", zenith).id == zenith
