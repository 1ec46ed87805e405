"""Store amounts as integer cents, converting the existing text amounts."""

import sqlalchemy as sa
from alembic import op

revision = "ledger_0002"
down_revision = "ledger_0001"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("ledger_entries") as batch:
        batch.add_column(sa.Column("amount_cents", sa.Integer(), nullable=True))
    entries = sa.table("ledger_entries", sa.column("id", sa.Integer), sa.column("amount", sa.String), sa.column("amount_cents", sa.Integer))
    connection = op.get_bind()
    for row in connection.execute(sa.select(entries.c.id, entries.c.amount)).all():
        cents = round(float(row.amount) * 100)
        connection.execute(entries.update().where(entries.c.id == row.id).values(amount_cents=cents))
    with op.batch_alter_table("ledger_entries") as batch:
        batch.alter_column("amount_cents", nullable=False)
        batch.drop_column("amount")


def downgrade():
    with op.batch_alter_table("ledger_entries") as batch:
        batch.add_column(sa.Column("amount", sa.String(20), nullable=True))
    entries = sa.table("ledger_entries", sa.column("id", sa.Integer), sa.column("amount", sa.String), sa.column("amount_cents", sa.Integer))
    connection = op.get_bind()
    for row in connection.execute(sa.select(entries.c.id, entries.c.amount_cents)).all():
        connection.execute(entries.update().where(entries.c.id == row.id).values(amount=f"{row.amount_cents / 100:.2f}"))
    with op.batch_alter_table("ledger_entries") as batch:
        batch.alter_column("amount", nullable=False)
        batch.drop_column("amount_cents")
