"""Relationship-based access: a ``related`` grant reaches the parties related to the user's party.

A partner firm's staff stand for the firm (``User.party_id``); a grant of ``core.party.read`` at
scope ``related`` via ``referred`` (outgoing) shows them the customers the firm referred, and
nothing else; ending the relationship takes the access away on the next request.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import delete, select

from xrm_core import migrate, tenants
from xrm_core.graph import service
from xrm_core.graph.models import Party, Relationship
from xrm_core.identity import admin
from xrm_core.identity.models import Direction, Role, RoleGrant, Scope
from xrm_core.identity.principal import load_principal
from xrm_core.identity.scoping import PermissionDenied, act_as, can
from xrm_core.models import User


@pytest.fixture
def world(make_platform):
    """Partner firm Acme Partners referred Ann and Bob; Carl came alone; Ann employs Dora."""
    platform = make_platform()
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, "acme", "ACME").id
        other_id = tenants.create_tenant(session, "other", "Other").id
    ids = {"tenant": tenant_id, "other": other_id}
    with platform.db.transaction(tenant_id) as session:
        service.define_relationship_type(session, "referred", "referred", "was referred by")
        service.define_relationship_type(session, "employs", "employs", "works for")
        service.define_relationship_type(session, "knows", "knows", symmetric=True)
        parties = {name: service.create_party(session, kind, name)
                   for name, kind in (("Acme Partners", "organization"), ("Ann", "person"), ("Bob", "person"),
                                      ("Carl", "person"), ("Dora", "person"), ("Eve", "person"))}
        ids.update({name: party.id for name, party in parties.items()})
        ids["ann referral"] = service.relate(session, parties["Acme Partners"], parties["Ann"], "referred").id
        service.relate(session, parties["Acme Partners"], parties["Bob"], "referred")
        service.relate(session, parties["Ann"], parties["Dora"], "employs")
        service.relate(session, parties["Eve"], parties["Acme Partners"], "knows")
        service.relate(session, parties["Carl"], parties["Acme Partners"], "referred",
                       valid_to=date.today() - timedelta(days=30))  # long over
        staff = User(email="sam@partners.test", display_name="Sam", password_hash="-",
                     party_id=parties["Acme Partners"].id)
        session.add(staff)
        session.flush()
        ids["sam"] = staff.id
    with platform.db.transaction(other_id) as session:
        service.define_relationship_type(session, "referred", "referred", "was referred by")
        stranger = service.create_party(session, "person", "Stranger")
        ids["stranger"] = stranger.id
    return platform, ids


def give(platform, ids, permission, via, direction=Direction.OUTGOING, name="partner"):
    with platform.db.transaction(ids["tenant"]) as session:
        role = Role(name=name)
        session.add(role)
        session.flush()
        session.add(RoleGrant(role_id=role.id, permission=permission, scope=Scope.RELATED, via=via,
                              direction=direction))
        admin.assign_role(session, session.get(User, ids["sam"]), role)


def seen(platform, ids) -> list[str]:
    """What Sam's next request lists."""
    with platform.db.session(ids["tenant"]) as session:
        act_as(session, load_principal(session, session.get(User, ids["sam"])))
        return sorted(session.scalars(select(Party.display_name)))


def test_partner_staff_see_the_customers_their_firm_referred_and_nothing_else(world):
    platform, ids = world
    assert seen(platform, ids) == []
    give(platform, ids, "core.party.read", ["referred"])
    assert seen(platform, ids) == ["Ann", "Bob"]
    with platform.db.session(ids["tenant"]) as session:
        principal = load_principal(session, session.get(User, ids["sam"]))
        act_as(session, principal)
        assert session.get(Party, ids["Carl"]) is None  # the referral is over
        assert session.get(Party, ids["Dora"]) is None  # depth 1: Ann's employee is not reached
        ann = session.get(Party, ids["Ann"])
        assert can(session, principal, "read", ann)
        assert not can(session, principal, "update", ann)  # read only: no update grant
    with platform.db.session(ids["other"]) as session:
        # The same code in another tenant never opens its parties, whatever the ids.
        other = load_principal(session, User(id=ids["sam"], tenant_id=ids["other"], party_id=ids["Acme Partners"],
                                             email="-", display_name="-", password_hash="-"))
        act_as(session, other)
        assert session.scalars(select(Party)).all() == []


def test_ending_the_relationship_removes_access_on_the_next_request(world):
    platform, ids = world
    give(platform, ids, "core.party.read", ["referred"])
    assert seen(platform, ids) == ["Ann", "Bob"]
    with platform.db.transaction(ids["tenant"]) as session:
        referral = session.get(Relationship, ids["ann referral"])
        service.end_relationship(session, referral, date.today() - timedelta(days=1))
    assert seen(platform, ids) == ["Bob"]
    with platform.db.transaction(ids["tenant"]) as session:
        session.execute(delete(Relationship).where(Relationship.type.has(code="referred")))
    assert seen(platform, ids) == []


def test_direction_and_symmetric_types(world):
    platform, ids = world
    give(platform, ids, "core.party.read", ["referred"], Direction.INCOMING)
    assert seen(platform, ids) == []  # nobody referred Acme Partners (Carl's referral is over)
    give(platform, ids, "core.party.read", ["knows"], Direction.OUTGOING, name="friends")
    assert seen(platform, ids) == ["Eve"]  # Eve knows Acme Partners, and knowing goes both ways


def test_writes_are_guarded_the_same_way(world):
    platform, ids = world
    give(platform, ids, "core.party.read", ["referred"])
    give(platform, ids, "core.party.update", ["referred"], name="editor")
    with platform.db.session(ids["tenant"]) as session:
        eve = session.get(Party, ids["Eve"])  # loaded without a principal, to ask about it
        principal = load_principal(session, session.get(User, ids["sam"]))
        assert not can(session, principal, "update", eve)
    with platform.db.session(ids["tenant"]) as session:
        act_as(session, load_principal(session, session.get(User, ids["sam"])))
        session.get(Party, ids["Ann"]).display_name = "Ann B."
        session.commit()
        bob = session.get(Party, ids["Bob"])
        bob.owner_user_id = ids["sam"]  # reassigning needs the assign right, which Sam lacks
        with pytest.raises(PermissionDenied, match="assign"):
            session.flush()
    with platform.db.session(ids["tenant"]) as session:
        assert session.get(Party, ids["Ann"]).display_name == "Ann B."
        assert session.get(Party, ids["Bob"]).owner_user_id is None


def test_a_related_grant_of_a_token_is_cut_down_like_any_other(world):
    platform, ids = world
    give(platform, ids, "core.party.read", ["referred"])
    with platform.db.session(ids["tenant"]) as session:
        principal = load_principal(session, session.get(User, ids["sam"]))
    assert principal.related_codes("core.party.read") == ({"referred"}, set())
    assert principal.restricted_to({"core.party.update"}).related == {}
