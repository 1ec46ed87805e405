"""Party merge: the loser's relationships, roles, identifiers, tags, custom values, timeline and
plugin records move to the survivor; duplicates are folded, self-loops dropped; the loser's id
keeps resolving; a failing plugin or a missing right leaves everything as it was."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from xrm_fx_bookings.plugin import IMMOVABLE, Booking
from xrm_sdk.testing import administrator_headers

from xrm_core import migrate, tenants
from xrm_core.app import create_app
from xrm_core.events import get_bus, publish
from xrm_core.events.models import OutboxEvent
from xrm_core.graph import GraphRuleError, service
from xrm_core.graph.history import PartyAlias, TimelineEntry
from xrm_core.graph.merge import merge_parties, resolve_alias
from xrm_core.graph.models import Party, PartyIdentifier, PartyRoleAssignment, Relationship
from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Scope
from xrm_core.identity.tokens import create_token
from xrm_core.models import AuditEntry, Tenant, User
from xrm_core.problems import PROBLEM_JSON


@pytest.fixture
def world(make_platform):
    """Tenant acme (bookings enabled). Alice (survivor) and "A. Smith" (loser, a duplicate of her):

    * both are employed by Acme (overlapping periods: folded), the loser knows Bob (moved), the two
      know each other (dropped), Carol knows each of them, stored in opposite orientations (folded);
    * Alice was a customer 2020-2022, the loser a customer since 2022 (joined) and a supplier (moved);
    * each has an identifier, tags, custom values, bookings and a timeline entry.
    """
    platform = make_platform("bookings")
    migrate.upgrade(platform)
    bus = get_bus(platform)
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.create_tenant(session, "acme", "ACME")
        tenants.enable_plugin(platform, session, acme, "bookings")
        globex = tenants.create_tenant(session, "globex", "Globex")
        ids = {"acme": acme.id, "globex": globex.id}
    with platform.db.transaction(ids["acme"]) as session:
        party = {}
        for name, kind in (("Alice", "person"), ("A. Smith", "person"), ("Acme", "organization"), ("Bob", "person"),
                           ("Carol", "person")):
            party[name] = service.create_party(session, kind, name)
            ids[name] = party[name].id
        alice, loser = party["Alice"], party["A. Smith"]
        alice.tags, loser.tags = ["vip"], ["vip", "newsletter"]
        alice.custom, loser.custom = {"shoe_size": 38, "nickname": None}, {"shoe_size": 40, "nickname": "Al"}
        session.add_all([PartyIdentifier(party_id=alice.id, source="crm", value="1"),
                         PartyIdentifier(party_id=loser.id, source="erp", value="77")])
        service.define_relationship_type(session, "employs", "employs", "is employed by")
        service.define_relationship_type(session, "knows", "knows", symmetric=True)
        service.add_role(session, alice, "customer", date(2020, 1, 1), date(2022, 6, 30))
        service.add_role(session, loser, "customer", date(2022, 1, 1))
        service.add_role(session, loser, "supplier", date(2023, 1, 1))
        ids["alice-employs"] = service.relate(session, party["Acme"], alice, "employs", date(2020, 1, 1),
                                              attributes={"title": "CEO"}, notes="hired in 2020").id
        ids["loser-employs"] = service.relate(session, party["Acme"], loser, "employs", date(2019, 1, 1),
                                              date(2024, 1, 1), attributes={"title": "CTO", "desk": "4B"},
                                              notes="badge 12").id
        ids["loser-bob"] = service.relate(session, loser, party["Bob"], "knows").id
        ids["self"] = service.relate(session, alice, loser, "knows").id
        ids["carol-alice"] = service.relate(session, party["Carol"], alice, "knows").id
        ids["loser-carol"] = service.relate(session, loser, party["Carol"], "knows").id
        session.add_all([Booking(party_id=loser.id, label="room 1"), Booking(party_id=loser.id, label="room 2"),
                         Booking(party_id=alice.id, label="room 3")])
        publish(session, "core.party.updated", loser, {"changed": ["tags"]}, "cli")
        publish(session, "core.party.updated", alice, {"changed": ["tags"]}, "cli")
        publish(session, "bookings.booking.created", ("bookings_bookings", "1"), {}, "plugin:bookings",
                related=[alice.id, loser.id])
    with platform.db.transaction(ids["globex"]) as session:
        ids["Globex"] = service.create_party(session, "person", "Globex person").id
    bus.run_until_idle()
    ids["admin"] = administrator_headers(platform, ids["acme"])
    ids["globex_admin"] = administrator_headers(platform, ids["globex"])
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
    assert "Traceback" not in response.get_data(as_text=True)
    return response.get_json(force=True)


def user_headers(platform, tenant_id, name, grants):
    with platform.db.transaction(tenant_id) as session:
        user = User(email=f"{name}@acme.test", display_name=name, password_hash="-")
        session.add(user)
        session.flush()
        role = admin.define_role(session, f"role-{name}", grants, set(all_permissions(platform)))
        admin.assign_role(session, user, role)
        return {"Authorization": f"Bearer {create_token(session, user, 'tests')[1]}"}


def snapshot(platform) -> list:
    """Every row a merge touches, to show that a refused merge changed nothing."""
    with platform.db.session(all_tenants=True) as session:
        return [
            session.execute(select(Party.id, Party.tags, Party.custom, Party.version).order_by(Party.id)).all(),
            session.execute(select(Relationship.id, Relationship.from_party_id, Relationship.to_party_id,
                                   Relationship.valid_from, Relationship.valid_to).order_by(Relationship.id)).all(),
            session.execute(select(PartyRoleAssignment.id, PartyRoleAssignment.party_id, PartyRoleAssignment.valid_to)
                            .order_by(PartyRoleAssignment.id)).all(),
            session.execute(select(PartyIdentifier.party_id, PartyIdentifier.value).order_by(PartyIdentifier.id)).all(),
            session.execute(select(Booking.id, Booking.party_id).order_by(Booking.id)).all(),
            session.execute(select(TimelineEntry.id, TimelineEntry.party_id).order_by(TimelineEntry.id)).all(),
            session.scalar(select(func.count()).select_from(PartyAlias)),
            session.scalar(select(func.count()).select_from(OutboxEvent)),
        ]


def merge(client, ids, survivor="Alice", loser="A. Smith", headers=None):
    return client.post(f"/api/v1/parties/{ids[survivor]}/merge", json={"loser_id": ids[loser]},
                       headers=headers or ids["admin"])


def test_merge_moves_everything_to_the_survivor(world, client):
    platform, bus, ids = world
    response = merge(client, ids)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["merge"] == {
        "survivor_id": ids["Alice"], "loser_id": ids["A. Smith"], "relationships_moved": 1,
        "relationships_folded": 2, "relationships_dropped": 1, "roles_moved": 1, "identifiers_moved": 1,
        "plugins": ["bookings"]}
    assert body["party"]["tags"] == ["vip", "newsletter"]
    assert body["party"]["custom"] == {"shoe_size": 38, "nickname": "Al"}

    with platform.db.session(ids["acme"]) as session:
        assert session.get(Party, ids["A. Smith"]) is None
        rels = {r.id: r for r in session.scalars(select(Relationship))}
        assert set(rels) == {ids["alice-employs"], ids["loser-bob"], ids["carol-alice"]}
        employs = rels[ids["alice-employs"]]
        assert (employs.valid_from, employs.valid_to) == (date(2019, 1, 1), None)
        assert employs.attributes == {"title": "CEO", "desk": "4B"}
        assert employs.notes == "hired in 2020\n\nbadge 12"
        assert (rels[ids["loser-bob"]].from_party_id, rels[ids["loser-bob"]].to_party_id) == (ids["Alice"], ids["Bob"])
        roles = session.execute(select(PartyRoleAssignment.role, PartyRoleAssignment.valid_from,
                                       PartyRoleAssignment.valid_to).where(PartyRoleAssignment.party_id == ids["Alice"])
                                .order_by(PartyRoleAssignment.role)).all()
        assert roles == [("customer", date(2020, 1, 1), None), ("supplier", date(2023, 1, 1), None)]
        assert sorted(session.scalars(select(PartyIdentifier.value).where(PartyIdentifier.party_id == ids["Alice"]))) \
            == ["1", "77"]
        # The plugin's records followed the survivor (without the hook they would be deleted with the loser).
        assert sorted(session.execute(select(Booking.label, Booking.party_id)).all()) == [
            ("room 1", ids["Alice"]), ("room 2", ids["Alice"]), ("room 3", ids["Alice"])]
        assert resolve_alias(session, ids["A. Smith"]) == ids["Alice"]
        assert resolve_alias(session, ids["Alice"]) is None
        audit = session.scalar(select(AuditEntry).where(AuditEntry.action == "party.merged"))
        assert (audit.target, audit.details["loser_id"], audit.details["loser_name"]) == (
            f"core.party:{ids['Alice']}", ids["A. Smith"], "A. Smith")
        merged = session.scalar(select(OutboxEvent).where(OutboxEvent.type == "core.party.merged"))
        assert (merged.subject_id, merged.payload["loser_id"]) == (str(ids["Alice"]), ids["A. Smith"])
    bus.run_until_idle()
    timeline = client.get(f"/api/v1/parties/{ids['Alice']}/timeline", headers=ids["admin"]).get_json()["items"]
    # Both updates, the shared booking event once, then the merge itself, newest first.
    assert [e["event_type"] for e in timeline] == ["core.party.merged", "bookings.booking.created",
                                                   "core.party.updated", "core.party.updated"]


def test_events_about_a_merged_party_reach_the_survivor(world, client):
    platform, bus, ids = world
    assert merge(client, ids).status_code == 200
    with platform.db.transaction(ids["acme"]) as session:
        publish(session, "bookings.booking.created", ("bookings_bookings", "9"), {}, "plugin:bookings",
                related=[ids["A. Smith"]])
    bus.run_until_idle()
    with platform.db.session(ids["acme"]) as session:
        assert session.scalars(select(TimelineEntry.party_id).where(TimelineEntry.subject_id == "9")).all() == [
            ids["Alice"]]


def test_merging_again_repoints_the_aliases(world, client):
    platform, _, ids = world
    assert merge(client, ids).status_code == 200
    assert merge(client, ids, survivor="Bob", loser="Alice").status_code == 200
    with platform.db.session(ids["acme"]) as session:
        assert resolve_alias(session, ids["A. Smith"]) == ids["Bob"]
        assert resolve_alias(session, ids["Alice"]) == ids["Bob"]
        # Alice knew Bob: that relationship became a self-loop and was dropped.
        assert session.scalar(select(func.count()).select_from(Relationship).where(
            Relationship.from_party_id == Relationship.to_party_id)) == 0


def test_a_failing_plugin_refuses_the_whole_merge(world, client):
    platform, _, ids = world
    with platform.db.transaction(ids["acme"]) as session:
        session.add(Booking(party_id=ids["A. Smith"], label=IMMOVABLE))
    before = snapshot(platform)
    body = assert_problem(merge(client, ids), 409)
    assert "plugin bookings could not move its records" in body["detail"]
    assert snapshot(platform) == before


def test_merge_needs_update_on_the_survivor_and_delete_on_the_loser(world, client):
    platform, _, ids = world
    updater = user_headers(platform, ids["acme"], "updater",
                           {"core.party.read": Scope.TENANT, "core.party.update": Scope.TENANT})
    deleter = user_headers(platform, ids["acme"], "deleter",
                           {"core.party.read": Scope.TENANT, "core.party.delete": Scope.TENANT})
    blind = user_headers(platform, ids["acme"], "blind", {"core.party.read": Scope.OWN,
                                                           "core.party.update": Scope.TENANT,
                                                           "core.party.delete": Scope.TENANT})
    before = snapshot(platform)
    assert_problem(merge(client, ids, headers=updater), 403)
    assert_problem(merge(client, ids, headers=deleter), 403)
    assert_problem(merge(client, ids, headers=blind), 404)
    assert_problem(merge(client, ids, headers=ids["globex_admin"]), 404)
    assert_problem(merge(client, ids, loser="Globex"), 404)
    assert "loser_id" in assert_problem(merge(client, ids, loser="Alice"), 422)["errors"]
    assert "loser_id" in assert_problem(client.post(f"/api/v1/parties/{ids['Alice']}/merge", json={},
                                                    headers=ids["admin"]), 422)["errors"]
    assert "loser_id" in assert_problem(client.post(f"/api/v1/parties/{ids['Alice']}/merge",
                                                    json={"loser_id": "A. Smith"}, headers=ids["admin"]),
                                        422)["errors"]
    assert_problem(client.post(f"/api/v1/parties/{ids['Alice']}/merge", json={"loser_id": ids["Bob"]}), 401)
    assert snapshot(platform) == before


def test_the_service_refuses_merging_a_party_into_itself(world):
    platform, _, ids = world
    with platform.db.session(ids["acme"]) as session:
        alice = session.get(Party, ids["Alice"])
        with pytest.raises(GraphRuleError, match="into itself"):
            merge_parties(session, platform, alice, alice, "cli")


def test_hook_xrm_merge_parties(world):
    """The hook is called with the tenant, the merge's session and both ids, before the loser goes."""
    platform, _, ids = world
    with platform.db.transaction(ids["acme"]) as session:
        tenant = session.get(Tenant, ids["acme"])
        results = platform.host.call("xrm_merge_parties", only=["bookings"], tenant=tenant, session=session,
                                     survivor_id=ids["Bob"], loser_id=ids["A. Smith"])
        assert results == [("bookings", None)]
        assert session.scalars(select(Booking.party_id).where(Booking.label == "room 1")).all() == [ids["Bob"]]


def test_a_merged_partys_id_redirects_to_the_survivor_for_those_who_see_it(world, client):
    platform, _, ids = world
    assert merge(client, ids).status_code == 200
    response = client.get(f"/api/v1/parties/{ids['A. Smith']}", headers=ids["admin"])
    assert response.status_code == 308
    assert response.headers["Location"].endswith(f"/api/v1/parties/{ids['Alice']}")
    assert client.get(response.headers["Location"], headers=ids["admin"]).get_json()["display_name"] == "Alice"
    # An id that never existed is still a plain 404.
    assert client.get("/api/v1/parties/987654", headers=ids["admin"]).status_code == 404
