"""Document profiles get a version (their settings forms and API refuse stale changes); the
tenant's sales settings (the reporting currency the reports can convert to); the revenue index
also holds the columns a reader's scope is tested on, so the report still reads it alone."""

import sqlalchemy as sa
from alembic import op

revision = "sales_0004"
down_revision = "sales_0003"
branch_labels = None
depends_on = None

REVENUE_INDEX = ["tenant_id", "customer_id", "currency", "subtotal"]
SCOPE_COLUMNS = ["department_id", "owner_user_id", "owner_team_id"]


def upgrade():
    # Existing profiles start at version 1, the version an insert gives a new one.
    with op.batch_alter_table("sales_document_profiles") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("sales_document_profiles") as batch:
        batch.alter_column("version", server_default=None)
    op.create_table('sales_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reporting_currency', sa.String(length=3), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_settings_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_settings')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_sales_settings_tenant_id'))
    )
    op.create_index(op.f('ix_sales_settings_tenant_id'), 'sales_settings', ['tenant_id'], unique=False)
    op.drop_index("ix_sales_orders_revenue", table_name="sales_orders")
    op.create_index("ix_sales_orders_revenue", "sales_orders", [*REVENUE_INDEX, *SCOPE_COLUMNS])


def downgrade():
    op.drop_index("ix_sales_orders_revenue", table_name="sales_orders")
    op.create_index("ix_sales_orders_revenue", "sales_orders", REVENUE_INDEX)
    op.drop_index(op.f('ix_sales_settings_tenant_id'), table_name='sales_settings')
    op.drop_table('sales_settings')
    with op.batch_alter_table("sales_document_profiles") as batch:
        batch.drop_column("version")
