"""Tenant administrators manage their tenant's plugins: ``core.plugin.*`` for existing Administrator roles.

The permission is new (the admin console's Plugins page); ``ensure_administrator`` grants it to
the roles it defines from now on, and this gives it to the Administrator roles defined before, so
an existing tenant's administrator is not locked out of the page.

Revision ID: core_0020
Revises: core_0019
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0020"
down_revision = "core_0019"
branch_labels = None
depends_on = None

ADMINISTRATOR = "Administrator"
PERMISSIONS = tuple(f"core.plugin.{action}" for action in ("read", "create", "update", "delete"))

roles = sa.table("core_roles", sa.column("id", sa.Integer), sa.column("tenant_id", sa.Integer),
                 sa.column("name", sa.String))
grants = sa.table("core_role_grants", sa.column("role_id", sa.Integer), sa.column("tenant_id", sa.Integer),
                  sa.column("permission", sa.String), sa.column("scope", sa.String),
                  sa.column("via", sa.JSON), sa.column("direction", sa.String))


def upgrade() -> None:
    connection = op.get_bind()
    administrators = connection.execute(
        sa.select(roles.c.id, roles.c.tenant_id).where(roles.c.name == ADMINISTRATOR)).all()
    held = set(connection.execute(sa.select(grants.c.role_id, grants.c.permission)
                                  .where(grants.c.permission.in_(PERMISSIONS))).all())
    rows = [{"role_id": role_id, "tenant_id": tenant_id, "permission": permission, "scope": "tenant", "via": [],
             "direction": "outgoing"}
            for role_id, tenant_id in administrators for permission in PERMISSIONS
            if (role_id, permission) not in held]
    if rows:
        op.bulk_insert(grants, rows)


def downgrade() -> None:
    op.execute(grants.delete().where(grants.c.permission.in_(PERMISSIONS)))
