"""The party 360: the party, its current roles and relationships, and the plugins' panels, each
panel isolated (a failing plugin is an error entry, never a 500) and rendered lazily."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select
from xrm_fx_bookings.plugin import Booking
from xrm_sdk.testing import administrator_headers

from xrm_core import migrate, tenants
from xrm_core.app import create_app
from xrm_core.errors import NotFound, TenantScopeError
from xrm_core.graph import service
from xrm_core.graph.models import Party
from xrm_core.graph.party360 import party360, read_party360
from xrm_core.graph.schemas import PartySchema
from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import GranteeKind, Scope, Share
from xrm_core.identity.principal import load_principal
from xrm_core.identity.scoping import act_as
from xrm_core.identity.tokens import create_token
from xrm_core.models import Tenant, User
from xrm_core.problems import PROBLEM_JSON


@pytest.fixture
def world(make_platform):
    """Tenant acme (bookings and faultypanels enabled): Alice, employed by Acme since 2020, once a
    prospect, customer now, knows Hidden (owned by nobody the limited user knows); two bookings."""
    platform = make_platform("bookings", "faultypanels")
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.create_tenant(session, "acme", "ACME")
        for plugin in ("bookings", "faultypanels"):
            tenants.enable_plugin(platform, session, acme, plugin)
        globex = tenants.create_tenant(session, "globex", "Globex")
        tenants.enable_plugin(platform, session, globex, "bookings")
        ids = {"acme": acme.id, "globex": globex.id}
    with platform.db.transaction(ids["acme"]) as session:
        user = User(email="olga@acme.test", display_name="Olga", password_hash="-")
        session.add(user)
        session.flush()
        role = admin.define_role(session, "own-parties", {"core.party.read": Scope.OWN}, set(all_permissions(platform)))
        admin.assign_role(session, user, role)
        ids["olga"] = {"Authorization": f"Bearer {create_token(session, user, 'tests')[1]}"}
        ids["olga_id"] = user.id
        parties = {name: service.create_party(session, kind, name, owner_user_id=user.id if name != "Hidden" else None)
                   for name, kind in (("Alice", "person"), ("Acme", "organization"), ("Hidden", "person"))}
        ids.update({name: party.id for name, party in parties.items()})
        service.define_relationship_type(session, "employs", "employs", "is employed by")
        service.define_relationship_type(session, "knows", "knows", symmetric=True)
        service.add_role(session, parties["Alice"], "prospect", date(2018, 1, 1), date(2019, 12, 31))
        service.add_role(session, parties["Alice"], "customer", date(2020, 1, 1))
        service.relate(session, parties["Acme"], parties["Alice"], "employs", date(2020, 1, 1))
        service.relate(session, parties["Alice"], parties["Hidden"], "knows")
        service.relate(session, parties["Alice"], parties["Acme"], "knows", date(2001, 1, 1), date(2002, 1, 1))
        session.add_all([Booking(party_id=parties["Alice"].id, label="room 1"),
                         Booking(party_id=parties["Alice"].id, label="room 2")])
    ids["admin"] = administrator_headers(platform, ids["acme"])
    ids["globex_admin"] = administrator_headers(platform, ids["globex"])
    return platform, ids


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


def test_the_360_shows_the_party_its_current_roles_and_relationships(world, client):
    _, ids = world
    response = client.get(f"/api/v1/parties/{ids['Alice']}/360", headers=ids["admin"])
    assert response.status_code == 200, response.get_json()
    view = response.get_json()
    assert (view["party"]["id"], view["party"]["display_name"], view["party"]["kind"]) == (ids["Alice"], "Alice",
                                                                                         "person")
    assert [r["role"] for r in view["roles"]] == ["customer"]
    assert [(link["party"]["display_name"], link["label"], link["direction"]) for link in view["relationships"]] == [
        ("Acme", "is employed by", "in"), ("Hidden", "knows", "both")]


def test_panels_are_listed_lazily_and_a_failing_plugin_is_an_error_entry(world, client):
    _, ids = world
    panels = client.get(f"/api/v1/parties/{ids['Alice']}/360", headers=ids["admin"]).get_json()["panels"]
    assert [(p["plugin"], p["name"], p["error"]) for p in panels] == [
        ("bookings", "bookings.summary", None),
        ("bookings", "bookings.broken", None),
        ("faultypanels", None, "the faultypanels plugin failed to list its panels"),
    ]
    summary, broken = panels[0]["url"], panels[1]["url"]
    assert summary == f"/api/v1/parties/{ids['Alice']}/panels/bookings.summary"
    assert panels[2]["url"] is None

    rendered = client.get(summary, headers=ids["admin"])
    assert rendered.status_code == 200
    assert rendered.get_json() == {"name": "bookings.summary", "title": "Bookings",
                                   "html": "<p>2 booking(s) for Alice</p>"}
    body = assert_problem(client.get(broken, headers=ids["admin"]), 502)
    assert "bookings plugin failed to render panel 'bookings.broken'" in body["detail"]
    assert_problem(client.get(f"/api/v1/parties/{ids['Alice']}/panels/bookings.nope", headers=ids["admin"]), 404)


def test_only_plugins_enabled_for_the_tenant_contribute_panels(world, client):
    platform, ids = world
    with platform.db.transaction(all_tenants=True) as session:
        tenants.disable_plugin(platform, session, session.get(Tenant, ids["acme"]), "faultypanels")
    panels = client.get(f"/api/v1/parties/{ids['Alice']}/360", headers=ids["admin"]).get_json()["panels"]
    assert {p["plugin"] for p in panels} == {"bookings"}


def test_the_360_is_permission_scoped(world, client):
    _, ids = world
    view = client.get(f"/api/v1/parties/{ids['Alice']}/360", headers=ids["olga"]).get_json()
    assert [link["party"]["display_name"] for link in view["relationships"]] == ["Acme"]
    for url in (f"/parties/{ids['Hidden']}/360", f"/parties/{ids['Hidden']}/panels/bookings.summary"):
        assert_problem(client.get("/api/v1" + url, headers=ids["olga"]), 404)
    for url in (f"/parties/{ids['Alice']}/360", f"/parties/{ids['Alice']}/panels/bookings.summary"):
        assert_problem(client.get("/api/v1" + url, headers=ids["globex_admin"]), 404)
    assert_problem(client.get(f"/api/v1/parties/{ids['Alice']}/360"), 401)


def test_the_service_answers_as_of_a_day(world):
    platform, ids = world
    with platform.db.session(ids["acme"]) as session:
        act_as(session, load_principal(session, session.get(User, ids["olga_id"])))
        tenant = session.get(Tenant, ids["acme"])
        then = party360(session, platform, tenant, ids["Alice"], on=date(2001, 6, 1))
        assert then.roles == []
        assert [(n.party.display_name, n.relationship.type.code) for n in then.relationships] == [("Acme", "knows")]
        now = party360(session, platform, tenant, ids["Alice"])
        assert [r.role for r in now.roles] == ["customer"]
        assert session.scalar(select(Party.display_name).where(Party.id == ids["Hidden"])) is None


def _orm_answer(view) -> tuple:
    links = [(rel.id, rel.version, rel.type.code, rel.type.inverse_label if direction == "in" else rel.type.forward_label,
              direction, rel.valid_from, rel.valid_to, (other.id, other.kind, other.display_name))
             for rel, other, direction in view.relationships]
    return (PartySchema().dump(view.party), [(r.id, r.role, r.valid_from, r.valid_to) for r in view.roles], links,
            view.panels)


def _reader(platform, tenant_id: int, user_id: int | None):
    """A read scope of the tenant, acting as the user when one is given."""
    scope = platform.db.reader(tenant_id)
    if user_id:
        with platform.db.session(tenant_id, read_only=True) as session:
            act_as(scope, load_principal(session, session.get(User, user_id)))
    return scope


def _lean_answer(view) -> tuple:
    links = [(*link[:7], (link.party.id, link.party.kind, link.party.display_name)) for link in view.relationships]
    return PartySchema().dump(view.party), [tuple(role) for role in view.roles], links, view.panels


def test_the_read_only_view_is_the_orm_view_whoever_asks_and_on_any_day(world):
    """read_party360 (plain rows, scoping applied by hand) answers exactly what party360 (ORM) does:
    for the platform, for a user seeing only her own parties, then once a share opens one more;
    through the session, and through a read scope (its own transaction, scoped alike)."""
    platform, ids = world
    parties = [ids[name] for name in ("Alice", "Acme", "Hidden")]
    with platform.db.transaction(ids["acme"]) as session:
        session.add(Share(resource="core.party", record_id=ids["Acme"], action="read",
                          grantee_kind=GranteeKind.USER, grantee_id=ids["olga_id"]))
        session.get(Party, ids["Alice"]).owner_user_id = None  # Olga now sees Alice through no grant
        session.get(Party, ids["Hidden"]).owner_user_id = ids["olga_id"]
    for as_olga in (False, True):
        with platform.db.session(ids["acme"]) as session:
            if as_olga:
                act_as(session, load_principal(session, session.get(User, ids["olga_id"])))
            tenant = session.get(Tenant, ids["acme"])
            seen = set()
            for party_id in parties:
                for day in (date(2001, 6, 1), date(2019, 6, 1), None):
                    try:
                        expected = _orm_answer(party360(session, platform, tenant, party_id, on=day))
                    except NotFound:
                        with pytest.raises(NotFound):
                            read_party360(session, platform, tenant, party_id, on=day)
                        with _reader(platform, ids["acme"], as_olga and ids["olga_id"]) as scope, \
                                pytest.raises(NotFound):
                            read_party360(scope, platform, tenant, party_id, on=day)
                        continue
                    assert _lean_answer(read_party360(session, platform, tenant, party_id, on=day)) == expected
                    with _reader(platform, ids["acme"], as_olga and ids["olga_id"]) as scope:
                        assert _lean_answer(read_party360(scope, platform, tenant, party_id, on=day)) == expected
                    seen.add(party_id)
            # Olga: Hidden is hers, Acme shared with her, Alice neither (and out of every answer).
            assert seen == ({ids["Acme"], ids["Hidden"]} if as_olga else set(parties))
            with _reader(platform, ids["acme"], as_olga and ids["olga_id"]) as scope:  # its ORM session alike
                assert set(scope.orm_session().scalars(select(Party.id))) & set(parties) == seen
    with platform.db.session(ids["globex"]) as session, pytest.raises(NotFound):
        read_party360(session, platform, session.get(Tenant, ids["globex"]), ids["Alice"])
    with platform.db.session(ids["globex"]) as session:
        globex = session.get(Tenant, ids["globex"])
    with platform.db.reader(ids["globex"]) as scope, pytest.raises(NotFound):
        read_party360(scope, platform, globex, ids["Alice"])
    with platform.db.reader(all_tenants=True) as scope, pytest.raises(TenantScopeError):
        read_party360(scope, platform, globex, ids["Alice"])  # the graph is one tenant's: fails closed
    # Without panels to list, the ORM party is never loaded: the view's own check keeps Alice hidden.
    with platform.db.transaction(all_tenants=True) as session:
        for plugin in ("bookings", "faultypanels"):
            tenants.disable_plugin(platform, session, session.get(Tenant, ids["acme"]), plugin)
    with platform.db.session(ids["acme"]) as session:
        act_as(session, load_principal(session, session.get(User, ids["olga_id"])))
        tenant = session.get(Tenant, ids["acme"])
        assert read_party360(session, platform, tenant, ids["Hidden"]).panels == []
        with pytest.raises(NotFound):
            read_party360(session, platform, tenant, ids["Alice"])
