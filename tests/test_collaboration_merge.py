"""Collaboration on a party that is merged into another, or deleted.

Merged: the loser's comments, follows (once per user), shares (once per grantee and action, lasting
as long as the longer) move to the survivor, and the loser's assignment fills the survivor's where
it has none. Deleted: the party's comments, follows and shares go with it, as its roles do.
"""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from xrm_core import migrate, tenants
from xrm_core.collaboration import service
from xrm_core.collaboration.models import Comment, Follow
from xrm_core.events import get_bus, load_event_settings
from xrm_core.graph.merge import merge_parties
from xrm_core.graph.models import Party
from xrm_core.graph.service import create_party
from xrm_core.identity import admin
from xrm_core.identity.bootstrap import ensure_administrator
from xrm_core.identity.catalogue import all_permissions
from xrm_core.identity.models import GranteeKind, Scope, Share
from xrm_core.identity.principal import load_principal
from xrm_core.identity.scoping import act_as
from xrm_core.models import User

PASSWORD = "correct horse battery staple"


@pytest.fixture
def world(make_platform):
    """Tenant ``acme``: Ada administers, Sam and Sue sell (Sales); Support is another department."""
    platform = make_platform("notes")
    migrate.upgrade(platform)
    bus = get_bus(platform, load_event_settings(environ={}))
    with platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, "acme", "ACME").id
    ids = {"tenant": tenant_id}
    with platform.db.transaction(tenant_id) as session:
        ada = ensure_administrator(session, platform, "ada@acme.test", PASSWORD, "Ada Admin")
        sales, support = admin.create_department(session, "Sales"), admin.create_department(session, "Support")
        staff = admin.define_role(session, "Staff", {"core.party.read": Scope.DEPARTMENT},
                                  set(all_permissions(platform)))
        ada.department_id = sales.id
        for email in ("sam@acme.test", "sue@acme.test"):
            user = User(email=email, display_name=email.split("@")[0].title(), department_id=sales.id,
                        password_hash="!")  # they never sign in: these tests act as them
            session.add(user)
            session.flush()
            admin.assign_role(session, user, staff)
            ids[email] = user.id
        ids.update(ada=ada.id, sales=sales.id, support=support.id)
    yield platform, ids
    bus.stop()


@contextmanager
def acting(platform, ids, user_id):
    """A transaction of the tenant acting as the user (committed at the end of the block)."""
    with platform.db.transaction(ids["tenant"]) as session:
        act_as(session, load_principal(session, session.get(User, user_id)))
        yield session


def rows_of(platform, ids, party_id):
    """The collaboration rows naming ``core.party`` ``party_id``."""
    with platform.db.session(ids["tenant"], read_only=True) as session:
        where = {"resource": "core.party", "record_id": party_id}
        return {
            "comments": sorted(c.body for c in session.scalars(select(Comment).filter_by(**where))),
            "follows": sorted(f.user_id for f in session.scalars(select(Follow).filter_by(**where))),
            "shares": sorted((s.action, s.grantee_id, s.expires_at) for s in session.scalars(select(Share).filter_by(**where))),
        }


def test_a_merge_moves_comments_follows_shares_and_fills_the_assignment(world):
    platform, ids = world
    soon = datetime(2027, 1, 1)
    with platform.db.transaction(ids["tenant"]) as session:  # an import's party: nobody's yet
        survivor_id = create_party(session, "organization", "ACME Widgets").id
    with acting(platform, ids, ids["ada"]) as session:
        survivor = session.get(Party, survivor_id)
        loser = create_party(session, "organization", "Acme Widgets Ltd", owner_user_id=ids["sam@acme.test"],
                             department_id=ids["sales"])
        loser_id = loser.id
        service.post_comment(session, survivor, "Main record")
        service.post_comment(session, loser, "Call before Friday")
        admin.share(session, load_principal(session, session.get(User, ids["ada"])), survivor,
                    GranteeKind.DEPARTMENT, ids["support"], ["read"], soon)
        service.share_with_department(session, loser, ids["support"], ["read", "update"])
    for email in ("sam@acme.test", "sue@acme.test"):  # Ada follows both: she commented on both
        with acting(platform, ids, ids[email]) as session:
            service.follow(session, session.get(Party, loser_id))

    with acting(platform, ids, ids["ada"]) as session:
        merge_parties(session, platform, session.get(Party, survivor_id), session.get(Party, loser_id), "ada")

    moved = rows_of(platform, ids, survivor_id)
    assert moved["comments"] == ["Call before Friday", "Main record"]
    assert moved["follows"] == sorted([ids["ada"], ids["sam@acme.test"], ids["sue@acme.test"]])  # each once
    assert moved["shares"] == [("read", ids["support"], None), ("update", ids["support"], None)]
    assert rows_of(platform, ids, loser_id) == {"comments": [], "follows": [], "shares": []}
    with platform.db.session(ids["tenant"], read_only=True) as session:
        survivor = session.get(Party, survivor_id)
        assert (survivor.owner_user_id, survivor.department_id) == (ids["sam@acme.test"], ids["sales"])


def test_the_survivor_keeps_its_own_assignment_and_a_longer_share(world):
    platform, ids = world
    with acting(platform, ids, ids["ada"]) as session:
        survivor = create_party(session, "person", "Jo Bloggs", owner_user_id=ids["sue@acme.test"])
        loser = create_party(session, "person", "J. Bloggs", owner_user_id=ids["sam@acme.test"],
                             department_id=ids["support"])
        principal = load_principal(session, session.get(User, ids["ada"]))
        admin.share(session, principal, survivor, GranteeKind.DEPARTMENT, ids["support"], ["read"])
        admin.share(session, principal, loser, GranteeKind.DEPARTMENT, ids["support"], ["read"],
                    datetime(2027, 1, 1) + timedelta(days=1))
        survivor_id, loser_id = survivor.id, loser.id

    with acting(platform, ids, ids["ada"]) as session:
        merge_parties(session, platform, session.get(Party, survivor_id), session.get(Party, loser_id), "ada")

    assert rows_of(platform, ids, survivor_id)["shares"] == [("read", ids["support"], None)]  # for ever wins
    with platform.db.session(ids["tenant"], read_only=True) as session:
        survivor = session.get(Party, survivor_id)
        assert (survivor.owner_user_id, survivor.department_id) == (ids["sue@acme.test"], ids["sales"])


def test_deleting_a_party_deletes_its_collaboration_rows_and_no_one_elses(world):
    platform, ids = world
    with acting(platform, ids, ids["ada"]) as session:
        gone = create_party(session, "organization", "Defunct Ltd")
        kept = create_party(session, "organization", "Going Strong plc")
        for party in (gone, kept):
            service.post_comment(session, party, f"About {party.display_name}")
            service.share_with_department(session, party, ids["support"], ["read"])
        gone_id, kept_id = gone.id, kept.id
    with acting(platform, ids, ids["sam@acme.test"]) as session:
        service.follow(session, session.get(Party, gone_id))
    before = rows_of(platform, ids, kept_id)

    with acting(platform, ids, ids["ada"]) as session:
        session.delete(session.get(Party, gone_id))

    assert rows_of(platform, ids, gone_id) == {"comments": [], "follows": [], "shares": []}
    assert rows_of(platform, ids, kept_id) == before
    assert before["comments"] == ["About Going Strong plc"] and before["follows"] == [ids["ada"]]
