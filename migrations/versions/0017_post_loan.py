"""post-loan (issue 15): an outbox message may start a process (post_loan when a loan is booked,
collections when it falls overdue); an online repayment order carries its prepayment mode

Revision ID: 0017_post_loan
Revises: 0016_offline_vouchers
Create Date: 2026-12-03 19:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0017_post_loan'
down_revision = '0016_offline_vouchers'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('start_process', sa.String(length=64), nullable=True))
    with op.batch_alter_table('repayment_orders') as batch:
        batch.add_column(sa.Column('prepayment', sa.String(length=32), nullable=False,
                                   server_default='shorten_term'))


def downgrade():
    with op.batch_alter_table('repayment_orders') as batch:
        batch.drop_column('prepayment')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('start_process')
