"""The party graph over REST: roles, relationship types, relationships and graph queries, with
bad input refused (422, nothing changed) and nothing leaking outside the caller's tenant or scope."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from xrm_sdk.testing import administrator_headers

from xrm_core import migrate, tenants
from xrm_core.events.models import OutboxEvent
from xrm_core.graph import service
from xrm_core.graph.models import Party, PartyRoleAssignment, Relationship, RelationshipTypeDef
from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Scope
from xrm_core.identity.tokens import create_token
from xrm_core.models import User
from xrm_core.problems import PROBLEM_JSON


def user_headers(platform, tenant_id: int, name: str, grants: dict[str, Scope]) -> dict[str, str]:
    """Headers of a new user of the tenant holding exactly ``grants`` (owning nothing yet)."""
    with platform.db.transaction(tenant_id) as session:
        user = User(email=f"{name}@acme.test", display_name=name, password_hash="-")
        session.add(user)
        session.flush()
        role = admin.define_role(session, f"role-{name}", grants, set(all_permissions(platform)))
        admin.assign_role(session, user, role)
        _, token = create_token(session, user, "tests")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def world(make_platform):
    """Tenant acme: Acme (organization), Alice and Bob (people), types employs and knows; Alice is
    employed by Acme and knows Bob. Tenant globex has a party of its own."""
    platform = make_platform()
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.create_tenant(session, "acme", "ACME").id
        globex = tenants.create_tenant(session, "globex", "Globex").id
    ids = {"acme": acme, "globex": globex}
    with platform.db.transaction(acme) as session:
        for name, kind in (("Acme", "organization"), ("Alice", "person"), ("Bob", "person"), ("Hidden", "person")):
            ids[name] = service.create_party(session, kind, name).id
        service.define_relationship_type(session, "employs", "employs", "is employed by",
                                         from_kinds=["organization"], to_kinds=["person"], to_roles=["employee"])
        service.define_relationship_type(session, "knows", "knows", symmetric=True)
        alice, acme_org, bob, hidden = (session.get(Party, ids[n]) for n in ("Alice", "Acme", "Bob", "Hidden"))
        service.add_role(session, alice, "employee", date(2020, 1, 1))
        ids["employs"] = service.relate(session, acme_org, alice, "employs", date(2020, 1, 1)).id
        ids["knows"] = service.relate(session, alice, bob, "knows").id
        ids["alice-hidden"] = service.relate(session, alice, hidden, "knows").id
        ids["hidden-bob"] = service.relate(session, hidden, bob, "knows").id
    with platform.db.transaction(globex) as session:
        ids["Globex"] = service.create_party(session, "organization", "Globex").id
    ids["admin"] = administrator_headers(platform, acme)
    ids["globex_admin"] = administrator_headers(platform, globex)
    return platform, ids


@pytest.fixture
def client(world):
    from xrm_core.app import create_app

    app = create_app(platform=world[0])
    app.config["TESTING"] = True
    return app.test_client()


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    assert "Traceback" not in response.get_data(as_text=True)
    return response.get_json(force=True)


def graph_rows(platform) -> list:
    """Everything the graph endpoints could change, to show a refused request changed nothing."""
    with platform.db.session(all_tenants=True) as session:
        return [
            session.execute(select(Relationship.id, Relationship.from_party_id, Relationship.to_party_id,
                                   Relationship.valid_to, Relationship.version, Relationship.notes)
                            .order_by(Relationship.id)).all(),
            session.execute(select(PartyRoleAssignment.id, PartyRoleAssignment.role, PartyRoleAssignment.valid_to)
                            .order_by(PartyRoleAssignment.id)).all(),
            session.execute(select(RelationshipTypeDef.code, RelationshipTypeDef.forward_label)
                            .order_by(RelationshipTypeDef.id)).all(),
            session.scalar(select(func.count()).select_from(OutboxEvent)),
        ]


# -- roles --------------------------------------------------------------------------------------


def test_roles_are_listed_added_with_dates_and_ended(world, client):
    platform, ids = world
    url = f"/api/v1/parties/{ids['Bob']}/roles"
    assert client.get(url, headers=ids["admin"]).get_json() == []

    added = client.post(url, json={"role": "customer", "valid_from": "2023-01-01"}, headers=ids["admin"])
    assert added.status_code == 201, added.get_json()
    role = added.get_json()
    assert (role["role"], role["valid_from"], role["valid_to"]) == ("customer", "2023-01-01", None)

    ended = client.post(f"{url}/{role['id']}/end", json={"on": "2024-06-30"}, headers=ids["admin"])
    assert ended.status_code == 200
    assert ended.get_json()["valid_to"] == "2024-06-30"
    assert [r["valid_to"] for r in client.get(url, headers=ids["admin"]).get_json()] == ["2024-06-30"]
    with platform.db.session(ids["acme"]) as session:
        assert session.scalars(select(OutboxEvent.type).where(OutboxEvent.type.like("core.role.%"))
                               .order_by(OutboxEvent.id)).all() == ["core.role.assigned", "core.role.ended"]


def test_bad_roles_are_422_naming_the_field_and_change_nothing(world, client):
    platform, ids = world
    url = f"/api/v1/parties/{ids['Bob']}/roles"
    before = graph_rows(platform)
    assert "role" in assert_problem(client.post(url, json={"role": "wizard"}, headers=ids["admin"]), 422)["errors"]
    body = assert_problem(client.post(url, json={"role": "customer", "valid_from": "yesterday"},
                                      headers=ids["admin"]), 422)
    assert "valid_from" in body["errors"]
    body = assert_problem(client.post(url, json={"role": "customer", "valid_from": "2024-02-01",
                                                 "valid_to": "2024-01-01"}, headers=ids["admin"]), 422)
    assert "ends" in body["errors"]["valid_to"][0]
    alice_role = client.get(f"/api/v1/parties/{ids['Alice']}/roles", headers=ids["admin"]).get_json()[0]
    too_early = client.post(f"/api/v1/parties/{ids['Alice']}/roles/{alice_role['id']}/end", json={"on": "2019-01-01"},
                            headers=ids["admin"])
    assert "on" in assert_problem(too_early, 422)["errors"]
    assert graph_rows(platform) == before


# -- relationship types -------------------------------------------------------------------------


def test_relationship_types_are_listed_and_defined_by_tenant_administrators(world, client):
    platform, ids = world
    listed = client.get("/api/v1/relationship-types", headers=ids["admin"]).get_json()
    assert [t["code"] for t in listed["items"]] == ["employs", "knows"]

    created = client.post("/api/v1/relationship-types", json={
        "code": "supplies", "forward_label": "supplies", "inverse_label": "is supplied by",
        "from_kinds": ["organization"], "to_kinds": ["organization"]}, headers=ids["admin"])
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["source"] == "tenant"
    changed = client.patch("/api/v1/relationship-types/supplies", json={"inverse_label": "buys from"},
                           headers=ids["admin"])
    assert changed.get_json()["inverse_label"] == "buys from"

    reader = user_headers(platform, ids["acme"], "reader", {"core.party.read": Scope.TENANT})
    assert [t["code"] for t in client.get("/api/v1/relationship-types", headers=reader).get_json()["items"]] == [
        "employs", "knows", "supplies"]
    before = graph_rows(platform)
    assert_problem(client.post("/api/v1/relationship-types", json={"code": "x", "forward_label": "x",
                                                                   "symmetric": True}, headers=reader), 403)
    assert_problem(client.patch("/api/v1/relationship-types/supplies", json={"forward_label": "y"},
                                headers=reader), 403)
    # Another tenant's administrator sees its own (empty) list and cannot reach ours.
    assert client.get("/api/v1/relationship-types", headers=ids["globex_admin"]).get_json()["items"] == []
    assert_problem(client.patch("/api/v1/relationship-types/supplies", json={"forward_label": "y"},
                                headers=ids["globex_admin"]), 404)
    assert graph_rows(platform) == before

    # Deleting: not by a reader, not across tenants, not while relationships use the type.
    assert_problem(client.delete("/api/v1/relationship-types/supplies", headers=reader), 403)
    assert_problem(client.delete("/api/v1/relationship-types/supplies", headers=ids["globex_admin"]), 404)
    in_use = assert_problem(client.delete("/api/v1/relationship-types/employs", headers=ids["admin"]), 409)
    assert "1 relationship(s) use it" in in_use["detail"]
    assert graph_rows(platform) == before
    assert client.delete("/api/v1/relationship-types/supplies", headers=ids["admin"]).status_code == 204
    assert [t["code"] for t in client.get("/api/v1/relationship-types", headers=ids["admin"]).get_json()["items"]] == [
        "employs", "knows"]


def test_bad_relationship_types_are_422_or_409(world, client):
    platform, ids = world
    before = graph_rows(platform)
    bad = [
        ({"code": "Not A Code", "forward_label": "x", "inverse_label": "y"}, "code"),
        ({"code": "ok", "forward_label": "x", "inverse_label": "y", "from_kinds": ["robot"]}, "from_kinds"),
        ({"code": "ok", "forward_label": "x", "inverse_label": "y", "to_roles": ["wizard"]}, "to_roles"),
        ({"code": "ok", "forward_label": "x"}, "inverse_label"),
        ({"code": "ok", "forward_label": "x", "symmetric": True, "from_kinds": ["person"]}, "code"),
        ({"code": "ok"}, "forward_label"),
        ({"code": "ok", "forward_label": "x", "colour": "red"}, "colour"),
    ]
    for body, field in bad:
        assert field in assert_problem(client.post("/api/v1/relationship-types", json=body, headers=ids["admin"]),
                                       422)["errors"], body
    assert_problem(client.post("/api/v1/relationship-types", json={"code": "knows", "forward_label": "x",
                                                                   "symmetric": True}, headers=ids["admin"]), 409)
    assert "from_kinds" in assert_problem(client.patch("/api/v1/relationship-types/employs",
                                                       json={"from_kinds": ["robot"]}, headers=ids["admin"]),
                                          422)["errors"]
    assert_problem(client.patch("/api/v1/relationship-types/knows", json={"to_kinds": ["person"]},
                                headers=ids["admin"]), 422)
    assert_problem(client.patch("/api/v1/relationship-types/nope", json={"forward_label": "x"},
                                headers=ids["admin"]), 404)
    assert graph_rows(platform) == before


# -- relationships -----------------------------------------------------------------------------


def test_relationships_are_created_read_patched_with_if_match_and_ended(world, client):
    platform, ids = world
    created = client.post("/api/v1/relationships", json={
        "from_party_id": ids["Acme"], "to_party_id": ids["Bob"], "type": "knows",
        "valid_from": "2024-01-01", "attributes": {"since": "school"}}, headers=ids["admin"])
    assert created.status_code == 201, created.get_json()
    rel = created.get_json()
    assert created.headers["Location"].endswith(f"/api/v1/relationships/{rel['id']}")
    assert (rel["type"], rel["from_party_id"], rel["attributes"]) == ("knows", ids["Acme"], {"since": "school"})

    got = client.get(f"/api/v1/relationships/{rel['id']}", headers=ids["admin"])
    assert got.headers["ETag"] == rel["etag"]
    url = f"/api/v1/relationships/{rel['id']}"
    assert_problem(client.patch(url, json={"notes": "met at school"}, headers=ids["admin"]), 428)
    assert_problem(client.patch(url, json={"notes": "x"}, headers={**ids["admin"], "If-Match": '"stale"'}), 412)
    patched = client.patch(url, json={"notes": "met at school"}, headers={**ids["admin"], "If-Match": got.headers["ETag"]})
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["notes"] == "met at school"
    assert patched.headers["ETag"] != got.headers["ETag"]
    assert_problem(client.patch(url, json={"notes": "again"}, headers={**ids["admin"], "If-Match": got.headers["ETag"]}),
                   412)

    ended = client.post(f"{url}/end", json={"on": "2024-12-31"}, headers=ids["admin"])
    assert ended.get_json()["valid_to"] == "2024-12-31"
    with platform.db.session(ids["acme"]) as session:
        types = session.scalars(select(OutboxEvent.type).where(OutboxEvent.subject_id == str(rel["id"]))
                                .order_by(OutboxEvent.id)).all()
        related = session.scalar(select(OutboxEvent.related).where(OutboxEvent.subject_id == str(rel["id"])))
    assert types == ["core.relationship.created", "core.relationship.updated", "core.relationship.ended"]
    assert sorted(related) == sorted([ids["Acme"], ids["Bob"]])


def test_relationships_breaking_the_type_rules_are_422_naming_the_end(world, client):
    platform, ids = world
    before = graph_rows(platform)

    def refused(body, field):
        errors = assert_problem(client.post("/api/v1/relationships", json=body, headers=ids["admin"]), 422)["errors"]
        assert list(errors) == [field], errors
        return errors[field][0]

    base = {"from_party_id": ids["Acme"], "to_party_id": ids["Bob"]}
    assert "does not admit kind 'person' at its from end" in refused(
        {**base, "from_party_id": ids["Alice"], "type": "employs"}, "from_party_id")
    assert "needs the to end to be employee" in refused({**base, "type": "employs"}, "to_party_id")
    assert "unknown relationship type" in refused({**base, "type": "owns"}, "type")
    assert "itself" in refused({**base, "to_party_id": ids["Acme"], "type": "knows"}, "to_party_id")
    refused({**base, "type": "knows", "valid_from": "2024-02-01", "valid_to": "2024-01-01"}, "valid_to")
    refused({**base, "type": "knows", "valid_from": "31/12/2024"}, "valid_from")
    rel = f"/api/v1/relationships/{ids['employs']}/end"
    assert "on" in assert_problem(client.post(rel, json={"on": "2019-12-31"}, headers=ids["admin"]), 422)["errors"]
    assert "on" in assert_problem(client.post(rel, json={"on": "soon"}, headers=ids["admin"]), 422)["errors"]
    assert graph_rows(platform) == before


def test_relationships_need_link_rights_and_never_leak_across_tenants_or_scopes(world, client):
    platform, ids = world
    reader = user_headers(platform, ids["acme"], "reader", {"core.party.read": Scope.TENANT})
    before = graph_rows(platform)
    body = {"from_party_id": ids["Acme"], "to_party_id": ids["Bob"], "type": "knows"}
    assert_problem(client.post("/api/v1/relationships", json=body, headers=reader), 403)
    assert client.get(f"/api/v1/relationships/{ids['knows']}", headers=reader).status_code == 200
    etag = client.get(f"/api/v1/relationships/{ids['knows']}", headers=reader).headers["ETag"]
    assert_problem(client.patch(f"/api/v1/relationships/{ids['knows']}", json={"notes": "x"},
                                headers={**reader, "If-Match": etag}), 403)
    assert_problem(client.post(f"/api/v1/relationships/{ids['knows']}/end", json={"on": "2030-01-01"},
                               headers=reader), 403)
    assert_problem(client.post(f"/api/v1/parties/{ids['Bob']}/roles", json={"role": "customer"}, headers=reader), 403)
    # Another tenant: its ids are simply not found, whatever the verb.
    globex = ids["globex_admin"]
    assert_problem(client.get(f"/api/v1/relationships/{ids['knows']}", headers=globex), 404)
    assert_problem(client.post(f"/api/v1/relationships/{ids['knows']}/end", json={"on": "2030-01-01"},
                               headers=globex), 404)
    assert_problem(client.post("/api/v1/relationships", json={**body, "to_party_id": ids["Globex"]},
                               headers=ids["admin"]), 404)
    assert_problem(client.get(f"/api/v1/parties/{ids['Alice']}/roles", headers=globex), 404)
    assert graph_rows(platform) == before


# -- graph queries ------------------------------------------------------------------------------


def test_neighbours_filtered_by_type_role_direction_and_date(world, client):
    _, ids = world
    url = f"/api/v1/parties/{ids['Alice']}/neighbours"
    names = lambda response: [(n["party"]["display_name"], n["direction"]) for n in response.get_json()]
    assert names(client.get(url, headers=ids["admin"])) == [("Acme", "in"), ("Bob", "both"), ("Hidden", "both")]
    assert names(client.get(f"{url}?type=employs", headers=ids["admin"])) == [("Acme", "in")]
    assert names(client.get(f"{url}?direction=out", headers=ids["admin"])) == [("Bob", "both"), ("Hidden", "both")]
    assert names(client.get(f"{url}?as_of=2019-06-01", headers=ids["admin"])) == [("Bob", "both"), ("Hidden", "both")]
    assert names(client.get(f"{url}?as_of=all&type=employs,knows", headers=ids["admin"]))[0] == ("Acme", "in")
    assert names(client.get(f"/api/v1/parties/{ids['Acme']}/neighbours?role=employee",
                            headers=ids["admin"])) == [("Alice", "out")]
    first = client.get(url, headers=ids["admin"]).get_json()[0]
    assert first["relationship"]["type"] == "employs"
    # The relationship's own ETag, as GET /relationships/<id> gives it.
    assert first["relationship"]["etag"] == client.get(f"/api/v1/relationships/{ids['employs']}",
                                                       headers=ids["admin"]).headers["ETag"]


def test_neighbourhood_and_paths(world, client):
    _, ids = world
    got = client.get(f"/api/v1/parties/{ids['Acme']}/neighbourhood?depth=2", headers=ids["admin"]).get_json()
    assert [(n["display_name"], n["hops"]) for n in got["nodes"]] == [
        ("Acme", 0), ("Alice", 1), ("Bob", 2), ("Hidden", 2)]
    assert {e["id"] for e in got["edges"]} == {ids[n] for n in ("employs", "knows", "alice-hidden", "hidden-bob")}
    got = client.get(f"/api/v1/parties/{ids['Acme']}/neighbourhood?depth=0", headers=ids["admin"]).get_json()
    assert got == {"nodes": [{"id": ids["Acme"], "kind": "organization", "display_name": "Acme", "hops": 0}],
                   "edges": []}

    paths = client.get(f"/api/v1/paths?from={ids['Acme']}&to={ids['Bob']}", headers=ids["admin"]).get_json()
    assert paths["paths"] == [{"party_ids": [ids["Acme"], ids["Alice"], ids["Bob"]],
                               "relationship_ids": [ids["employs"], ids["knows"]]}]
    assert {p["display_name"] for p in paths["parties"]} == {"Acme", "Alice", "Bob"}
    assert client.get(f"/api/v1/paths?from={ids['Acme']}&to={ids['Bob']}&max_hops=1",
                      headers=ids["admin"]).get_json()["paths"] == []


@pytest.mark.parametrize("url, field", [
    ("/parties/{Alice}/neighbourhood?depth=5", "depth"),
    ("/parties/{Alice}/neighbourhood?depth=-1", "depth"),
    ("/parties/{Alice}/neighbourhood?depth=two", "depth"),
    ("/paths?from={Alice}&to={Bob}&max_hops=7", "max_hops"),
    ("/paths?from={Alice}&to={Bob}&max_hops=0", "max_hops"),
    ("/paths?from={Alice}", "to"),
    ("/parties/{Alice}/neighbours?type=owns", "type"),
    ("/parties/{Alice}/neighbourhood?type=owns", "type"),
    ("/paths?from={Alice}&to={Bob}&type=owns", "type"),
    ("/parties/{Alice}/neighbours?as_of=2024-13-45", "as_of"),
    ("/parties/{Alice}/neighbours?as_of=yesterday", "as_of"),
    ("/paths?from={Alice}&to={Bob}&as_of=soon", "as_of"),
    ("/parties/{Alice}/neighbours?direction=sideways", "direction"),
    ("/parties/{Alice}/neighbours?colour=red", "colour"),
])
def test_bad_graph_queries_are_422_naming_the_parameter(world, client, url, field):
    _, ids = world
    body = assert_problem(client.get("/api/v1" + url.format(**ids), headers=ids["admin"]), 422)
    assert field in body["errors"], body


def test_graph_answers_leave_out_parties_the_caller_cannot_see(world, client):
    """IDOR: a party outside the caller's scope is a 404 when named, and is neither returned nor
    walked through by any graph answer."""
    platform, ids = world
    own = user_headers(platform, ids["acme"], "sam", {"core.party.read": Scope.OWN})
    with platform.db.transaction(ids["acme"]) as session:
        sam = session.scalar(select(User).where(User.email == "sam@acme.test"))
        for name in ("Acme", "Alice", "Bob"):
            session.get(Party, ids[name]).owner_user_id = sam.id

    names = [n["party"]["display_name"] for n in client.get(f"/api/v1/parties/{ids['Alice']}/neighbours",
                                                            headers=own).get_json()]
    assert names == ["Acme", "Bob"]
    got = client.get(f"/api/v1/parties/{ids['Alice']}/neighbourhood?depth=4", headers=own).get_json()
    assert {n["display_name"] for n in got["nodes"]} == {"Acme", "Alice", "Bob"}
    assert ids["alice-hidden"] not in {e["id"] for e in got["edges"]}
    # Bob is reachable from Acme only through Alice, never through Hidden.
    paths = client.get(f"/api/v1/paths?from={ids['Acme']}&to={ids['Bob']}", headers=own).get_json()
    assert all(ids["Hidden"] not in p["party_ids"] for p in paths["paths"])
    assert paths["paths"]
    for url in (f"/parties/{ids['Hidden']}/neighbours", f"/parties/{ids['Hidden']}/neighbourhood",
                f"/paths?from={ids['Alice']}&to={ids['Hidden']}", f"/paths?from={ids['Hidden']}&to={ids['Bob']}",
                f"/parties/{ids['Hidden']}/roles", f"/relationships/{ids['alice-hidden']}",
                f"/parties/{ids['Globex']}/neighbours"):
        assert_problem(client.get("/api/v1" + url, headers=own), 404)
    # Hidden as a stepping stone only: Alice - Hidden - Bob with the direct link ended.
    with platform.db.transaction(ids["acme"]) as session:
        session.get(Relationship, ids["knows"]).valid_to = date(2000, 1, 1)
    assert client.get(f"/api/v1/paths?from={ids['Alice']}&to={ids['Bob']}", headers=own).get_json()["paths"] == []
    admin_paths = client.get(f"/api/v1/paths?from={ids['Alice']}&to={ids['Bob']}", headers=ids["admin"]).get_json()
    assert admin_paths["paths"][0]["party_ids"] == [ids["Alice"], ids["Hidden"], ids["Bob"]]


def test_graph_endpoints_need_a_principal(world, client):
    _, ids = world
    assert_problem(client.get(f"/api/v1/parties/{ids['Alice']}/neighbours"), 401)
    assert_problem(client.get("/api/v1/relationship-types"), 401)
