"""task candidates (issue 17): a user task offered to the users it names

`task_candidates` holds, for a task a diagram offers to several users by name (Camunda's
`camunda:candidateUsers="anna, ben"`), each user it is offered to; the task's lane is then
`candidate_users`, which no role holds, so the inbox offers it to those users only.

Revision ID: 0028_task_candidates
Revises: 0027_timer_start_crons
Create Date: 2026-12-06 00:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0028_task_candidates'
down_revision = '0027_timer_start_crons'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'task_candidates',
        sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['task_id'], ['human_tasks.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('task_id', 'user_id'),
    )
    op.create_index('ix_task_candidates_user', 'task_candidates', ['user_id', 'task_id'])


def downgrade():
    op.drop_index('ix_task_candidates_user', table_name='task_candidates')
    op.drop_table('task_candidates')
