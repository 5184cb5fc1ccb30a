"""tasks show their own scope: `human_tasks.shown` keeps the values a task's key data names have in
the task's own data when it becomes ready (a task inside a call activity reads its subprocess's
variables, which the instance's data does not hold)

Revision ID: 0013_task_shown
Revises: 0012_signing
Create Date: 2026-12-03 16:30:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0013_task_shown'
down_revision = '0012_signing'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('human_tasks') as batch:
        batch.add_column(sa.Column('shown', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                                   nullable=True))


def downgrade():
    with op.batch_alter_table('human_tasks') as batch:
        batch.drop_column('shown')
