"""online repayments (issue 15): `repayment_orders`, a borrower's collection order at the payment
gateway, its outcome and the payment it booked

Revision ID: 0014_repayment_orders
Revises: 0013_task_shown
Create Date: 2026-12-03 17:05:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0014_repayment_orders'
down_revision = '0013_task_shown'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('repayment_orders',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('loan_id', BIG_ID, nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('order_id', sa.String(length=40), nullable=False),
    sa.Column('amount', sa.Numeric(precision=18, scale=2), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('failure_reason', sa.Text(), nullable=True),
    sa.Column('payment_id', BIG_ID, nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('settled_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name=op.f('ck_repayment_orders_status')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_repayment_orders_loan_id_loans')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_repayment_orders_payment_id_payments')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_repayment_orders_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_repayment_orders')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_repayment_orders_idempotency_key')),
    sa.UniqueConstraint('order_id', name=op.f('uq_repayment_orders_order_id'))
    )
    with op.batch_alter_table('repayment_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_repayment_orders_loan_id'), ['loan_id'], unique=False)


def downgrade():
    with op.batch_alter_table('repayment_orders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_repayment_orders_loan_id'))
    op.drop_table('repayment_orders')
