"""Creates a table, then fails."""

import sqlalchemy as sa
from alembic import op

revision = "badmig_0001"
down_revision = None
branch_labels = ("badmig",)
depends_on = "core_0001"


def upgrade():
    op.create_table("badmig_things", sa.Column("id", sa.Integer(), primary_key=True))
    op.execute("INSERT INTO badmig_things (id) VALUES (1)")
    op.execute("INSERT INTO badmig_things (id) VALUES (1)")  # duplicate primary key


def downgrade():
    op.drop_table("badmig_things")
