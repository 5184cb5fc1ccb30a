"""start keys (issue 17): one start of a form sent twice

`process_instances.start_key` holds the key a start came with (the start page's form carries one, the API's
`idempotency_key`); the same user's same key again answers the instance it started first, however many
requests race (`ux_process_instances_start_key`, unique per starting user: a key without a user is none).

Revision ID: 0029_instance_start_keys
Revises: 0028_task_candidates
Create Date: 2026-12-07 00:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0029_instance_start_keys'
down_revision = '0028_task_candidates'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('start_key', sa.String(length=100), nullable=True))
        batch_op.create_index('ux_process_instances_start_key', ['started_by_id', 'start_key'], unique=True)


def downgrade():
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.drop_index('ux_process_instances_start_key')
        batch_op.drop_column('start_key')
