"""inbox indexes: instances by their starter

The inbox's group view and counts offer a task without a lane to whoever started its instance
(`access.task_offered`), and `access.instance_visible` shows a user the instances they started:
both look instances up by `started_by_id`. Without an index that is a sequential scan of
`process_instances` on every inbox page (80–110 ms at 700,000 instances; bench/inbox.py).

Revision ID: 0004_inbox_indexes
Revises: 0003_identity
Create Date: 2026-11-28 20:10:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0004_inbox_indexes'
down_revision = '0003_identity'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.create_index('ix_process_instances_started_by', ['started_by_id'], unique=False)


def downgrade():
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.drop_index('ix_process_instances_started_by')
