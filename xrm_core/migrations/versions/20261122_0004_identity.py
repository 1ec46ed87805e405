"""Identity: departments, teams, roles, grants, shares; users get a department and a credential version.

Revision ID: core_0004
Revises: core_0003
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0004"
down_revision = "core_0003"
branch_labels = None
depends_on = None


def _tenant_column(table: str) -> sa.Column:
    return sa.Column("tenant_id", sa.Integer(), sa.ForeignKey(
        "core_tenants.id", ondelete="CASCADE", name=op.f(f"fk_{table}_tenant_id_core_tenants")), nullable=False)


def _enum(*values: str, name: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=20)


def upgrade() -> None:
    op.create_table(
        "core_departments",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_departments"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(1000), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["core_departments.id"], name=op.f("fk_core_departments_parent_id_core_departments"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_departments")),
        sa.UniqueConstraint("tenant_id", "parent_id", "name", name=op.f("uq_core_departments_tenant_id_parent_id_name")),
    )
    op.create_index(op.f("ix_core_departments_tenant_id"), "core_departments", ["tenant_id"])
    op.create_index(op.f("ix_core_departments_path"), "core_departments", ["path"])
    op.create_table(
        "core_teams",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_teams"),
        sa.Column("name", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_teams")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_core_teams_tenant_id_name")),
    )
    op.create_index(op.f("ix_core_teams_tenant_id"), "core_teams", ["tenant_id"])
    op.create_table(
        "core_team_members",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_team_members"),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["core_teams.id"], name=op.f("fk_core_team_members_team_id_core_teams"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"], name=op.f("fk_core_team_members_user_id_core_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_team_members")),
        sa.UniqueConstraint("team_id", "user_id", name=op.f("uq_core_team_members_team_id_user_id")),
    )
    for column in ("tenant_id", "team_id", "user_id"):
        op.create_index(op.f(f"ix_core_team_members_{column}"), "core_team_members", [column])
    op.create_table(
        "core_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_roles"),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.String(500), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_roles")),
        sa.UniqueConstraint("tenant_id", "name", name=op.f("uq_core_roles_tenant_id_name")),
    )
    op.create_index(op.f("ix_core_roles_tenant_id"), "core_roles", ["tenant_id"])
    op.create_table(
        "core_role_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_role_grants"),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.Column("permission", sa.String(120), nullable=False),
        sa.Column("scope", _enum("own", "department", "subtree", "tenant", name="scope"), nullable=False),
        sa.ForeignKeyConstraint(["role_id"], ["core_roles.id"], name=op.f("fk_core_role_grants_role_id_core_roles"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_role_grants")),
        sa.UniqueConstraint("role_id", "permission", name=op.f("uq_core_role_grants_role_id_permission")),
    )
    for column in ("tenant_id", "role_id"):
        op.create_index(op.f(f"ix_core_role_grants_{column}"), "core_role_grants", [column])
    op.create_table(
        "core_user_roles",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_user_roles"),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"], name=op.f("fk_core_user_roles_user_id_core_users"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["role_id"], ["core_roles.id"], name=op.f("fk_core_user_roles_role_id_core_roles"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_user_roles")),
        sa.UniqueConstraint("user_id", "role_id", name=op.f("uq_core_user_roles_user_id_role_id")),
    )
    for column in ("tenant_id", "user_id", "role_id"):
        op.create_index(op.f(f"ix_core_user_roles_{column}"), "core_user_roles", [column])
    op.create_table(
        "core_shares",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_shares"),
        sa.Column("resource", sa.String(100), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("grantee_kind", _enum("user", "team", "department", name="granteekind"), nullable=False),
        sa.Column("grantee_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["core_users.id"], name=op.f("fk_core_shares_created_by_core_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_shares")),
        sa.UniqueConstraint("tenant_id", "resource", "record_id", "action", "grantee_kind", "grantee_id",
                            name=op.f("uq_core_shares_tenant_id_resource_record_id_action_grantee_kind_grantee_id")),
    )
    op.create_index(op.f("ix_core_shares_tenant_id"), "core_shares", ["tenant_id"])
    op.create_index("ix_core_shares_lookup", "core_shares", ["tenant_id", "resource", "action", "grantee_kind", "grantee_id"])
    op.create_table(
        "core_api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        _tenant_column("core_api_tokens"),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("permissions", sa.JSON(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["core_users.id"], name=op.f("fk_core_api_tokens_user_id_core_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_core_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_core_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_core_api_tokens_tenant_id"), "core_api_tokens", ["tenant_id"])
    op.create_index(op.f("ix_core_api_tokens_user_id"), "core_api_tokens", ["user_id"])
    with op.batch_alter_table("core_users") as batch:
        batch.add_column(sa.Column("department_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("credential_version", sa.Integer(), nullable=False, server_default="1"))
        batch.create_foreign_key(op.f("fk_core_users_department_id_core_departments"), "core_departments",
                                 ["department_id"], ["id"], ondelete="SET NULL")
    with op.batch_alter_table("core_parties") as batch:
        batch.add_column(sa.Column("owner_team_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(op.f("fk_core_parties_owner_team_id_core_teams"), "core_teams",
                                 ["owner_team_id"], ["id"], ondelete="SET NULL")
        batch.create_foreign_key(op.f("fk_core_parties_department_id_core_departments"), "core_departments",
                                 ["department_id"], ["id"], ondelete="SET NULL")
        batch.create_index(op.f("ix_core_parties_owner_team_id"), ["owner_team_id"])
        batch.create_index(op.f("ix_core_parties_department_id"), ["department_id"])


def downgrade() -> None:
    with op.batch_alter_table("core_parties") as batch:
        batch.drop_index(op.f("ix_core_parties_department_id"))
        batch.drop_index(op.f("ix_core_parties_owner_team_id"))
        batch.drop_constraint(op.f("fk_core_parties_department_id_core_departments"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_core_parties_owner_team_id_core_teams"), type_="foreignkey")
        batch.drop_column("owner_team_id")
    with op.batch_alter_table("core_users") as batch:
        batch.drop_constraint(op.f("fk_core_users_department_id_core_departments"), type_="foreignkey")
        batch.drop_column("credential_version")
        batch.drop_column("department_id")
    for table in ("core_api_tokens", "core_shares", "core_user_roles", "core_role_grants", "core_roles", "core_team_members",
                  "core_teams", "core_departments"):
        op.drop_table(table)
