"""Quotes (with versions), orders, invoices and credit notes, payments, numbering and the letterhead."""

import sqlalchemy as sa
from alembic import op

revision = "sales_0002"
down_revision = "sales_0001"
branch_labels = None
depends_on = None

TABLES = (
    "sales_payments", "sales_invoice_lines", "sales_invoices", "sales_order_lines", "sales_orders",
    "sales_quote_lines", "sales_quote_versions", "sales_quotes", "sales_document_sequences",
    "sales_document_profiles",
)


def upgrade():
    op.create_table('sales_document_profiles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_name', sa.String(length=200), nullable=False),
    sa.Column('company_address', sa.Text(), nullable=False),
    sa.Column('legal_mentions', sa.Text(), nullable=False),
    sa.Column('logo', sa.LargeBinary(), nullable=True),
    sa.Column('payment_terms_days', sa.Integer(), nullable=False),
    sa.Column('quote_validity_days', sa.Integer(), nullable=False),
    sa.Column('external_invoicing', sa.Boolean(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_document_profiles_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_document_profiles')),
    sa.UniqueConstraint('tenant_id', name=op.f('uq_sales_document_profiles_tenant_id'))
    )
    op.create_index(op.f('ix_sales_document_profiles_tenant_id'), 'sales_document_profiles', ['tenant_id'], unique=False)
    op.create_table('sales_document_sequences',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_type', sa.String(length=20), nullable=False),
    sa.Column('pattern', sa.String(length=100), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_document_sequences_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_document_sequences')),
    sa.UniqueConstraint('tenant_id', 'document_type', name=op.f('uq_sales_document_sequences_tenant_id_document_type'))
    )
    op.create_index(op.f('ix_sales_document_sequences_tenant_id'), 'sales_document_sequences', ['tenant_id'], unique=False)
    op.create_table('sales_quotes',
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('opportunity_id', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('current_version', sa.Integer(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('public_link', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('owner_team_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['core_parties.id'], name=op.f('fk_sales_quotes_customer_id_core_parties'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['department_id'], ['core_departments.id'], name=op.f('fk_sales_quotes_department_id_core_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['opportunity_id'], ['sales_opportunities.id'], name=op.f('fk_sales_quotes_opportunity_id_sales_opportunities'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_team_id'], ['core_teams.id'], name=op.f('fk_sales_quotes_owner_team_id_core_teams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['core_users.id'], name=op.f('fk_sales_quotes_owner_user_id_core_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_quotes_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_quotes')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_sales_quotes_tenant_id_number'))
    )
    op.create_index(op.f('ix_sales_quotes_customer_id'), 'sales_quotes', ['customer_id'], unique=False)
    op.create_index(op.f('ix_sales_quotes_department_id'), 'sales_quotes', ['department_id'], unique=False)
    op.create_index(op.f('ix_sales_quotes_opportunity_id'), 'sales_quotes', ['opportunity_id'], unique=False)
    op.create_index(op.f('ix_sales_quotes_owner_team_id'), 'sales_quotes', ['owner_team_id'], unique=False)
    op.create_index(op.f('ix_sales_quotes_owner_user_id'), 'sales_quotes', ['owner_user_id'], unique=False)
    op.create_index(op.f('ix_sales_quotes_tenant_id'), 'sales_quotes', ['tenant_id'], unique=False)
    op.create_table('sales_orders',
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=True),
    sa.Column('quote_version', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('order_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('subtotal', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('tax_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('owner_team_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['core_parties.id'], name=op.f('fk_sales_orders_customer_id_core_parties'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['department_id'], ['core_departments.id'], name=op.f('fk_sales_orders_department_id_core_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_team_id'], ['core_teams.id'], name=op.f('fk_sales_orders_owner_team_id_core_teams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['core_users.id'], name=op.f('fk_sales_orders_owner_user_id_core_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['quote_id'], ['sales_quotes.id'], name=op.f('fk_sales_orders_quote_id_sales_quotes'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_orders_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_orders')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_sales_orders_tenant_id_number'))
    )
    op.create_index(op.f('ix_sales_orders_customer_id'), 'sales_orders', ['customer_id'], unique=False)
    op.create_index(op.f('ix_sales_orders_department_id'), 'sales_orders', ['department_id'], unique=False)
    op.create_index(op.f('ix_sales_orders_order_date'), 'sales_orders', ['order_date'], unique=False)
    op.create_index(op.f('ix_sales_orders_owner_team_id'), 'sales_orders', ['owner_team_id'], unique=False)
    op.create_index(op.f('ix_sales_orders_owner_user_id'), 'sales_orders', ['owner_user_id'], unique=False)
    op.create_index(op.f('ix_sales_orders_quote_id'), 'sales_orders', ['quote_id'], unique=False)
    op.create_index(op.f('ix_sales_orders_tenant_id'), 'sales_orders', ['tenant_id'], unique=False)
    op.create_table('sales_quote_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('quote_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('subtotal', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('tax_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['quote_id'], ['sales_quotes.id'], name=op.f('fk_sales_quote_versions_quote_id_sales_quotes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_quote_versions_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_quote_versions')),
    sa.UniqueConstraint('quote_id', 'number', name=op.f('uq_sales_quote_versions_quote_id_number'))
    )
    op.create_index(op.f('ix_sales_quote_versions_quote_id'), 'sales_quote_versions', ['quote_id'], unique=False)
    op.create_index(op.f('ix_sales_quote_versions_tenant_id'), 'sales_quote_versions', ['tenant_id'], unique=False)
    op.create_table('sales_invoices',
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('credited_invoice_id', sa.Integer(), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('issue_date', sa.Date(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=15), nullable=False),
    sa.Column('paid_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('subtotal', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('tax_total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('total', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('owner_team_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("kind IN ('invoice', 'credit_note')", name=op.f('ck_sales_invoices_kind_known')),
    sa.ForeignKeyConstraint(['credited_invoice_id'], ['sales_invoices.id'], name=op.f('fk_sales_invoices_credited_invoice_id_sales_invoices'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['customer_id'], ['core_parties.id'], name=op.f('fk_sales_invoices_customer_id_core_parties'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['department_id'], ['core_departments.id'], name=op.f('fk_sales_invoices_department_id_core_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['sales_orders.id'], name=op.f('fk_sales_invoices_order_id_sales_orders'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['owner_team_id'], ['core_teams.id'], name=op.f('fk_sales_invoices_owner_team_id_core_teams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['core_users.id'], name=op.f('fk_sales_invoices_owner_user_id_core_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_invoices_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_invoices')),
    sa.UniqueConstraint('tenant_id', 'number', name=op.f('uq_sales_invoices_tenant_id_number'))
    )
    op.create_index(op.f('ix_sales_invoices_customer_id'), 'sales_invoices', ['customer_id'], unique=False)
    op.create_index(op.f('ix_sales_invoices_department_id'), 'sales_invoices', ['department_id'], unique=False)
    op.create_index(op.f('ix_sales_invoices_order_id'), 'sales_invoices', ['order_id'], unique=False)
    op.create_index(op.f('ix_sales_invoices_owner_team_id'), 'sales_invoices', ['owner_team_id'], unique=False)
    op.create_index(op.f('ix_sales_invoices_owner_user_id'), 'sales_invoices', ['owner_user_id'], unique=False)
    op.create_index(op.f('ix_sales_invoices_tenant_id'), 'sales_invoices', ['tenant_id'], unique=False)
    op.create_table('sales_order_lines',
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('discount_percent', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('tax_rate', sa.Numeric(precision=7, scale=4), nullable=False),
    sa.Column('net_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('tax_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('price_rule', sa.Text(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['sales_orders.id'], name=op.f('fk_sales_order_lines_order_id_sales_orders'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['sales_products.id'], name=op.f('fk_sales_order_lines_product_id_sales_products'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_order_lines_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_order_lines'))
    )
    op.create_index(op.f('ix_sales_order_lines_order_id'), 'sales_order_lines', ['order_id'], unique=False)
    op.create_index(op.f('ix_sales_order_lines_product_id'), 'sales_order_lines', ['product_id'], unique=False)
    op.create_index('ix_sales_order_lines_revenue', 'sales_order_lines', ['tenant_id', 'order_id', 'net_amount'], unique=False)
    op.create_index(op.f('ix_sales_order_lines_tenant_id'), 'sales_order_lines', ['tenant_id'], unique=False)
    op.create_table('sales_quote_lines',
    sa.Column('quote_version_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('discount_percent', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('tax_rate', sa.Numeric(precision=7, scale=4), nullable=False),
    sa.Column('net_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('tax_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('price_rule', sa.Text(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['product_id'], ['sales_products.id'], name=op.f('fk_sales_quote_lines_product_id_sales_products'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['quote_version_id'], ['sales_quote_versions.id'], name=op.f('fk_sales_quote_lines_quote_version_id_sales_quote_versions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_quote_lines_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_quote_lines'))
    )
    op.create_index(op.f('ix_sales_quote_lines_product_id'), 'sales_quote_lines', ['product_id'], unique=False)
    op.create_index(op.f('ix_sales_quote_lines_quote_version_id'), 'sales_quote_lines', ['quote_version_id'], unique=False)
    op.create_index(op.f('ix_sales_quote_lines_tenant_id'), 'sales_quote_lines', ['tenant_id'], unique=False)
    op.create_table('sales_invoice_lines',
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('description', sa.String(length=300), nullable=False),
    sa.Column('quantity', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('discount_percent', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('tax_rate', sa.Numeric(precision=7, scale=4), nullable=False),
    sa.Column('net_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('tax_amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('price_rule', sa.Text(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['sales_invoices.id'], name=op.f('fk_sales_invoice_lines_invoice_id_sales_invoices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['sales_products.id'], name=op.f('fk_sales_invoice_lines_product_id_sales_products'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_invoice_lines_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_invoice_lines'))
    )
    op.create_index(op.f('ix_sales_invoice_lines_invoice_id'), 'sales_invoice_lines', ['invoice_id'], unique=False)
    op.create_index(op.f('ix_sales_invoice_lines_product_id'), 'sales_invoice_lines', ['product_id'], unique=False)
    op.create_index(op.f('ix_sales_invoice_lines_tenant_id'), 'sales_invoice_lines', ['tenant_id'], unique=False)
    op.create_table('sales_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('method', sa.String(length=40), nullable=False),
    sa.Column('reference', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['invoice_id'], ['sales_invoices.id'], name=op.f('fk_sales_payments_invoice_id_sales_invoices'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_payments_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_payments'))
    )
    op.create_index(op.f('ix_sales_payments_invoice_id'), 'sales_payments', ['invoice_id'], unique=False)
    op.create_index(op.f('ix_sales_payments_tenant_id'), 'sales_payments', ['tenant_id'], unique=False)


def downgrade():
    for table in TABLES:
        op.drop_table(table)
