"""The permission matrix, generated from the declared permissions: every action × scope × ownership.

For each case the expected answer comes from the rules table below; the platform must give the same
answer both when checking one record (``can``) and, for reads, when listing (the SQL criteria).
"""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from xrm_core import migrate, tenants
from xrm_core.contributions import PERMISSION_ACTIONS
from xrm_core.graph.models import Party
from xrm_core.identity import admin
from xrm_core.identity.catalogue import core_permissions
from xrm_core.identity.models import GranteeKind, Scope, Share
from xrm_core.identity.principal import load_principal
from xrm_core.identity.scoping import act_as, can
from xrm_core.models import User

#: Where a record sits relative to the acting user.
OWNERSHIPS = ("mine", "my team's", "my department's", "my sub-department's", "another department's", "shared with me")

#: Which ownerships each scope reaches (shares count only for the shared action).
REACH = {
    Scope.OWN: {"mine", "my team's", "shared with me"},
    Scope.DEPARTMENT: {"mine", "my team's", "shared with me", "my department's"},
    Scope.SUBTREE: {"mine", "my team's", "shared with me", "my department's", "my sub-department's"},
    Scope.TENANT: set(OWNERSHIPS),
    # The user stands for no party here, so a related grant reaches what own does.
    Scope.RELATED: {"mine", "my team's", "shared with me"},
}


@pytest.fixture
def setting(make_platform):
    platform = make_platform()
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, "acme", "ACME").id
    with platform.db.transaction(tenant_id) as session:
        sales = admin.create_department(session, "Sales")
        north = admin.create_department(session, "North", sales)
        support = admin.create_department(session, "Support")
        me = User(email="me@acme.test", display_name="Me", password_hash="-", department_id=sales.id)
        colleague = User(email="other@acme.test", display_name="Other", password_hash="-", department_id=support.id)
        session.add_all([me, colleague])
        session.flush()
        team = admin.create_team(session, "Key accounts", [me])
        owner = {"owner_user_id": colleague.id}
        places = {
            "mine": {"owner_user_id": me.id, "department_id": support.id},
            "my team's": {"owner_team_id": team.id, "department_id": support.id},
            "my department's": {**owner, "department_id": sales.id},
            "my sub-department's": {**owner, "department_id": north.id},
            "another department's": {**owner, "department_id": support.id},
            "shared with me": {**owner, "department_id": support.id},
        }
        parties = {}
        for ownership, columns in places.items():
            party = Party(kind="organization", display_name=ownership, tags=[], **columns)
            session.add(party)
            session.flush()
            parties[ownership] = party.id
        ids = {"tenant": tenant_id, "me": me.id, "parties": parties}
    return platform, ids


def test_permission_matrix_for_every_core_party_action(setting):
    platform, ids = setting
    declared = {p.name for p in core_permissions()}
    mismatches = []
    cases = 0
    for action in PERMISSION_ACTIONS:
        permission = f"core.party.{action}"
        assert permission in declared
        for scope in Scope:
            with platform.db.transaction(ids["tenant"]) as session:
                role = admin.define_role(session, "matrix", {permission: scope}, declared)
                admin.assign_role(session, session.get(User, ids["me"]), role)
                session.execute(delete(Share))
                session.add(Share(resource="core.party", record_id=ids["parties"]["shared with me"], action=action,
                                  grantee_kind=GranteeKind.USER, grantee_id=ids["me"]))
            with platform.db.session(ids["tenant"]) as session:
                principal = load_principal(session, session.get(User, ids["me"]))
                for ownership, party_id in ids["parties"].items():
                    expected = ownership in REACH[scope]
                    party = session.get(Party, party_id)
                    if can(session, principal, action, party) != expected:
                        mismatches.append((action, scope.value, ownership, "can", expected))
                    cases += 1
                if action == "read":
                    act_as(session, principal)
                    session.expire_all()
                    seen = set(session.scalars(select(Party.display_name)))
                    if seen != REACH[scope]:
                        mismatches.append((action, scope.value, "list", sorted(seen), sorted(REACH[scope])))
    assert cases == len(PERMISSION_ACTIONS) * len(Scope) * len(OWNERSHIPS)
    assert mismatches == []
