"""The contacts plugin's tables: profiles, addresses, contact points, consents and their history, interactions.

The first revision of the plugin's own Alembic branch. It depends on the core revision of the audit
log (core_0011), the newest core table the plugin relies on (the privacy hooks it implements are
audited by the core).
"""

import sqlalchemy as sa
from alembic import op

revision = "contacts_0001"
down_revision = None
branch_labels = ("contacts",)
depends_on = "core_0011"


def upgrade():
    op.create_table('contacts_consent_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('proof', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sa.String(length=100), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('owner_team_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['core_departments.id'], name=op.f('fk_contacts_consent_changes_department_id_core_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_team_id'], ['core_teams.id'], name=op.f('fk_contacts_consent_changes_owner_team_id_core_teams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['core_users.id'], name=op.f('fk_contacts_consent_changes_owner_user_id_core_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['party_id'], ['core_parties.id'], name=op.f('fk_contacts_consent_changes_party_id_core_parties'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_contacts_consent_changes_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts_consent_changes'))
    )
    op.create_index(op.f('ix_contacts_consent_changes_department_id'), 'contacts_consent_changes', ['department_id'], unique=False)
    op.create_index(op.f('ix_contacts_consent_changes_owner_team_id'), 'contacts_consent_changes', ['owner_team_id'], unique=False)
    op.create_index(op.f('ix_contacts_consent_changes_owner_user_id'), 'contacts_consent_changes', ['owner_user_id'], unique=False)
    op.create_index(op.f('ix_contacts_consent_changes_party_id'), 'contacts_consent_changes', ['party_id'], unique=False)
    op.create_index(op.f('ix_contacts_consent_changes_tenant_id'), 'contacts_consent_changes', ['tenant_id'], unique=False)
    op.create_table('contacts_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('proof', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('owner_team_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['core_departments.id'], name=op.f('fk_contacts_consents_department_id_core_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_team_id'], ['core_teams.id'], name=op.f('fk_contacts_consents_owner_team_id_core_teams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['core_users.id'], name=op.f('fk_contacts_consents_owner_user_id_core_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['party_id'], ['core_parties.id'], name=op.f('fk_contacts_consents_party_id_core_parties'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_contacts_consents_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts_consents')),
    sa.UniqueConstraint('tenant_id', 'party_id', 'channel', name=op.f('uq_contacts_consents_tenant_id_party_id_channel'))
    )
    op.create_index(op.f('ix_contacts_consents_department_id'), 'contacts_consents', ['department_id'], unique=False)
    op.create_index(op.f('ix_contacts_consents_owner_team_id'), 'contacts_consents', ['owner_team_id'], unique=False)
    op.create_index(op.f('ix_contacts_consents_owner_user_id'), 'contacts_consents', ['owner_user_id'], unique=False)
    op.create_index(op.f('ix_contacts_consents_party_id'), 'contacts_consents', ['party_id'], unique=False)
    op.create_index(op.f('ix_contacts_consents_tenant_id'), 'contacts_consents', ['tenant_id'], unique=False)
    op.create_table('contacts_interactions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('direction', sa.String(length=20), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=True),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('outcome', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('user_ids', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('owner_team_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['core_departments.id'], name=op.f('fk_contacts_interactions_department_id_core_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_team_id'], ['core_teams.id'], name=op.f('fk_contacts_interactions_owner_team_id_core_teams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['core_users.id'], name=op.f('fk_contacts_interactions_owner_user_id_core_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['party_id'], ['core_parties.id'], name=op.f('fk_contacts_interactions_party_id_core_parties'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_contacts_interactions_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts_interactions'))
    )
    op.create_index(op.f('ix_contacts_interactions_department_id'), 'contacts_interactions', ['department_id'], unique=False)
    op.create_index(op.f('ix_contacts_interactions_owner_team_id'), 'contacts_interactions', ['owner_team_id'], unique=False)
    op.create_index(op.f('ix_contacts_interactions_owner_user_id'), 'contacts_interactions', ['owner_user_id'], unique=False)
    op.create_index(op.f('ix_contacts_interactions_party_id'), 'contacts_interactions', ['party_id'], unique=False)
    op.create_index(op.f('ix_contacts_interactions_tenant_id'), 'contacts_interactions', ['tenant_id'], unique=False)
    op.create_index('ix_contacts_interactions_tenant_id_occurred_at', 'contacts_interactions', ['tenant_id', 'occurred_at'], unique=False)
    op.create_table('contacts_profiles',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('prefix', sa.String(length=40), nullable=False),
    sa.Column('given_name', sa.String(length=100), nullable=False),
    sa.Column('family_name', sa.String(length=100), nullable=False),
    sa.Column('job_title', sa.String(length=200), nullable=False),
    sa.Column('preferred_channel', sa.String(length=20), nullable=True),
    sa.Column('preferred_language', sa.String(length=35), nullable=True),
    sa.Column('birthday', sa.Date(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('owner_team_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['core_departments.id'], name=op.f('fk_contacts_profiles_department_id_core_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['id'], ['core_parties.id'], name=op.f('fk_contacts_profiles_id_core_parties'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_team_id'], ['core_teams.id'], name=op.f('fk_contacts_profiles_owner_team_id_core_teams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['core_users.id'], name=op.f('fk_contacts_profiles_owner_user_id_core_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_contacts_profiles_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts_profiles'))
    )
    op.create_index(op.f('ix_contacts_profiles_department_id'), 'contacts_profiles', ['department_id'], unique=False)
    op.create_index(op.f('ix_contacts_profiles_owner_team_id'), 'contacts_profiles', ['owner_team_id'], unique=False)
    op.create_index(op.f('ix_contacts_profiles_owner_user_id'), 'contacts_profiles', ['owner_user_id'], unique=False)
    op.create_index(op.f('ix_contacts_profiles_tenant_id'), 'contacts_profiles', ['tenant_id'], unique=False)
    op.create_table('contacts_addresses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('street', sa.Text(), nullable=False),
    sa.Column('postal_code', sa.String(length=20), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('region', sa.String(length=100), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('owner_team_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['core_departments.id'], name=op.f('fk_contacts_addresses_department_id_core_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_team_id'], ['core_teams.id'], name=op.f('fk_contacts_addresses_owner_team_id_core_teams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['core_users.id'], name=op.f('fk_contacts_addresses_owner_user_id_core_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['party_id'], ['contacts_profiles.id'], name=op.f('fk_contacts_addresses_party_id_contacts_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_contacts_addresses_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts_addresses'))
    )
    op.create_index(op.f('ix_contacts_addresses_department_id'), 'contacts_addresses', ['department_id'], unique=False)
    op.create_index(op.f('ix_contacts_addresses_owner_team_id'), 'contacts_addresses', ['owner_team_id'], unique=False)
    op.create_index(op.f('ix_contacts_addresses_owner_user_id'), 'contacts_addresses', ['owner_user_id'], unique=False)
    op.create_index(op.f('ix_contacts_addresses_party_id'), 'contacts_addresses', ['party_id'], unique=False)
    op.create_index(op.f('ix_contacts_addresses_tenant_id'), 'contacts_addresses', ['tenant_id'], unique=False)
    op.create_table('contacts_contact_points',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('label', sa.String(length=20), nullable=False),
    sa.Column('value', sa.String(length=320), nullable=False),
    sa.Column('service', sa.String(length=40), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('owner_team_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['core_departments.id'], name=op.f('fk_contacts_contact_points_department_id_core_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_team_id'], ['core_teams.id'], name=op.f('fk_contacts_contact_points_owner_team_id_core_teams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['core_users.id'], name=op.f('fk_contacts_contact_points_owner_user_id_core_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['party_id'], ['contacts_profiles.id'], name=op.f('fk_contacts_contact_points_party_id_contacts_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_contacts_contact_points_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts_contact_points')),
    sa.UniqueConstraint('tenant_id', 'party_id', 'kind', 'value', name=op.f('uq_contacts_contact_points_tenant_id_party_id_kind_value'))
    )
    op.create_index(op.f('ix_contacts_contact_points_department_id'), 'contacts_contact_points', ['department_id'], unique=False)
    op.create_index(op.f('ix_contacts_contact_points_owner_team_id'), 'contacts_contact_points', ['owner_team_id'], unique=False)
    op.create_index(op.f('ix_contacts_contact_points_owner_user_id'), 'contacts_contact_points', ['owner_user_id'], unique=False)
    op.create_index(op.f('ix_contacts_contact_points_party_id'), 'contacts_contact_points', ['party_id'], unique=False)
    op.create_index(op.f('ix_contacts_contact_points_tenant_id'), 'contacts_contact_points', ['tenant_id'], unique=False)
    op.create_index('ix_contacts_contact_points_tenant_id_kind_value', 'contacts_contact_points', ['tenant_id', 'kind', 'value'], unique=False)
    op.create_table('contacts_interaction_parties',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['interaction_id'], ['contacts_interactions.id'], name=op.f('fk_contacts_interaction_parties_interaction_id_contacts_interactions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['party_id'], ['core_parties.id'], name=op.f('fk_contacts_interaction_parties_party_id_core_parties'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_contacts_interaction_parties_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts_interaction_parties')),
    sa.UniqueConstraint('interaction_id', 'party_id', name=op.f('uq_contacts_interaction_parties_interaction_id_party_id'))
    )
    op.create_index(op.f('ix_contacts_interaction_parties_interaction_id'), 'contacts_interaction_parties', ['interaction_id'], unique=False)
    op.create_index(op.f('ix_contacts_interaction_parties_party_id'), 'contacts_interaction_parties', ['party_id'], unique=False)
    op.create_index(op.f('ix_contacts_interaction_parties_tenant_id'), 'contacts_interaction_parties', ['tenant_id'], unique=False)


def downgrade():
    op.drop_table("contacts_interaction_parties")
    op.drop_table("contacts_contact_points")
    op.drop_table("contacts_addresses")
    op.drop_table("contacts_profiles")
    op.drop_table("contacts_interactions")
    op.drop_table("contacts_consents")
    op.drop_table("contacts_consent_changes")
