"""The catalogue (products, tax categories, price lists, exchange rates), pipelines, leads and opportunities.

The first revision of the plugin's own Alembic branch. It depends on the core revision that
created the users, teams and departments owned records point to (parties came before).
"""

import sqlalchemy as sa
from alembic import op

revision = "sales_0001"
down_revision = None
branch_labels = ("sales",)
depends_on = "core_0004"

TABLES = (
    "sales_leads", "sales_opportunities", "sales_price_list_items", "sales_products", "sales_pipeline_stages",
    "sales_lead_forms", "sales_tax_categories", "sales_product_categories", "sales_price_lists",
    "sales_pipelines", "sales_exchange_rates",
)


def upgrade():
    op.create_table('sales_exchange_rates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('base_currency', sa.String(length=3), nullable=False),
    sa.Column('quote_currency', sa.String(length=3), nullable=False),
    sa.Column('rate', sa.Numeric(precision=18, scale=8), nullable=False),
    sa.Column('valid_on', sa.Date(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('rate > 0', name=op.f('ck_sales_exchange_rates_rate_positive')),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_exchange_rates_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_exchange_rates')),
    sa.UniqueConstraint('tenant_id', 'base_currency', 'quote_currency', 'valid_on', name=op.f('uq_sales_exchange_rates_tenant_id_base_currency_quote_currency_valid_on'))
    )
    op.create_index(op.f('ix_sales_exchange_rates_tenant_id'), 'sales_exchange_rates', ['tenant_id'], unique=False)
    op.create_table('sales_pipelines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_pipelines_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_pipelines')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_sales_pipelines_tenant_id_name'))
    )
    op.create_index(op.f('ix_sales_pipelines_tenant_id'), 'sales_pipelines', ['tenant_id'], unique=False)
    op.create_table('sales_price_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('party_tag', sa.String(length=63), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('valid_to IS NULL OR valid_from IS NULL OR valid_from <= valid_to', name=op.f('ck_sales_price_lists_valid_period')),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_price_lists_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_price_lists')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_sales_price_lists_tenant_id_name'))
    )
    op.create_index(op.f('ix_sales_price_lists_tenant_id'), 'sales_price_lists', ['tenant_id'], unique=False)
    op.create_table('sales_product_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_product_categories_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_product_categories')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_sales_product_categories_tenant_id_name'))
    )
    op.create_index(op.f('ix_sales_product_categories_tenant_id'), 'sales_product_categories', ['tenant_id'], unique=False)
    op.create_table('sales_tax_categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('rate', sa.Numeric(precision=7, scale=4), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_tax_categories_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_tax_categories')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_sales_tax_categories_tenant_id_code'))
    )
    op.create_index(op.f('ix_sales_tax_categories_tenant_id'), 'sales_tax_categories', ['tenant_id'], unique=False)
    op.create_table('sales_lead_forms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['core_departments.id'], name=op.f('fk_sales_lead_forms_department_id_core_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_lead_forms_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_lead_forms')),
    sa.UniqueConstraint('tenant_id', 'name', name=op.f('uq_sales_lead_forms_tenant_id_name'))
    )
    op.create_index(op.f('ix_sales_lead_forms_tenant_id'), 'sales_lead_forms', ['tenant_id'], unique=False)
    op.create_table('sales_pipeline_stages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pipeline_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('probability', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('required_fields', sa.JSON(), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('probability >= 0 AND probability <= 100', name=op.f('ck_sales_pipeline_stages_probability_range')),
    sa.ForeignKeyConstraint(['pipeline_id'], ['sales_pipelines.id'], name=op.f('fk_sales_pipeline_stages_pipeline_id_sales_pipelines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_pipeline_stages_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_pipeline_stages')),
    sa.UniqueConstraint('pipeline_id', 'name', name=op.f('uq_sales_pipeline_stages_pipeline_id_name'))
    )
    op.create_index(op.f('ix_sales_pipeline_stages_pipeline_id'), 'sales_pipeline_stages', ['pipeline_id'], unique=False)
    op.create_index(op.f('ix_sales_pipeline_stages_tenant_id'), 'sales_pipeline_stages', ['tenant_id'], unique=False)
    op.create_table('sales_products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('tax_category_id', sa.Integer(), nullable=True),
    sa.Column('cost_price', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['sales_product_categories.id'], name=op.f('fk_sales_products_category_id_sales_product_categories'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tax_category_id'], ['sales_tax_categories.id'], name=op.f('fk_sales_products_tax_category_id_sales_tax_categories'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_products_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_products')),
    sa.UniqueConstraint('tenant_id', 'code', name=op.f('uq_sales_products_tenant_id_code'))
    )
    op.create_index(op.f('ix_sales_products_category_id'), 'sales_products', ['category_id'], unique=False)
    op.create_index(op.f('ix_sales_products_tax_category_id'), 'sales_products', ['tax_category_id'], unique=False)
    op.create_index(op.f('ix_sales_products_tenant_id'), 'sales_products', ['tenant_id'], unique=False)
    op.create_table('sales_price_list_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('price_list_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('min_quantity', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('unit_price', sa.Numeric(precision=14, scale=4), nullable=False),
    sa.Column('discount_percent', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('discount_percent >= 0 AND discount_percent <= 100', name=op.f('ck_sales_price_list_items_discount_percent_range')),
    sa.CheckConstraint('unit_price >= 0', name=op.f('ck_sales_price_list_items_unit_price_not_negative')),
    sa.ForeignKeyConstraint(['price_list_id'], ['sales_price_lists.id'], name=op.f('fk_sales_price_list_items_price_list_id_sales_price_lists'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['sales_products.id'], name=op.f('fk_sales_price_list_items_product_id_sales_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_price_list_items_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_price_list_items')),
    sa.UniqueConstraint('price_list_id', 'product_id', 'min_quantity', name=op.f('uq_sales_price_list_items_price_list_id_product_id_min_quantity'))
    )
    op.create_index(op.f('ix_sales_price_list_items_price_list_id'), 'sales_price_list_items', ['price_list_id'], unique=False)
    op.create_index(op.f('ix_sales_price_list_items_product_id'), 'sales_price_list_items', ['product_id'], unique=False)
    op.create_index(op.f('ix_sales_price_list_items_tenant_id'), 'sales_price_list_items', ['tenant_id'], unique=False)
    op.create_table('sales_opportunities',
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('contact_party_ids', sa.JSON(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('expected_close_date', sa.Date(), nullable=True),
    sa.Column('probability', sa.Numeric(precision=5, scale=2), nullable=True),
    sa.Column('source', sa.String(length=40), nullable=True),
    sa.Column('referring_partner_id', sa.Integer(), nullable=True),
    sa.Column('pipeline_id', sa.Integer(), nullable=False),
    sa.Column('stage_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('close_reason', sa.Text(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stage_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('owner_team_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_sales_opportunities_amount_not_negative')),
    sa.CheckConstraint('probability IS NULL OR (probability >= 0 AND probability <= 100)', name=op.f('ck_sales_opportunities_probability_range')),
    sa.ForeignKeyConstraint(['customer_id'], ['core_parties.id'], name=op.f('fk_sales_opportunities_customer_id_core_parties'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['department_id'], ['core_departments.id'], name=op.f('fk_sales_opportunities_department_id_core_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_team_id'], ['core_teams.id'], name=op.f('fk_sales_opportunities_owner_team_id_core_teams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['core_users.id'], name=op.f('fk_sales_opportunities_owner_user_id_core_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['pipeline_id'], ['sales_pipelines.id'], name=op.f('fk_sales_opportunities_pipeline_id_sales_pipelines'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['referring_partner_id'], ['core_parties.id'], name=op.f('fk_sales_opportunities_referring_partner_id_core_parties'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['stage_id'], ['sales_pipeline_stages.id'], name=op.f('fk_sales_opportunities_stage_id_sales_pipeline_stages'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_opportunities_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_opportunities'))
    )
    op.create_index(op.f('ix_sales_opportunities_customer_id'), 'sales_opportunities', ['customer_id'], unique=False)
    op.create_index(op.f('ix_sales_opportunities_department_id'), 'sales_opportunities', ['department_id'], unique=False)
    op.create_index(op.f('ix_sales_opportunities_owner_team_id'), 'sales_opportunities', ['owner_team_id'], unique=False)
    op.create_index(op.f('ix_sales_opportunities_owner_user_id'), 'sales_opportunities', ['owner_user_id'], unique=False)
    op.create_index(op.f('ix_sales_opportunities_pipeline_id'), 'sales_opportunities', ['pipeline_id'], unique=False)
    op.create_index(op.f('ix_sales_opportunities_referring_partner_id'), 'sales_opportunities', ['referring_partner_id'], unique=False)
    op.create_index(op.f('ix_sales_opportunities_stage_id'), 'sales_opportunities', ['stage_id'], unique=False)
    op.create_index(op.f('ix_sales_opportunities_tenant_id'), 'sales_opportunities', ['tenant_id'], unique=False)
    op.create_index('ix_sales_opportunities_forecast', 'sales_opportunities', ['tenant_id', 'status', 'expected_close_date', 'owner_user_id', 'currency', 'stage_id', 'probability', 'amount'], unique=False)
    op.create_table('sales_leads',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('company', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=50), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=True),
    sa.Column('opportunity_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('owner_team_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['core_departments.id'], name=op.f('fk_sales_leads_department_id_core_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['opportunity_id'], ['sales_opportunities.id'], name=op.f('fk_sales_leads_opportunity_id_sales_opportunities'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_team_id'], ['core_teams.id'], name=op.f('fk_sales_leads_owner_team_id_core_teams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['core_users.id'], name=op.f('fk_sales_leads_owner_user_id_core_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['party_id'], ['core_parties.id'], name=op.f('fk_sales_leads_party_id_core_parties'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_sales_leads_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_leads'))
    )
    op.create_index(op.f('ix_sales_leads_department_id'), 'sales_leads', ['department_id'], unique=False)
    op.create_index(op.f('ix_sales_leads_opportunity_id'), 'sales_leads', ['opportunity_id'], unique=False)
    op.create_index(op.f('ix_sales_leads_owner_team_id'), 'sales_leads', ['owner_team_id'], unique=False)
    op.create_index(op.f('ix_sales_leads_owner_user_id'), 'sales_leads', ['owner_user_id'], unique=False)
    op.create_index(op.f('ix_sales_leads_party_id'), 'sales_leads', ['party_id'], unique=False)
    op.create_index(op.f('ix_sales_leads_tenant_id'), 'sales_leads', ['tenant_id'], unique=False)


def downgrade():
    for table in TABLES:
        op.drop_table(table)
