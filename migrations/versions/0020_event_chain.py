"""tamper-evident history (issue 16): every instance event carries the SHA-256 of its content chained
to the instance's previous event (`instance_events.hash`, `prev_hash`), and the instance keeps its
chain's head (`process_instances.last_event_hash`). Events written before this revision keep NULL
hashes: an instance's chain starts at its first event written after it.

Revision ID: 0020_event_chain
Revises: 0019_debt_sale_channel
Create Date: 2026-12-03 20:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0020_event_chain'
down_revision = '0019_debt_sale_channel'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('instance_events') as batch:
        batch.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
    with op.batch_alter_table('process_instances') as batch:
        batch.add_column(sa.Column('last_event_hash', sa.String(length=64), nullable=True))


def downgrade():
    with op.batch_alter_table('process_instances') as batch:
        batch.drop_column('last_event_hash')
    with op.batch_alter_table('instance_events') as batch:
        batch.drop_column('prev_hash')
        batch.drop_column('hash')
