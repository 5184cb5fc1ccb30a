"""timer start events start instances (issue 17): when each of a process's timer start events next starts one

`timer_starts` holds, for the newest version of each process, when each of its timer start events next
starts an instance (Camunda 7's timer start jobs), how many starts are left and the time between two;
written at deploy, advanced by the worker in the transaction of the instance it starts.

Revision ID: 0025_timer_starts
Revises: 0024_instance_messages
Create Date: 2026-12-06 00:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0025_timer_starts'
down_revision = '0024_instance_messages'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'timer_starts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('process_id', sa.String(length=255), nullable=False),
        sa.Column('process_version_id', sa.Integer(), nullable=False),
        sa.Column('element_id', sa.String(length=255), nullable=False),
        sa.Column('next_at', sa.DateTime(), nullable=True),
        sa.Column('remaining', sa.Integer(), nullable=False),
        sa.Column('interval_seconds', sa.Float(), nullable=True),
        sa.Column('started', sa.Integer(), nullable=False),
        sa.Column('last_started_at', sa.DateTime(), nullable=True),
        sa.Column('last_instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
        sa.Column('last_error', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['process_version_id'], ['process_versions.id'],
                                name=op.f('fk_timer_starts_process_version_id_process_versions')),
        sa.ForeignKeyConstraint(['last_instance_id'], ['process_instances.id'],
                                name=op.f('fk_timer_starts_last_instance_id_process_instances'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_timer_starts')),
        sa.UniqueConstraint('process_id', 'element_id', name=op.f('uq_timer_starts_process_id')),
    )
    with op.batch_alter_table('timer_starts', schema=None) as batch_op:
        batch_op.create_index('ix_timer_starts_next_at', ['next_at'])


def downgrade():
    op.drop_table('timer_starts')
