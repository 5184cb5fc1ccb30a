"""external tasks (issue 17): service tasks Camunda 7's external task workers do

`external_tasks` holds each service task an external worker does while its instance waits for one (the topic
it is fetched by; the worker holding it and until when; a failed try's message, retries left and retry timeout;
the worker's answer until the step that takes it), written by the step that parks the task
(`workflow/external_tasks.py`) and by the workers' requests (`/engine-rest/external-task`).

Revision ID: 0030_external_tasks
Revises: 0029_instance_start_keys
Create Date: 2026-12-07 01:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0030_external_tasks'
down_revision = '0029_instance_start_keys'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'external_tasks',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('engine_task_id', sa.String(length=36), nullable=False),
        sa.Column('element_id', sa.String(length=255), nullable=False),
        sa.Column('topic', sa.String(length=255), nullable=False),
        sa.Column('worker_id', sa.String(length=255), nullable=True),
        sa.Column('lock_expires_at', sa.DateTime(), nullable=True),
        sa.Column('retries', sa.Integer(), nullable=True),
        sa.Column('available_at', sa.DateTime(), nullable=True),
        sa.Column('error_message', sa.Text(), nullable=True),
        sa.Column('error_details', sa.Text(), nullable=True),
        sa.Column('answer', sa.String(length=16), nullable=True),
        sa.Column('result', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'],
                                name=op.f('fk_external_tasks_instance_id_process_instances'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_external_tasks')),
        sa.UniqueConstraint('instance_id', 'engine_task_id', name='uq_external_tasks_task'),
    )
    op.create_index('ix_external_tasks_topic', 'external_tasks', ['topic', 'id'])


def downgrade():
    op.drop_index('ix_external_tasks_topic', table_name='external_tasks')
    op.drop_table('external_tasks')
