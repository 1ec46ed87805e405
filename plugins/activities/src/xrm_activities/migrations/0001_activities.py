"""Tasks (checklists, links, reminders), meetings (attendees), time entries and calendar feed tokens.

The first revision of the plugin's own Alembic branch. It depends on the core revision that
created the tables it points to (tenants, users, teams, departments, parties).
"""

import sqlalchemy as sa
from alembic import op

revision = "activities_0001"
down_revision = None
branch_labels = ("activities",)
depends_on = "core_0004"

TABLES = (
    "activities_time_entries", "activities_task_links", "activities_reminders", "activities_checklist_items",
    "activities_attendees", "activities_tasks", "activities_meetings", "activities_feed_tokens",
)


def upgrade():
    op.create_table('activities_feed_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_activities_feed_tokens_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['core_users.id'], name=op.f('fk_activities_feed_tokens_user_id_core_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities_feed_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_activities_feed_tokens_token_hash'))
    )
    op.create_index(op.f('ix_activities_feed_tokens_tenant_id'), 'activities_feed_tokens', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_activities_feed_tokens_user_id'), 'activities_feed_tokens', ['user_id'], unique=False)
    op.create_table('activities_meetings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('meeting', 'call', name='meetingkind', native_enum=False, length=20), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('location', sa.String(length=300), nullable=False),
    sa.Column('video_url', sa.String(length=500), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('time_zone', sa.String(length=63), nullable=False),
    sa.Column('all_day', sa.Boolean(), nullable=False),
    sa.Column('recurrence', sa.String(length=500), nullable=True),
    sa.Column('ended_through', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ical_uid', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('owner_team_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_activities_meetings_ends_after_start')),
    sa.ForeignKeyConstraint(['department_id'], ['core_departments.id'], name=op.f('fk_activities_meetings_department_id_core_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_team_id'], ['core_teams.id'], name=op.f('fk_activities_meetings_owner_team_id_core_teams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['core_users.id'], name=op.f('fk_activities_meetings_owner_user_id_core_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_activities_meetings_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities_meetings'))
    )
    op.create_index(op.f('ix_activities_meetings_department_id'), 'activities_meetings', ['department_id'], unique=False)
    op.create_index(op.f('ix_activities_meetings_ical_uid'), 'activities_meetings', ['ical_uid'], unique=False)
    op.create_index(op.f('ix_activities_meetings_owner_team_id'), 'activities_meetings', ['owner_team_id'], unique=False)
    op.create_index(op.f('ix_activities_meetings_owner_user_id'), 'activities_meetings', ['owner_user_id'], unique=False)
    op.create_index(op.f('ix_activities_meetings_tenant_id'), 'activities_meetings', ['tenant_id'], unique=False)
    op.create_index('ix_activities_meetings_tenant_id_starts_at', 'activities_meetings', ['tenant_id', 'starts_at'], unique=False)
    op.create_table('activities_tasks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('priority', sa.Enum('low', 'normal', 'high', 'urgent', name='priority', native_enum=False, length=20), nullable=False),
    sa.Column('status', sa.Enum('open', 'in_progress', 'done', 'cancelled', name='taskstatus', native_enum=False, length=20), nullable=False),
    sa.Column('recurrence', sa.String(length=500), nullable=True),
    sa.Column('next_occurrence_id', sa.Integer(), nullable=True),
    sa.Column('overdue_notified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('owner_team_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('due_on IS NULL OR due_at IS NULL', name=op.f('ck_activities_tasks_one_due')),
    sa.ForeignKeyConstraint(['department_id'], ['core_departments.id'], name=op.f('fk_activities_tasks_department_id_core_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['next_occurrence_id'], ['activities_tasks.id'], name=op.f('fk_activities_tasks_next_occurrence_id_activities_tasks'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_team_id'], ['core_teams.id'], name=op.f('fk_activities_tasks_owner_team_id_core_teams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['core_users.id'], name=op.f('fk_activities_tasks_owner_user_id_core_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_activities_tasks_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities_tasks'))
    )
    op.create_index(op.f('ix_activities_tasks_department_id'), 'activities_tasks', ['department_id'], unique=False)
    op.create_index(op.f('ix_activities_tasks_owner_team_id'), 'activities_tasks', ['owner_team_id'], unique=False)
    op.create_index(op.f('ix_activities_tasks_owner_user_id'), 'activities_tasks', ['owner_user_id'], unique=False)
    op.create_index(op.f('ix_activities_tasks_tenant_id'), 'activities_tasks', ['tenant_id'], unique=False)
    op.create_index('ix_activities_tasks_tenant_id_status_due_at', 'activities_tasks', ['tenant_id', 'status', 'due_at'], unique=False)
    op.create_table('activities_attendees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('party_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('(user_id IS NULL) <> (party_id IS NULL)', name=op.f('ck_activities_attendees_user_or_party')),
    sa.ForeignKeyConstraint(['meeting_id'], ['activities_meetings.id'], name=op.f('fk_activities_attendees_meeting_id_activities_meetings'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['party_id'], ['core_parties.id'], name=op.f('fk_activities_attendees_party_id_core_parties'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_activities_attendees_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['core_users.id'], name=op.f('fk_activities_attendees_user_id_core_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities_attendees'))
    )
    op.create_index(op.f('ix_activities_attendees_meeting_id'), 'activities_attendees', ['meeting_id'], unique=False)
    op.create_index(op.f('ix_activities_attendees_party_id'), 'activities_attendees', ['party_id'], unique=False)
    op.create_index(op.f('ix_activities_attendees_tenant_id'), 'activities_attendees', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_activities_attendees_user_id'), 'activities_attendees', ['user_id'], unique=False)
    op.create_table('activities_checklist_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('done', sa.Boolean(), nullable=False),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['activities_tasks.id'], name=op.f('fk_activities_checklist_items_task_id_activities_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_activities_checklist_items_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities_checklist_items'))
    )
    op.create_index(op.f('ix_activities_checklist_items_task_id'), 'activities_checklist_items', ['task_id'], unique=False)
    op.create_index(op.f('ix_activities_checklist_items_tenant_id'), 'activities_checklist_items', ['tenant_id'], unique=False)
    op.create_table('activities_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('minutes_before', sa.Integer(), nullable=False),
    sa.Column('business_time', sa.Boolean(), nullable=False),
    sa.Column('fire_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['activities_tasks.id'], name=op.f('fk_activities_reminders_task_id_activities_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_activities_reminders_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities_reminders'))
    )
    op.create_index(op.f('ix_activities_reminders_fire_at'), 'activities_reminders', ['fire_at'], unique=False)
    op.create_index(op.f('ix_activities_reminders_task_id'), 'activities_reminders', ['task_id'], unique=False)
    op.create_index(op.f('ix_activities_reminders_tenant_id'), 'activities_reminders', ['tenant_id'], unique=False)
    op.create_table('activities_task_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=True),
    sa.Column('record', sa.String(length=120), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('(party_id IS NULL) <> (record IS NULL)', name=op.f('ck_activities_task_links_party_or_record')),
    sa.ForeignKeyConstraint(['party_id'], ['core_parties.id'], name=op.f('fk_activities_task_links_party_id_core_parties'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['task_id'], ['activities_tasks.id'], name=op.f('fk_activities_task_links_task_id_activities_tasks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_activities_task_links_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities_task_links'))
    )
    op.create_index(op.f('ix_activities_task_links_party_id'), 'activities_task_links', ['party_id'], unique=False)
    op.create_index(op.f('ix_activities_task_links_record'), 'activities_task_links', ['record'], unique=False)
    op.create_index(op.f('ix_activities_task_links_task_id'), 'activities_task_links', ['task_id'], unique=False)
    op.create_index(op.f('ix_activities_task_links_tenant_id'), 'activities_task_links', ['tenant_id'], unique=False)
    op.create_table('activities_time_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('minutes', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('party_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.Integer(), nullable=True),
    sa.Column('record', sa.String(length=120), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('owner_user_id', sa.Integer(), nullable=True),
    sa.Column('owner_team_id', sa.Integer(), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('tenant_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('minutes > 0', name=op.f('ck_activities_time_entries_positive_minutes')),
    sa.ForeignKeyConstraint(['department_id'], ['core_departments.id'], name=op.f('fk_activities_time_entries_department_id_core_departments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_team_id'], ['core_teams.id'], name=op.f('fk_activities_time_entries_owner_team_id_core_teams'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_user_id'], ['core_users.id'], name=op.f('fk_activities_time_entries_owner_user_id_core_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['party_id'], ['core_parties.id'], name=op.f('fk_activities_time_entries_party_id_core_parties'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['task_id'], ['activities_tasks.id'], name=op.f('fk_activities_time_entries_task_id_activities_tasks'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['tenant_id'], ['core_tenants.id'], name=op.f('fk_activities_time_entries_tenant_id_core_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activities_time_entries'))
    )
    op.create_index(op.f('ix_activities_time_entries_department_id'), 'activities_time_entries', ['department_id'], unique=False)
    op.create_index(op.f('ix_activities_time_entries_owner_team_id'), 'activities_time_entries', ['owner_team_id'], unique=False)
    op.create_index(op.f('ix_activities_time_entries_owner_user_id'), 'activities_time_entries', ['owner_user_id'], unique=False)
    op.create_index(op.f('ix_activities_time_entries_party_id'), 'activities_time_entries', ['party_id'], unique=False)
    op.create_index(op.f('ix_activities_time_entries_task_id'), 'activities_time_entries', ['task_id'], unique=False)
    op.create_index(op.f('ix_activities_time_entries_tenant_id'), 'activities_time_entries', ['tenant_id'], unique=False)
    op.create_index('ix_activities_time_entries_tenant_id_day', 'activities_time_entries', ['tenant_id', 'day'], unique=False)

def downgrade():
    for table in TABLES:
        op.drop_table(table)
