"""An index covering revenue per customer: the report reads it alone, already in group order."""

from alembic import op

revision = "sales_0003"
down_revision = "sales_0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_sales_orders_revenue", "sales_orders", ["tenant_id", "customer_id", "currency", "subtotal"])


def downgrade():
    op.drop_index("ix_sales_orders_revenue", table_name="sales_orders")
