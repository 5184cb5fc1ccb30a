"""inbox at scale: tasks carry their process version; indexes that serve the inbox branch by branch

The inbox reads its group view one branch at a time (`access.offered_branches`): one lane of an
organisation, one lane anywhere (the platform's lanes; the platform admin's view lane by lane),
tasks without a lane. Each branch now has an index that hands its tasks out in due-date order
(`… due_at, id`; a partial one for ready tasks without a lane, since `lane IS NULL` does not order
an index scan), so a page stops after its rows and a capped count after 1,001; on PostgreSQL the
indexes INCLUDE what the filters and sorts read, so a branch is counted and filtered without
reading the table. The process filter reads `human_tasks.process_version_id` (copied from the
instance when a step writes the task: an instance never changes version) instead of probing each
task's instance. The party filter reads a party's instances from `ix_instance_parties_org_party`
(or probes `ix_instance_parties_instance_org`), and the search's business-key part uses a trigram
index where PostgreSQL has pg_trgm (bench/inbox.py and bench/README.md have the figures).

Revision ID: 0006_inbox_scale
Revises: 0005_ledger
Create Date: 2026-11-29 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006_inbox_scale'
down_revision = '0005_ledger'
branch_labels = None
depends_on = None

INBOX_COLUMNS = ['instance_id', 'process_version_id', 'element_id', 'title', 'priority', 'created_at']
READY_UNLANED = sa.text("state = 'ready' AND lane IS NULL")


def upgrade():
    bind = op.get_bind()
    postgresql = bind.dialect.name == 'postgresql'
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('process_version_id', sa.Integer(), nullable=True))
    if postgresql:
        op.execute("UPDATE human_tasks t SET process_version_id = i.process_version_id "
                   "FROM process_instances i WHERE i.id = t.instance_id")
    else:
        op.execute("UPDATE human_tasks SET process_version_id = (SELECT process_version_id FROM process_instances "
                   "WHERE process_instances.id = human_tasks.instance_id)")
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.alter_column('process_version_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_human_tasks_process_version_id_process_versions'),
                                    'process_versions', ['process_version_id'], ['id'])
        batch_op.drop_index('ix_human_tasks_inbox')
        batch_op.drop_index('ix_human_tasks_state_lane')
        batch_op.create_index('ix_human_tasks_inbox', ['org_id', 'lane', 'state', 'due_at', 'id'],
                              postgresql_include=INBOX_COLUMNS)
        batch_op.create_index('ix_human_tasks_state_lane', ['state', 'lane', 'due_at', 'id'],
                              postgresql_include=INBOX_COLUMNS)
        batch_op.create_index('ix_human_tasks_ready_unlaned', ['due_at', 'id'], postgresql_include=INBOX_COLUMNS,
                              postgresql_where=READY_UNLANED, sqlite_where=READY_UNLANED)
    with op.batch_alter_table('instance_parties', schema=None) as batch_op:
        batch_op.drop_index('ix_instance_parties_org_party')
        batch_op.create_index('ix_instance_parties_org_party', ['org_id', 'party', 'instance_id'])
        batch_op.create_index('ix_instance_parties_instance_org', ['instance_id', 'org_id'])
    if postgresql and _trigrams_available(bind):
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_process_instances_business_key_trgm ON process_instances "
                   "USING gin (business_key gin_trgm_ops)")


def _trigrams_available(bind) -> bool:
    """pg_trgm ships with PostgreSQL's contrib package; without it the search scans instead."""
    return bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first() is not None


def downgrade():
    op.execute("DROP INDEX IF EXISTS ix_process_instances_business_key_trgm")
    with op.batch_alter_table('instance_parties', schema=None) as batch_op:
        batch_op.drop_index('ix_instance_parties_instance_org')
        batch_op.drop_index('ix_instance_parties_org_party')
        batch_op.create_index('ix_instance_parties_org_party', ['org_id', 'party'])
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_human_tasks_ready_unlaned')
        batch_op.drop_index('ix_human_tasks_state_lane')
        batch_op.drop_index('ix_human_tasks_inbox')
        batch_op.create_index('ix_human_tasks_state_lane', ['state', 'lane'])
        batch_op.create_index('ix_human_tasks_inbox', ['org_id', 'lane', 'state', 'due_at'])
        batch_op.drop_constraint(batch_op.f('fk_human_tasks_process_version_id_process_versions'),
                                 type_='foreignkey')
        batch_op.drop_column('process_version_id')
