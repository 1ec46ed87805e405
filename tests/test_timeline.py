"""The party timeline: a core event subscriber writes each event into the timeline of every party
it concerns; the API pages through it newest first, filtered, permission-scoped; a redelivered
event is written once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from xrm_sdk.testing import administrator_headers

from xrm_core import migrate, tenants
from xrm_core.app import create_app
from xrm_core.events import get_bus, publish
from xrm_core.events.envelope import Event
from xrm_core.events.models import OutboxEvent
from xrm_core.events.subscribers import registered_core_subscribers
from xrm_core.graph import service
from xrm_core.graph.history import TimelineEntry
from xrm_core.graph.timeline import SUBSCRIBER, parties_of, record_event
from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Scope
from xrm_core.identity.tokens import create_token
from xrm_core.models import User
from xrm_core.problems import PROBLEM_JSON


@pytest.fixture
def world(make_platform):
    """Tenant acme (bookings enabled): Alice and Bob, owned by Olga (who reads only her own
    parties), Hidden owned by nobody; tenant globex with its own party."""
    platform = make_platform("bookings")
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.create_tenant(session, "acme", "ACME")
        tenants.enable_plugin(platform, session, acme, "bookings")
        globex = tenants.create_tenant(session, "globex", "Globex")
        ids = {"acme": acme.id, "globex": globex.id}
    with platform.db.transaction(ids["acme"]) as session:
        olga = User(email="olga@acme.test", display_name="Olga", password_hash="-")
        session.add(olga)
        session.flush()
        role = admin.define_role(session, "own", {"core.party.read": Scope.OWN}, set(all_permissions(platform)))
        admin.assign_role(session, olga, role)
        ids["olga"] = {"Authorization": f"Bearer {create_token(session, olga, 'tests')[1]}"}
        for name in ("Alice", "Bob", "Hidden"):
            ids[name] = service.create_party(session, "person", name,
                                             owner_user_id=None if name == "Hidden" else olga.id).id
        service.define_relationship_type(session, "knows", "knows", symmetric=True)
    with platform.db.transaction(ids["globex"]) as session:
        ids["Globex"] = service.create_party(session, "organization", "Globex").id
    ids["admin"] = administrator_headers(platform, ids["acme"])
    ids["globex_admin"] = administrator_headers(platform, ids["globex"])
    bus = get_bus(platform)
    yield platform, bus, ids
    bus.stop()


@pytest.fixture
def client(world):
    app = create_app(platform=world[0])
    app.config["TESTING"] = True
    return app.test_client()


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    return response.get_json(force=True)


def timeline(client, ids, party, headers=None, **params) -> list[str]:
    response = client.get(f"/api/v1/parties/{ids[party]}/timeline", query_string=params,
                          headers=headers or ids["admin"])
    assert response.status_code == 200, response.get_json()
    return [entry["event_type"] for entry in response.get_json()["items"]]


def test_the_timeline_subscriber_is_a_core_subscriber_of_every_event():
    [subscriber] = [s for s in registered_core_subscribers() if s.name == SUBSCRIBER]
    assert subscriber.matches("core.party.created") and subscriber.matches("sales.quote.sent")


def test_events_reach_the_timeline_of_every_party_they_concern(world, client):
    platform, bus, ids = world
    created = client.post("/api/v1/relationships", json={
        "from_party_id": ids["Alice"], "to_party_id": ids["Bob"], "type": "knows"}, headers=ids["admin"])
    assert created.status_code == 201
    assert client.post(f"/api/v1/parties/{ids['Alice']}/roles", json={"role": "customer"},
                       headers=ids["admin"]).status_code == 201
    with platform.db.transaction(ids["acme"]) as session:
        publish(session, "bookings.booking.created", ("bookings_bookings", "7"), {"room": "blue"}, "plugin:bookings",
                related=[ids["Alice"]])
        publish(session, "core.party.updated", ("core_parties", str(ids["Bob"])), {"changed": ["tags"]}, "cli")
    bus.run_until_idle()

    assert timeline(client, ids, "Alice") == ["bookings.booking.created", "core.role.assigned",
                                              "core.relationship.created"]
    assert timeline(client, ids, "Bob") == ["core.party.updated", "core.relationship.created"]
    assert timeline(client, ids, "Hidden") == []
    assert timeline(client, ids, "Alice", type_prefix="core.relationship.") == ["core.relationship.created"]
    assert timeline(client, ids, "Alice", type_prefix="core.") == ["core.role.assigned", "core.relationship.created"]
    assert timeline(client, ids, "Alice", source="bookings") == ["bookings.booking.created"]
    assert timeline(client, ids, "Alice", type_prefix="core%") == []
    entry = client.get(f"/api/v1/parties/{ids['Alice']}/timeline", headers=ids["admin"]).get_json()["items"][0]
    assert (entry["actor"], entry["subject_type"], entry["subject_id"], entry["payload"]) == (
        "plugin:bookings", "bookings_bookings", "7", {"room": "blue"})


def test_the_timeline_is_paged_newest_first_with_keyset_cursors(world, client):
    platform, bus, ids = world
    with platform.db.transaction(ids["acme"]) as session:
        for number in range(7):
            publish(session, "bookings.booking.created", ("bookings_bookings", str(number)), {"n": number},
                    "plugin:bookings", related=[ids["Alice"]])
    bus.run_until_idle()
    seen, url, pages = [], f"/api/v1/parties/{ids['Alice']}/timeline?limit=3", 0
    while url:
        response = client.get(url, headers=ids["admin"])
        body = response.get_json()
        seen += [entry["payload"]["n"] for entry in body["items"]]
        pages += 1
        link = response.headers.get("Link")
        assert (link is None) == (body["next_cursor"] is None)
        url = link[1:link.index(">")] if link else None
    assert seen == [6, 5, 4, 3, 2, 1, 0]
    assert pages == 3


def test_a_redelivered_event_is_written_once(world):
    platform, bus, ids = world
    with platform.db.transaction(ids["acme"]) as session:
        publish(session, "bookings.booking.created", ("bookings_bookings", "1"), {}, "plugin:bookings",
                related=[ids["Alice"], ids["Bob"], ids["Alice"], 999_999, ids["Globex"]])
    bus.run_until_idle()
    with platform.db.transaction(ids["acme"]) as session:
        event = Event.from_row(session.scalar(select(OutboxEvent)))
        assert parties_of(event) == [ids["Alice"], ids["Bob"], 999_999, ids["Globex"]]
        # Delivered again (a crash before the processed record, a replay): nothing new.
        assert record_event(event, session) == []
    with platform.db.session(all_tenants=True) as session:
        rows = session.execute(select(TimelineEntry.tenant_id, TimelineEntry.party_id)
                               .order_by(TimelineEntry.party_id)).all()
    # Unknown ids and another tenant's party are skipped.
    assert rows == [(ids["acme"], ids["Alice"]), (ids["acme"], ids["Bob"])]
    with pytest.raises(IntegrityError), platform.db.transaction(ids["acme"]) as session:
        entry = session.scalar(select(TimelineEntry).limit(1))
        session.add(TimelineEntry(party_id=entry.party_id, event_id=entry.event_id, event_type=entry.event_type,
                                  source="bookings", actor="x", subject_type="x", subject_id="1"))
    with platform.db.session(all_tenants=True) as session:
        assert session.scalar(select(func.count()).select_from(TimelineEntry)) == 2


def test_the_timeline_is_permission_scoped(world, client):
    platform, bus, ids = world
    with platform.db.transaction(ids["acme"]) as session:
        publish(session, "core.party.updated", ("core_parties", str(ids["Alice"])), {}, "cli")
    bus.run_until_idle()
    assert timeline(client, ids, "Alice", headers=ids["olga"]) == ["core.party.updated"]
    assert_problem(client.get(f"/api/v1/parties/{ids['Hidden']}/timeline", headers=ids["olga"]), 404)
    assert_problem(client.get(f"/api/v1/parties/{ids['Alice']}/timeline", headers=ids["globex_admin"]), 404)
    assert_problem(client.get(f"/api/v1/parties/{ids['Alice']}/timeline"), 401)


@pytest.mark.parametrize("params, field, status", [
    ({"limit": 0}, "limit", 422),
    ({"limit": 101}, "limit", 422),
    ({"limit": "many"}, "limit", 422),
    ({"colour": "red"}, "colour", 422),
    ({"cursor": "forged"}, "cursor", 400),
])
def test_bad_timeline_queries_are_refused_naming_the_parameter(world, client, params, field, status):
    _, _, ids = world
    body = assert_problem(client.get(f"/api/v1/parties/{ids['Alice']}/timeline", query_string=params,
                                     headers=ids["admin"]), status)
    assert field in body["errors"]
