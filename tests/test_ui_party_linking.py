"""The party page's forms that change the graph: link to another party, add a role, end either.

They go through the graph service and the permission checks the REST API uses (``core.party.link``
on both ends of a relationship, ``core.party.update`` for roles) and publish the same events; a
refused form says why next to the field and changes nothing.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
import ui_world
from plugin_dists import DISTS
from sqlalchemy import func, select
from ui_world import PASSWORD, csrf_token, sign_in

from xrm_core import migrate
from xrm_core.app import create_app
from xrm_core.config import load_settings
from xrm_core.events import get_bus, load_event_settings
from xrm_core.events.models import OutboxEvent
from xrm_core.graph.models import PartyRoleAssignment, Relationship
from xrm_core.graph.service import define_relationship_type
from xrm_core.identity import admin
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import Department, Scope
from xrm_core.identity.passwords import hash_password
from xrm_core.models import User
from xrm_core.platform import Platform
from xrm_core.plugins.discovery import discover


@pytest.fixture(scope="module")
def world_platform(tmp_path_factory, module_database_url):
    folder = tmp_path_factory.mktemp("party-linking")
    site = folder / "site-packages"
    for dist in (DISTS["notes"], ui_world.SHOWCASE):
        dist.write(site)
    config = load_settings(environ={}, instance_path=folder / "instance", database_url=module_database_url)
    platform = Platform(config, plugins=discover(path=[str(site)]))
    migrate.upgrade(platform)
    bus = get_bus(platform, load_event_settings(environ={}))
    yield platform
    bus.stop()
    platform.db.dispose()


@pytest.fixture(scope="module")
def world(world_platform):
    """The UI world, plus restricted relationship types, Vic (may only read Sales' parties) and Sue
    linking them too (Sam may update them but not link them, as the plain Staff role says)."""
    world = ui_world.build(world_platform)
    with world_platform.db.transaction(world.tenant_id) as session:
        define_relationship_type(session, "employs_staff", "has on staff", "is on the staff of",
                                 from_kinds=["organization"], to_kinds=["person"])
        define_relationship_type(session, "supplies", "supplies", "is supplied by", from_roles=["supplier"])
        sales = session.scalar(select(Department).where(Department.name == "Sales"))
        viewer = admin.define_role(session, "Viewer", {"core.party.read": Scope.DEPARTMENT},
                                   set(all_permissions(world_platform)))
        vic = User(email="vic@acme.test", display_name="Vic Viewer", department_id=sales.id,
                   password_hash=hash_password(PASSWORD, email="vic@acme.test"))
        session.add(vic)
        session.flush()
        admin.assign_role(session, vic, viewer)
        linker = admin.define_role(session, "Linker", {"core.party.link": Scope.DEPARTMENT},
                                   set(all_permissions(world_platform)))
        admin.assign_role(session, session.get(User, world.users["sue@acme.test"]), linker)
        world.users["vic@acme.test"] = vic.id
    return world


@pytest.fixture(scope="module")
def app(world_platform, world):
    app = create_app(platform=world_platform)
    app.config["TESTING"] = True
    return app


def signed_in(app, email):
    client = app.test_client()
    sign_in(client, email)
    client.token = csrf_token(client.get("/parties").get_data(as_text=True))
    return client


def graph_rows(platform, tenant_id):
    """Every relationship and role of the tenant, to show that a refused form changed nothing."""
    with platform.db.session(tenant_id, read_only=True) as session:
        relationships = {(r.from_party_id, r.to_party_id, r.type.code, r.valid_from, r.valid_to, r.notes)
                         for r in session.scalars(select(Relationship))}
        roles = {(r.party_id, r.role, r.valid_from, r.valid_to) for r in session.scalars(select(PartyRoleAssignment))}
    return relationships, roles


def events(platform, tenant_id, event_type):
    with platform.db.session(tenant_id, read_only=True) as session:
        return list(session.scalars(select(OutboxEvent).where(OutboxEvent.type == event_type)))


def error_of(html, field_id):
    """The message shown next to a field (its ``aria-describedby`` target)."""
    found = re.search(rf'<span class="error-text" id="{field_id}-error"[^>]*>([^<]+)</span>', html)
    return found and found.group(1)


def link(client, party_id, **fields):
    return client.post(f"/parties/{party_id}/relationships", data={"csrf_token": client.token, **fields})


# -- happy paths ---------------------------------------------------------------------------------------


def test_a_new_organization_is_linked_from_the_party_page_and_the_link_ended(app, world_platform, world):
    ada = signed_in(app, "admin@acme.test")
    alice = world.parties["Alice Martin"]

    created = ada.post("/parties/new", data={"csrf_token": ada.token, "kind": "organization",
                                             "display_name": "Initech", "role": "customer"})
    assert created.status_code == 302
    initech = int(created.headers["Location"].rsplit("/", 1)[1])
    assert str(initech) in [e.subject_id for e in events(world_platform, world.tenant_id, "core.party.created")]

    page = ada.get(f"/parties/{alice}").get_data(as_text=True)
    assert '<option value="employs:in" >works for</option>' in page  # Alice is the "to" end of "employs"
    assert 'value="employs_staff:in"' in page and 'value="employs_staff:out"' not in page  # a person is staff
    suggestions = ada.get(f"/parties/{alice}/link-candidates?link_q=init").get_data(as_text=True)
    assert f'name="other_party_id" value="{initech}"' in suggestions and "Zenith" not in suggestions

    response = link(ada, alice, type="employs:in", other_party_id=str(initech), valid_from="2026-01-05",
                    notes="Head of purchasing")

    assert response.status_code == 302 and response.headers["Location"].endswith(f"/parties/{alice}#relationships-heading")
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        rel = session.scalar(select(Relationship).where(Relationship.from_party_id == initech))
        assert (rel.to_party_id, rel.type.code, rel.valid_from, rel.valid_to, rel.notes) == (
            alice, "employs", date(2026, 1, 5), None, "Head of purchasing")
        rel_id, version = rel.id, rel.version
    assert [e.subject_id for e in events(world_platform, world.tenant_id, "core.relationship.created")] == [str(rel_id)]
    page = ada.get(f"/parties/{alice}").get_data(as_text=True)
    assert re.search(rf'<tr data-relationship-id="{rel_id}"><td>works for</td>\s*<td><a href="/parties/{initech}">'
                     r'Initech</a>', page)

    stale = ada.post(f"/parties/{alice}/relationships/{rel_id}/end",
                     data={"csrf_token": ada.token, "on": "2026-06-30", "version": str(version - 1)})
    assert stale.status_code == 422
    assert "Someone else changed this relationship" in error_of(stale.get_data(as_text=True),
                                                                 f"end-relationship-{rel_id}")
    too_early = ada.post(f"/parties/{alice}/relationships/{rel_id}/end",
                         data={"csrf_token": ada.token, "on": "2025-12-31", "version": str(version)})
    assert too_early.status_code == 422
    assert "before it started" in error_of(too_early.get_data(as_text=True), f"end-relationship-{rel_id}")
    assert graph_rows(world_platform, world.tenant_id)[0] >= {(initech, alice, "employs", date(2026, 1, 5), None,
                                                                "Head of purchasing")}

    ended = ada.post(f"/parties/{alice}/relationships/{rel_id}/end",
                     data={"csrf_token": ada.token, "on": "2026-06-30", "version": str(version)})
    assert ended.status_code == 302
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        assert session.get(Relationship, rel_id).valid_to == date(2026, 6, 30)
    assert [e.subject_id for e in events(world_platform, world.tenant_id, "core.relationship.ended")] == [str(rel_id)]


def test_the_search_works_without_javascript(app, world):
    ada = signed_in(app, "admin@acme.test")
    page = ada.get(f"/parties/{world.parties['Alice Martin']}?link_q=Zen").get_data(as_text=True)
    assert '<details class="graph-form" id="link-party" open>' in page
    assert f'name="other_party_id" value="{world.parties["Zenith Industries"]}"' in page


def test_a_role_is_added_with_its_period_and_ended_and_bad_input_is_shown_by_its_field(app, world_platform, world):
    sam = signed_in(app, "sam@acme.test")  # Staff: may update Sales' parties
    zenith = world.parties["Zenith Industries"]

    inverted = sam.post(f"/parties/{zenith}/roles", data={"csrf_token": sam.token, "role": "partner",
                                                          "valid_from": "2026-03-01", "valid_to": "2026-02-01"})
    unknown = sam.post(f"/parties/{zenith}/roles", data={"csrf_token": sam.token, "role": "astronaut"})
    overlapping = sam.post(f"/parties/{zenith}/roles", data={"csrf_token": sam.token, "role": "customer",
                                                             "valid_from": "2026-01-01"})
    assert [r.status_code for r in (inverted, unknown, overlapping)] == [422, 422, 422]
    assert error_of(inverted.get_data(as_text=True), "role-valid_to") == "The end comes before the start."
    assert error_of(unknown.get_data(as_text=True), "role-role") == "Choose a role from the list."
    assert "already holds role &#39;customer&#39;" in error_of(overlapping.get_data(as_text=True), "role-role")
    _rels, roles = graph_rows(world_platform, world.tenant_id)
    assert {r for r in roles if r[0] == zenith} == {(zenith, "customer", None, None)}

    added = sam.post(f"/parties/{zenith}/roles", data={"csrf_token": sam.token, "role": "partner",
                                                       "valid_from": "2026-03-01"})
    assert added.status_code == 302
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        partner = session.scalar(select(PartyRoleAssignment).where(PartyRoleAssignment.role == "partner"))
        assert (partner.party_id, partner.valid_from, partner.valid_to) == (zenith, date(2026, 3, 1), None)
    assert {(e.payload["party_id"], e.payload["role"], e.payload["valid_from"])
            for e in events(world_platform, world.tenant_id, "core.role.assigned")} >= {(zenith, "partner", "2026-03-01")}

    before_start = sam.post(f"/parties/{zenith}/roles/{partner.id}/end", data={"csrf_token": sam.token,
                                                                              "on": "2026-02-01"})
    assert before_start.status_code == 422
    assert "cannot end before" in error_of(before_start.get_data(as_text=True), f"end-role-{partner.id}")
    ended = sam.post(f"/parties/{zenith}/roles/{partner.id}/end", data={"csrf_token": sam.token, "on": "2026-12-31"})
    assert ended.status_code == 302
    with world_platform.db.session(world.tenant_id, read_only=True) as session:
        assert session.get(PartyRoleAssignment, partner.id).valid_to == date(2026, 12, 31)


# -- refusals ------------------------------------------------------------------------------------------


def test_a_link_the_types_end_rules_refuse_is_explained_and_not_made(app, world_platform, world):
    ada = signed_in(app, "admin@acme.test")
    zenith = world.parties["Zenith Industries"]
    before = graph_rows(world_platform, world.tenant_id)
    published = events(world_platform, world.tenant_id, "core.relationship.created")

    page = ada.get(f"/parties/{zenith}").get_data(as_text=True)
    assert 'value="employs_staff:out"' in page
    # "supplies" needs a supplier at its "from" end, and Zenith is a customer: it may only be supplied
    assert 'value="supplies:out"' not in page and 'value="supplies:in"' in page
    wrong_kind = link(ada, zenith, type="employs_staff:out", other_party_id=str(world.parties["Support Secret Ltd"]))
    not_offered = link(ada, zenith, type="supplies:out", other_party_id=str(world.parties["Alice Martin"]))
    itself = link(ada, zenith, type="employs:out", other_party_id=str(zenith))

    assert [r.status_code for r in (wrong_kind, not_offered, itself)] == [422, 422, 422]
    html = wrong_kind.get_data(as_text=True)
    assert "does not admit kind &#39;organization&#39; at its to end" in error_of(html, "link-other_party_id")
    assert "Nothing was saved" in html and '<details class="graph-form" id="link-party" open>' in html
    assert error_of(not_offered.get_data(as_text=True), "link-type") == "Choose how the parties are related."
    assert "cannot be related to itself" in error_of(itself.get_data(as_text=True), "link-other_party_id")
    assert graph_rows(world_platform, world.tenant_id) == before
    assert len(events(world_platform, world.tenant_id, "core.relationship.created")) == len(published)


def test_a_user_without_the_right_is_refused_and_nothing_changes(app, world_platform, world):
    vic, sam = signed_in(app, "vic@acme.test"), signed_in(app, "sam@acme.test")
    zenith, alice = world.parties["Zenith Industries"], world.parties["Alice Martin"]
    before = graph_rows(world_platform, world.tenant_id)

    page = vic.get(f"/parties/{zenith}").get_data(as_text=True)
    assert 'id="link-form"' not in page and 'id="add-role"' not in page and 'class="end-form"' not in page
    responses = [
        link(vic, zenith, type="employs:out", other_party_id=str(alice)),
        vic.post(f"/parties/{zenith}/roles", data={"csrf_token": vic.token, "role": "partner"}),
        link(sam, zenith, type="employs:out", other_party_id=str(alice)),  # may update, but not link
    ]
    assert [r.status_code for r in responses] == [403, 403, 403]
    missing_csrf = signed_in(app, "admin@acme.test").post(f"/parties/{zenith}/roles", data={"role": "partner"})
    assert missing_csrf.status_code == 400
    assert graph_rows(world_platform, world.tenant_id) == before


def test_parties_out_of_reach_are_not_found_and_nothing_changes(app, world_platform, world):
    ada, sue = signed_in(app, "admin@acme.test"), signed_in(app, "sue@acme.test")
    zenith, globex = world.parties["Zenith Industries"], world.parties["Globex Partner"]
    secret = world.parties["Support Secret Ltd"]
    before = graph_rows(world_platform, world.tenant_id)

    other_tenant = link(ada, zenith, type="employs:out", other_party_id=str(globex))
    out_of_department = link(sue, zenith, type="employs:out", other_party_id=str(secret))
    from_other_tenant = link(ada, globex, type="employs:out", other_party_id=str(zenith))
    suggestions = ada.get(f"/parties/{zenith}/link-candidates?link_q=Globex").get_data(as_text=True)
    sue_suggestions = sue.get(f"/parties/{zenith}/link-candidates?link_q=Secret").get_data(as_text=True)

    assert [r.status_code for r in (other_tenant, out_of_department, from_other_tenant)] == [404, 404, 404]
    assert error_of(other_tenant.get_data(as_text=True), "link-other_party_id") == \
        f"There is no party #{globex} that you may see."
    assert "Globex Partner" not in suggestions and "Support Secret" not in sue_suggestions
    assert graph_rows(world_platform, world.tenant_id) == before
    with world_platform.db.session(world.other_tenant_id, read_only=True) as session:
        assert session.scalar(select(func.count()).select_from(Relationship)) == 0
