"""repayment failure codes: why a repayment order failed, as the gateway's code

`repayment_orders.failure_code` keeps the cause the payment gateway names for a failed order (one of
`handlers.payments.FAILURE_CODES`: insufficient_funds, account_frozen, ...), which the platform says in its
reader's language; `failure_reason` keeps the gateway's own words, shown when it names no cause.

Revision ID: 0032_repayment_failure_codes
Revises: 0031_closed_orders
Create Date: 2026-12-08 01:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0032_repayment_failure_codes'
down_revision = '0031_closed_orders'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('repayment_orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failure_code', sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table('repayment_orders', schema=None) as batch_op:
        batch_op.drop_column('failure_code')
