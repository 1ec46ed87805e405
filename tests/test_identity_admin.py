"""Administering departments, roles and shares: the tree, the grants, the audit trail."""

import pytest
from sqlalchemy import select

from xrm_core import migrate, tenants
from xrm_core.errors import Conflict, NotFound
from xrm_core.graph.models import Party
from xrm_core.identity import admin
from xrm_core.identity.models import Department, GranteeKind, Scope, Share
from xrm_core.identity.principal import load_principal
from xrm_core.identity.scoping import PermissionDenied
from xrm_core.models import AuditEntry, User


@pytest.fixture
def acme(make_platform):
    platform = make_platform()
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        tenant_id = tenants.create_tenant(session, "acme", "ACME").id
    return platform, tenant_id


def test_moving_a_department_moves_its_whole_subtree(acme):
    platform, tenant_id = acme
    with platform.db.transaction(tenant_id) as session:
        hq = admin.create_department(session, "HQ")
        sales = admin.create_department(session, "Sales", hq)
        north = admin.create_department(session, "North", sales)
        europe = admin.create_department(session, "Europe")
        admin.move_department(session, sales, europe)
        paths = {d.name: d.path for d in session.scalars(select(Department))}
        assert paths["North"] == f"/{europe.id}/{sales.id}/{north.id}/"
        assert paths["Sales"] == f"/{europe.id}/{sales.id}/"
        with pytest.raises(Conflict, match="below itself"):
            admin.move_department(session, europe, north)


def test_roles_only_grant_declared_permissions_and_redefining_replaces_grants(acme):
    platform, tenant_id = acme
    known = {"core.party.read", "core.party.update"}
    with platform.db.transaction(tenant_id) as session:
        with pytest.raises(NotFound, match="unknown permission\\(s\\): core.party.fly"):
            admin.define_role(session, "x", {"core.party.fly": Scope.OWN}, known)
        user = User(email="u@acme.test", display_name="U", password_hash="-")
        session.add(user)
        session.flush()
        role = admin.define_role(session, "sales", {"core.party.read": Scope.TENANT, "core.party.update": Scope.OWN}, known)
        admin.assign_role(session, user, role)
        admin.assign_role(session, user, role)  # idempotent
        admin.define_role(session, "sales", {"core.party.read": Scope.DEPARTMENT}, known)
        session.flush()
        assert load_principal(session, user).grants == {"core.party.read": Scope.DEPARTMENT}
        admin.revoke_role(session, user, role)
        session.flush()
        assert load_principal(session, user).grants == {}
        actions = [a.action for a in session.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions.count("role.defined") == 2 and actions.count("role.assigned") == 1 and "role.revoked" in actions


def test_sharing_needs_the_share_right_and_is_audited(acme):
    platform, tenant_id = acme
    with platform.db.transaction(tenant_id) as session:
        owner = User(email="o@acme.test", display_name="O", password_hash="-")
        guest = User(email="g@acme.test", display_name="G", password_hash="-")
        session.add_all([owner, guest])
        session.flush()
        role = admin.define_role(session, "owner", {"core.party.read": Scope.OWN}, {"core.party.read", "core.party.share"})
        admin.assign_role(session, owner, role)
        party = Party(kind="person", display_name="Bob", tags=[], owner_user_id=owner.id)
        session.add(party)
        session.flush()
        principal = load_principal(session, owner)
        with pytest.raises(PermissionDenied, match="may not share core.party"):
            admin.share(session, principal, party, GranteeKind.USER, guest.id, ["read"])
        admin.define_role(session, "owner", {"core.party.read": Scope.OWN, "core.party.share": Scope.OWN},
                          {"core.party.read", "core.party.share"})
        session.flush()
        principal = load_principal(session, owner)
        admin.share(session, principal, party, GranteeKind.USER, guest.id, ["read", "update"])
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "record.shared")).details["actions"] == ["read", "update"]
        assert admin.unshare(session, principal, party, GranteeKind.USER, guest.id) == 2
        assert session.scalars(select(Share)).all() == []


def test_deactivating_a_user_ends_their_sessions(acme):
    platform, tenant_id = acme
    with platform.db.transaction(tenant_id) as session:
        user = User(email="u@acme.test", display_name="U", password_hash="-")
        session.add(user)
        session.flush()
        admin.deactivate(session, user)
        session.refresh(user)
        assert (user.active, user.credential_version) == (False, 2)
