"""Permission cases: what record-level scoping costs on list pages and single-record checks.

* ``permissions.list_department``: the first page of parties by name for a user whose read right
  is department-wide, against the same page for a tenant-wide reader (target: <= 1.5x).
* ``permissions.list_department_query``: the same, the page's query alone.
* ``permissions.can_shared``: ``can()`` on parties opened to the user by a share, as a request
  checking several records does it, against the raw indexed share lookup (target: median < 50 us).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from xrm_core.graph.models import Party
from xrm_core.identity.models import Department, GranteeKind, Role, RoleGrant, Scope, Share, UserRole
from xrm_core.identity.principal import load_principal
from xrm_core.identity.scoping import act_as, can
from xrm_core.models import Tenant, User

from .cases_graph import FIRST_NAMES, LAST_NAMES
from .harness import Context, Pair, case, dataset

#: The issue's scale: 1,000,000 parties (at --scale 1) over 50 departments.
DEPARTMENTS = 50
PARTIES = 1_000_000
SHARES = 200
PAGE = 25


@dataclass
class PermissionData:
    tenant_id: int
    #: user name ("tenant", "department", "shared") -> user id
    users: dict[str, int]
    shared_party_ids: list[int]


@dataset("permissions")
def permission_data(ctx: Context) -> PermissionData:
    """One tenant: departments, parties spread over them, three readers, shares to one of them."""
    rng = random.Random(ctx.seed)
    parties = max(10_000, int(PARTIES * ctx.scale))
    now = datetime.now(UTC)
    with ctx.platform.db.transaction(all_tenants=True) as session:
        tenant = Tenant(slug="bench-permissions", name="Bench permissions")
        session.add(tenant)
        session.flush()
        tenant_id = tenant.id
    with ctx.platform.db.transaction(tenant_id) as session:
        departments = []
        for n in range(DEPARTMENTS):
            department = Department(name=f"Department {n}")
            session.add(department)
            session.flush()
            department.path = f"/{department.id}/"
            departments.append(department.id)
        users = {}
        for name, scope, department in (("tenant", Scope.TENANT, departments[0]),
                                        ("department", Scope.DEPARTMENT, departments[3]),
                                        ("shared", Scope.OWN, None)):
            user = User(email=f"{name}@perm.bench", display_name=name, password_hash="-", department_id=department)
            role = Role(name=f"{name} reader")
            session.add_all([user, role])
            session.flush()
            session.add(RoleGrant(role_id=role.id, permission="core.party.read", scope=scope))
            session.add(UserRole(user_id=user.id, role_id=role.id))
            users[name] = user.id
    ctx.bulk_insert(Party.__table__, (
        {"tenant_id": tenant_id, "kind": "person", "display_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}", "tags": [],
         "owner_user_id": None, "owner_team_id": None, "department_id": departments[n % DEPARTMENTS],
         "created_at": now, "updated_at": now, "version": 1}
        for n in range(parties)
    ), total=parties)
    with ctx.engine.connect() as connection:
        ids = list(connection.scalars(select(Party.id).where(Party.tenant_id == tenant_id)))
    shared = rng.sample(ids, SHARES)
    ctx.bulk_insert(Share.__table__, (
        {"tenant_id": tenant_id, "resource": "core.party", "record_id": party_id, "action": "read",
         "grantee_kind": GranteeKind.USER.value, "grantee_id": users["shared"], "created_at": now}
        for party_id in shared
    ), total=SHARES)
    return PermissionData(tenant_id, users, shared)


def _page(ctx: Context, data: PermissionData, user: str):
    db = ctx.platform.db

    def list_page():
        with db.session(data.tenant_id, read_only=True) as session:
            act_as(session, load_principal(session, session.get(User, data.users[user])))
            return session.scalars(select(Party).order_by(Party.display_name, Party.id).limit(PAGE)).all()

    return list_page


@case(
    "permissions.list_department",
    "first page of parties by name (principal loaded, act_as): department-wide reader vs tenant-wide reader "
    "(target: <= 1.5x)",
)
def list_department(ctx: Context) -> Pair:
    data = ctx.need(permission_data)
    return Pair(_page(ctx, data, "department"), _page(ctx, data, "tenant"),
                check=lambda dept, tenant: len(dept) == len(tenant) == PAGE)


def _query(ctx: Context, data: PermissionData, user: str):
    session = ctx.platform.db.session(data.tenant_id, read_only=True)
    act_as(session, load_principal(session, session.get(User, data.users[user])))

    def list_page():
        page = session.scalars(select(Party).order_by(Party.display_name, Party.id).limit(PAGE)).all()
        session.rollback()  # ends the read transaction: PostgreSQL could not drop the bench schema under it
        return page

    return list_page


@case(
    "permissions.list_department_query",
    "the same page's query alone (session and principal ready, as after sign-in): department-wide vs "
    "tenant-wide reader (target: <= 1.5x)",
)
def list_department_query(ctx: Context) -> Pair:
    data = ctx.need(permission_data)
    return Pair(_query(ctx, data, "department"), _query(ctx, data, "tenant"),
                check=lambda dept, tenant: len(dept) == len(tenant) == PAGE)


@case(
    "permissions.can_shared",
    "can(read) on a party opened by a share, in a request checking several: can() vs the raw indexed share "
    "lookup (target: median < 50 us)",
)
def can_shared(ctx: Context) -> Pair:
    data = ctx.need(permission_data)
    session = ctx.platform.db.session(data.tenant_id, read_only=True)
    principal = load_principal(session, session.get(User, data.users["shared"]))
    parties = session.scalars(select(Party).where(Party.id.in_(data.shared_party_ids))).all()
    user_id = data.users["shared"]
    turn = iter(range(1 << 62))

    def platform():
        return can(session, principal, "read", parties[next(turn) % len(parties)])

    def raw():
        party = parties[next(turn) % len(parties)]
        return ctx.raw(
            "SELECT id FROM core_shares WHERE tenant_id = ? AND resource = ? AND record_id = ? AND action = ? "
            "AND grantee_kind = ? AND grantee_id = ? AND (expires_at IS NULL OR expires_at > ?) LIMIT 1",
            (data.tenant_id, "core.party", party.id, "read", "user", user_id, datetime.now(UTC)), one=True,
        )

    return Pair(platform, raw, check=lambda allowed, row: allowed is True and row is not None, per_call=True)
