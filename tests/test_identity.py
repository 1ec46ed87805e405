"""Passwords and personal API tokens."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from xrm_core import migrate, tenants
from xrm_core.identity.models import ApiToken, Role, RoleGrant, Scope, UserRole
from xrm_core.identity.passwords import WeakPassword, check_password_rules, hash_password, verify_password
from xrm_core.identity.tokens import InvalidToken, authenticate_token, create_token, revoke_token
from xrm_core.models import TenantStatus, User


@pytest.mark.parametrize(("password", "reason"), [
    ("short", "at least 12 characters"),
    ("x" * 257, "at most 256 characters"),
    ("Password1234", "most common"),
    ("ann.smith-rocks-2026", "must not contain your e-mail"),
])
def test_password_rules_name_the_rule_broken(password, reason):
    with pytest.raises(WeakPassword, match=reason):
        check_password_rules(password, email="ann.smith@example.com")


def test_long_passphrases_without_composition_rules_are_accepted():
    hashed = hash_password("correct horse battery staple", email="ann@example.com")
    assert hashed.startswith("scrypt:")
    assert verify_password(hashed, "correct horse battery staple")
    assert not verify_password(hashed, "correct horse battery stapl")


@pytest.fixture
def acme_user(make_platform):
    platform = make_platform()
    migrate.upgrade(platform)
    with platform.db.transaction(all_tenants=True) as session:
        tenant = tenants.create_tenant(session, "acme", "ACME")
    with platform.db.transaction(tenant.id) as session:
        user = User(email="ann@acme.test", display_name="Ann", password_hash="-")
        role = Role(name="sales")
        session.add_all([user, role])
        session.flush()
        session.add_all([RoleGrant(role_id=role.id, permission="core.party.read", scope=Scope.TENANT),
                         RoleGrant(role_id=role.id, permission="core.party.update", scope=Scope.OWN),
                         UserRole(user_id=user.id, role_id=role.id)])
    return platform, tenant, user


def test_a_token_is_shown_once_stored_hashed_and_authenticates_its_user(acme_user):
    platform, tenant, user = acme_user
    with platform.db.transaction(tenant.id) as session:
        row, token = create_token(session, session.get(User, user.id), "laptop")
    assert token.startswith("xrm_") and len(token) > 40
    with platform.db.transaction(all_tenants=True) as session:
        stored = session.scalar(select(ApiToken))
        assert token not in stored.token_hash and len(stored.token_hash) == 64
        found, principal = authenticate_token(session, token)
        assert (found.id, principal.tenant_id) == (user.id, tenant.id)
        assert principal.grants == {"core.party.read": Scope.TENANT, "core.party.update": Scope.OWN}
        assert stored.last_used_at is not None


def test_a_token_scoped_to_permissions_never_exceeds_them_nor_its_user(acme_user):
    platform, tenant, user = acme_user
    with platform.db.transaction(tenant.id) as session:
        _, token = create_token(session, session.get(User, user.id), "reader",
                                permissions=["core.party.read", "core.party.delete"])
    with platform.db.transaction(all_tenants=True) as session:
        _, principal = authenticate_token(session, token)
    assert principal.grants == {"core.party.read": Scope.TENANT}


@pytest.mark.parametrize("spoil", ["revoke", "expire", "deactivate", "suspend", "garble"])
def test_revoked_expired_or_orphaned_tokens_are_refused(acme_user, spoil):
    platform, tenant, user = acme_user
    with platform.db.transaction(tenant.id) as session:
        row, token = create_token(session, session.get(User, user.id), "t",
                                  expires_at=datetime.now(UTC) - timedelta(seconds=1) if spoil == "expire" else None)
        if spoil == "revoke":
            revoke_token(row)
        if spoil == "deactivate":
            session.get(User, user.id).active = False
    if spoil == "suspend":
        with platform.db.transaction(all_tenants=True) as session:
            tenants.set_status(session, tenants.get_tenant(session, "acme"), TenantStatus.SUSPENDED)
    with platform.db.transaction(all_tenants=True) as session, pytest.raises(InvalidToken):
        authenticate_token(session, token + "x" if spoil == "garble" else token)
