"""Foundation cases: tenant-scoped reads of users and per-tenant plugin state."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from xrm_core.models import Tenant, TenantPlugin, User

from .harness import BENCH_PLUGINS, Context, Pair, case, dataset

USER_COLUMNS = "id, tenant_id, email, display_name, password_hash, is_admin, active, created_at"
#: A realistic-length stand-in for a password hash (never verified by these cases).
FAKE_HASH = "scrypt:32768:8:1$" + "x" * 16 + "$" + "0" * 128


@dataclass
class Foundation:
    tenant_ids: list[int]
    #: tenant id -> (first user id, last user id) of that tenant's users (inserted contiguously).
    user_ranges: dict[int, tuple[int, int]]

    @property
    def middle_tenant(self) -> int:
        return self.tenant_ids[len(self.tenant_ids) // 2]


@dataset("foundation")
def foundation(ctx: Context) -> Foundation:
    """Tenants, their users, and per-tenant plugin rows (some disabled, some not installed)."""
    rng = random.Random(ctx.seed)
    now = datetime.now(UTC)
    ctx.bulk_insert(
        Tenant.__table__,
        (
            {"slug": f"bench-{t:05d}", "name": f"Bench tenant {t}", "status": "active", "created_at": now}
            for t in range(ctx.tenants)
        ),
        total=ctx.tenants,
    )
    with ctx.engine.connect() as connection:
        tenant_ids = list(connection.scalars(select(Tenant.id).order_by(Tenant.id)))

    per = ctx.users_per_tenant

    def users():
        for tenant_id in tenant_ids:
            for u in range(per):
                yield {
                    "tenant_id": tenant_id,
                    "email": f"user{u}@tenant{tenant_id}.example.com",
                    "display_name": f"User {u} of tenant {tenant_id}",
                    "password_hash": FAKE_HASH,
                    "is_admin": u == 0,
                    "active": rng.random() > 0.05,
                    "created_at": now - timedelta(minutes=u),
                }

    ctx.bulk_insert(User.__table__, users(), total=len(tenant_ids) * per)

    # Plugin rows: the installed stand-ins (mostly enabled) plus names of plugins not installed here.
    names = list(BENCH_PLUGINS) + ["gone_x", "gone_y"]

    def plugin_rows():
        for tenant_id in tenant_ids:
            for name in names:
                enabled = rng.random() > 0.25
                yield {
                    "tenant_id": tenant_id,
                    "plugin": name,
                    "enabled": enabled,
                    "settings": {},
                    "disabled_reason": None if enabled else "benchmark",
                    "changed_at": now,
                }

    ctx.bulk_insert(TenantPlugin.__table__, plugin_rows(), total=len(tenant_ids) * len(names))

    with ctx.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT tenant_id, MIN(id), MAX(id) FROM core_users GROUP BY tenant_id"
        ).all()
        ranges = {tenant_id: (low, high) for tenant_id, low, high in rows}
    return Foundation(tenant_ids, ranges)


@case(
    "users.list_tenant",
    "all users of one tenant: scoped session + select(User) vs SELECT ... WHERE tenant_id=?",
)
def list_tenant_users(ctx: Context) -> Pair:
    data = ctx.need(foundation)
    tenant_id = data.middle_tenant
    db = ctx.platform.db

    def platform():
        with db.session(tenant_id) as session:
            return session.scalars(select(User)).all()

    def raw():
        return ctx.raw(f"SELECT {USER_COLUMNS} FROM core_users WHERE tenant_id = ?", (tenant_id,))

    def same(users, rows) -> bool:
        return sorted(u.id for u in users) == sorted(r[0] for r in rows) and len(rows) == ctx.users_per_tenant

    return Pair(platform, raw, same)


@case(
    "users.get_by_id",
    "one user by primary key: scoped session.get(User, id) vs SELECT ... WHERE id=? AND tenant_id=?",
)
def get_user(ctx: Context) -> Pair:
    data = ctx.need(foundation)
    tenant_id = data.middle_tenant
    low, high = data.user_ranges[tenant_id]
    ids = list(range(low, high + 1))
    random.Random(ctx.seed).shuffle(ids)
    db = ctx.platform.db
    # Cycle through the tenant's users so no side benefits from asking for the same row each time.
    platform_ids, raw_ids = iter_forever(ids), iter_forever(ids)

    def platform():
        with db.session(tenant_id) as session:
            return session.get(User, next(platform_ids))

    def raw():
        return ctx.raw(
            f"SELECT {USER_COLUMNS} FROM core_users WHERE id = ? AND tenant_id = ?",
            (next(raw_ids), tenant_id),
            one=True,
        )

    def same(user, row) -> bool:
        return user is not None and row is not None and user.id == row[0] and user.tenant_id == row[1]

    return Pair(platform, raw, same)


@case(
    "plugins.enabled_for_tenant",
    "Platform.enabled_plugins(session) vs SELECT plugin FROM core_tenant_plugins",
)
def enabled_plugins(ctx: Context) -> Pair:
    data = ctx.need(foundation)
    tenant_id = data.middle_tenant
    platform_ = ctx.platform
    installed = list(platform_.plugins)  # dependency order

    def platform():
        with platform_.db.session(tenant_id) as session:
            return platform_.enabled_plugins(session)

    def raw():
        rows = ctx.raw(
            "SELECT plugin FROM core_tenant_plugins WHERE tenant_id = ? AND enabled = ?", (tenant_id, True)
        )
        enabled = {r[0] for r in rows}
        return [name for name in installed if name in enabled]

    return Pair(platform, raw, lambda p, r: p == r)


def iter_forever(values: list[int]):
    while True:
        yield from values
