"""Identity: relationship-based grants (``related`` scope), the party a user stands for.

Field security needs no column: protected fields are declared on the models
(``__protected_fields__``) and their permissions are ordinary grants.

Revision ID: core_0007
Revises: core_0006
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "core_0007"
down_revision = "core_0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("core_role_grants") as batch:
        batch.add_column(sa.Column("via", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("direction", sa.String(20), nullable=False, server_default="outgoing"))
    with op.batch_alter_table("core_users") as batch:
        batch.add_column(sa.Column("party_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("core_users") as batch:
        batch.drop_column("party_id")
    with op.batch_alter_table("core_role_grants") as batch:
        batch.drop_column("direction")
        batch.drop_column("via")
