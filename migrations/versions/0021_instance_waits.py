"""instance search (issue 16): where each instance waits, and indexes for the search's filters

`instance_waits` holds the elements where an instance waits now (ready user tasks, timers, message
catches, receive tasks, event-based gateways and their events, failed or retrying elements), written
by each step (`workflow/step_store.py`), so `/instances` finds instances by it without loading their
workflows. Instances that were waiting before this revision get their open user tasks and their open
incidents' elements here; their timers and message catches are written at their next step.
The search's filters by version, status and start date get an index each (bench/console.py).

Revision ID: 0021_instance_waits
Revises: 0020_event_chain
Create Date: 2026-12-03 23:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0021_instance_waits'
down_revision = '0020_event_chain'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'instance_waits',
        sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('element_id', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'],
                                name=op.f('fk_instance_waits_instance_id_process_instances'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('instance_id', 'element_id', name=op.f('pk_instance_waits')),
    )
    with op.batch_alter_table('instance_waits', schema=None) as batch_op:
        batch_op.create_index('ix_instance_waits_element', ['element_id', 'instance_id'])
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.create_index('ix_process_instances_version_id', ['process_version_id', 'id'])
        batch_op.create_index('ix_process_instances_status_id', ['status', 'id'])
        batch_op.create_index('ix_process_instances_created_at', ['created_at'])
    op.execute("INSERT INTO instance_waits (instance_id, element_id) "
               "SELECT DISTINCT t.instance_id, t.element_id FROM human_tasks t "
               "JOIN process_instances i ON i.id = t.instance_id "
               "WHERE t.state IN ('ready', 'claimed') AND i.status IN ('running', 'waiting', 'error')")
    op.execute("INSERT INTO instance_waits (instance_id, element_id) "
               "SELECT DISTINCT n.instance_id, n.element_id FROM incidents n "
               "JOIN process_instances i ON i.id = n.instance_id "
               "WHERE n.resolved_at IS NULL AND n.element_id IS NOT NULL AND i.status = 'error' "
               "AND NOT EXISTS (SELECT 1 FROM instance_waits w WHERE w.instance_id = n.instance_id "
               "AND w.element_id = n.element_id)")


def downgrade():
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.drop_index('ix_process_instances_created_at')
        batch_op.drop_index('ix_process_instances_status_id')
        batch_op.drop_index('ix_process_instances_version_id')
    op.drop_table('instance_waits')
