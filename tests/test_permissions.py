"""Record-level permissions by construction: what a principal reads and writes, on a real database.

The rules are also written once more as a tiny pure-Python model (``expected_visible``); a
property test compares the database's answers with it over random departments, teams, roles,
ownerships and shares.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import String, delete, select, update
from sqlalchemy.orm import Mapped, mapped_column

from xrm_core import migrate, tenants
from xrm_core.db import Model
from xrm_core.identity.models import (
    Department,
    GranteeKind,
    Role,
    RoleGrant,
    Scope,
    Share,
    Team,
    TeamMember,
    UserRole,
)
from xrm_core.identity.ownership import Owned
from xrm_core.identity.principal import load_principal, service_principal
from xrm_core.identity.scoping import PermissionDenied, act_as, can
from xrm_core.models import User
from xrm_core.tenancy import TenantScoped


class Doc(Owned, TenantScoped, Model):
    """A permission-aware record defined only for these tests."""

    __tablename__ = "permtest_docs"
    __permission_resource__ = "permtest.doc"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))


@pytest.fixture
def world(make_platform):
    """Tenant acme: departments HQ > Sales > Sales-North, and Support; users and docs in each."""
    platform = make_platform()
    migrate.upgrade(platform)
    Model.metadata.create_all(platform.db.engine, tables=[Doc.__table__])
    with platform.db.transaction(all_tenants=True) as session:
        acme = tenants.create_tenant(session, "acme", "ACME").id
        other = tenants.create_tenant(session, "other", "Other").id
    ids: dict[str, int] = {"acme": acme, "other": other}
    with platform.db.transaction(acme) as session:
        def department(name, parent=None):
            dep = Department(name=name, parent_id=ids.get(parent))
            session.add(dep)
            session.flush()
            dep.path = (session.get(Department, ids[parent]).path if parent else "/") + f"{dep.id}/"
            ids[name] = dep.id

        department("hq")
        department("sales", "hq")
        department("north", "sales")
        department("support", "hq")
        for name, dep in (("ann", "sales"), ("bob", "north"), ("cat", "support"), ("dan", "hq")):
            user = User(email=f"{name}@acme.test", display_name=name, password_hash="-", department_id=ids[dep])
            session.add(user)
            session.flush()
            ids[name] = user.id
        team = Team(name="key accounts")
        session.add(team)
        session.flush()
        ids["team"] = team.id
        session.add(TeamMember(team_id=team.id, user_id=ids["cat"]))
        for title, owner, dep in (("ann's", "ann", "sales"), ("bob's", "bob", "north"),
                                  ("cat's", "cat", "support"), ("dan's", "dan", "hq")):
            doc = Doc(title=title, owner_user_id=ids[owner], department_id=ids[dep])
            session.add(doc)
            session.flush()
            ids[title] = doc.id
        doc = Doc(title="team's", owner_team_id=team.id, department_id=ids["hq"])
        session.add(doc)
        session.flush()
        ids["team's"] = doc.id
    with platform.db.transaction(other) as session:
        session.add(Doc(title="other tenant's"))
    return platform, ids


def grant(platform, ids, user, *grants):
    """Give ``user`` a new role with ``(permission, scope)`` grants."""
    with platform.db.transaction(ids["acme"]) as session:
        role = Role(name=f"role-{user}-{len(grants)}-{datetime.now(UTC).timestamp()}")
        session.add(role)
        session.flush()
        session.add_all(RoleGrant(role_id=role.id, permission=p, scope=s) for p, s in grants)
        session.add(UserRole(user_id=ids[user], role_id=role.id))


def titles_seen_by(platform, ids, user, action="read"):
    with platform.db.session(ids["acme"]) as session:
        act_as(session, load_principal(session, session.get(User, ids[user])))
        return sorted(session.scalars(select(Doc.title)))


def test_no_grant_means_nothing_is_visible(world):
    platform, ids = world
    assert titles_seen_by(platform, ids, "ann") == []


@pytest.mark.parametrize(("scope", "expected"), [
    (Scope.OWN, ["ann's"]),
    (Scope.DEPARTMENT, ["ann's"]),
    (Scope.SUBTREE, ["ann's", "bob's"]),
    (Scope.TENANT, ["ann's", "bob's", "cat's", "dan's", "team's"]),
])
def test_each_scope_reaches_what_it_says(world, scope, expected):
    platform, ids = world
    grant(platform, ids, "ann", ("permtest.doc.read", scope))
    assert titles_seen_by(platform, ids, "ann") == expected


def test_team_owned_records_are_visible_to_members_at_own_scope(world):
    platform, ids = world
    grant(platform, ids, "cat", ("permtest.doc.read", Scope.OWN))
    assert titles_seen_by(platform, ids, "cat") == ["cat's", "team's"]


def test_shares_open_one_record_until_they_expire_and_never_beyond_the_role(world):
    platform, ids = world
    with platform.db.transaction(ids["acme"]) as session:
        session.add(Share(resource="permtest.doc", record_id=ids["dan's"], action="read",
                          grantee_kind=GranteeKind.USER, grantee_id=ids["ann"]))
        session.add(Share(resource="permtest.doc", record_id=ids["cat's"], action="read",
                          grantee_kind=GranteeKind.DEPARTMENT, grantee_id=ids["sales"],
                          expires_at=datetime.now(UTC) - timedelta(minutes=1)))
    assert titles_seen_by(platform, ids, "ann") == []  # the share cannot exceed a role that grants nothing
    grant(platform, ids, "ann", ("permtest.doc.read", Scope.OWN))
    assert titles_seen_by(platform, ids, "ann") == ["ann's", "dan's"]  # the expired share is ignored


def test_rights_from_several_roles_add_up_and_take_effect_on_the_next_load(world):
    platform, ids = world
    grant(platform, ids, "bob", ("permtest.doc.read", Scope.OWN))
    assert titles_seen_by(platform, ids, "bob") == ["bob's"]
    grant(platform, ids, "bob", ("permtest.doc.read", Scope.TENANT))
    assert len(titles_seen_by(platform, ids, "bob")) == 5


def test_writes_need_the_matching_right(world):
    platform, ids = world
    grant(platform, ids, "ann", ("permtest.doc.read", Scope.SUBTREE), ("permtest.doc.update", Scope.OWN),
          ("permtest.doc.create", Scope.OWN))
    with platform.db.session(ids["acme"]) as session:
        act_as(session, load_principal(session, session.get(User, ids["ann"])))
        mine = session.get(Doc, ids["ann's"])
        mine.title = "ann's, edited"
        session.flush()
        bobs = session.get(Doc, ids["bob's"])
        bobs.title = "vandalised"
        with pytest.raises(PermissionDenied, match=f"may not update permtest.doc #{ids['bob']}|may not update"):
            session.flush()
        session.rollback()
        session.delete(session.get(Doc, ids["ann's"]))
        with pytest.raises(PermissionDenied, match="may not delete"):
            session.flush()
        session.rollback()
        new = Doc(title="new")
        session.add(new)
        session.flush()
        assert (new.owner_user_id, new.department_id) == (ids["ann"], ids["sales"])  # stamped
        session.rollback()


def test_moving_a_record_needs_assign_and_must_stay_within_reach(world):
    platform, ids = world
    grant(platform, ids, "ann", ("permtest.doc.read", Scope.OWN), ("permtest.doc.update", Scope.OWN))
    with platform.db.session(ids["acme"]) as session:
        act_as(session, load_principal(session, session.get(User, ids["ann"])))
        session.get(Doc, ids["ann's"]).owner_user_id = ids["bob"]
        with pytest.raises(PermissionDenied, match="may not assign"):
            session.flush()


def test_bulk_update_and_delete_only_touch_what_the_principal_may_change(world):
    platform, ids = world
    grant(platform, ids, "ann", ("permtest.doc.read", Scope.TENANT), ("permtest.doc.update", Scope.OWN),
          ("permtest.doc.delete", Scope.DEPARTMENT))
    with platform.db.transaction(ids["acme"]) as session:
        act_as(session, load_principal(session, session.get(User, ids["ann"])))
        assert session.execute(update(Doc).values(title="bulk")).rowcount == 1
        assert session.execute(delete(Doc)).rowcount == 1
    with platform.db.session(ids["acme"]) as session:
        assert sorted(session.scalars(select(Doc.title))) == ["bob's", "cat's", "dan's", "team's"]


def test_service_principals_act_with_exactly_their_grants(world):
    platform, ids = world
    job = service_principal(ids["acme"], "job:report", {"permtest.doc.read": Scope.DEPARTMENT})
    with platform.db.session(ids["acme"]) as session:
        act_as(session, job)
        assert session.scalars(select(Doc)).all() == []  # no department: department scope reaches nothing
        assert not can(session, job, "read", session.get(Doc, ids["dan's"]) or Doc(title="x"))
    tenant_job = service_principal(ids["acme"], "job:export", {"permtest.doc.read": Scope.TENANT})
    with platform.db.session(ids["acme"]) as session:
        act_as(session, tenant_job)
        assert len(session.scalars(select(Doc)).all()) == 5  # never the other tenant's doc
    with platform.db.session(ids["acme"]) as session, pytest.raises(PermissionDenied, match="another tenant"):
        act_as(session, service_principal(ids["other"], "job:x", {}))


# -- the rules as a model, compared with the database ---------------------------------------------

USERS = ("ann", "bob", "cat", "dan")
DOCS = ("ann's", "bob's", "cat's", "dan's", "team's")


def expected_visible(facts, ids, user, grants, shares):
    """The permission rules, written independently of the SQL implementation."""
    scope = max((s for p, s in grants if p == "permtest.doc.read"), key=lambda s: s.rank, default=None)
    if scope is None:
        return set()
    department = facts["user_department"][user]
    subtree = {d for d, path in facts["paths"].items() if path.startswith(facts["paths"][department])}
    visible = set()
    for doc in DOCS:
        owner, team, doc_department = facts["docs"][doc]
        shared = any(
            record == doc and (kind, grantee) in {("user", user), ("department", department)}
            | ({("team", "team")} if user in facts["team_members"] else set())
            for record, kind, grantee in shares
        )
        if (scope is Scope.TENANT
                or (scope is Scope.SUBTREE and doc_department in subtree)
                or (scope in (Scope.DEPARTMENT, Scope.SUBTREE) and doc_department == department)
                or owner == user or (team and user in facts["team_members"]) or shared):
            visible.add(doc)
    return visible


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    user=st.sampled_from(USERS),
    scopes=st.lists(st.sampled_from(list(Scope)), max_size=2),
    shares=st.lists(st.tuples(st.sampled_from(DOCS), st.sampled_from(["user", "department", "team"]),
                              st.sampled_from(USERS + ("sales", "north", "support", "hq", "team"))), max_size=3),
)
def test_the_database_agrees_with_the_model_of_the_rules(world, user, scopes, shares):
    platform, ids = world
    shares = [(doc, kind, grantee) for doc, kind, grantee in shares
              if (kind == "user") == (grantee in USERS) and (kind == "team") == (grantee == "team")]
    facts = {
        "user_department": {"ann": "sales", "bob": "north", "cat": "support", "dan": "hq"},
        "paths": {},
        "team_members": {"cat"},
        "docs": {"ann's": ("ann", None, "sales"), "bob's": ("bob", None, "north"), "cat's": ("cat", None, "support"),
                 "dan's": ("dan", None, "hq"), "team's": (None, "team", "hq")},
    }
    with platform.db.transaction(ids["acme"]) as session:
        session.execute(delete(Share))
        session.execute(delete(UserRole))
        facts["paths"] = {name: session.get(Department, ids[name]).path for name in ("hq", "sales", "north", "support")}
        session.add_all(Share(resource="permtest.doc", record_id=ids[doc], action="read",
                              grantee_kind=GranteeKind(kind), grantee_id=ids[grantee])
                        for doc, kind, grantee in set(shares))
    grants = [("permtest.doc.read", scope) for scope in scopes]
    for scope in scopes:
        grant(platform, ids, user, ("permtest.doc.read", scope))
    assert set(titles_seen_by(platform, ids, user)) == expected_visible(facts, ids, user, grants, shares)
