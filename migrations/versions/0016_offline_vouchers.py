"""offline repayment vouchers (issue 15): the voucher file kept with its payment, the transfer's
reference, and the reason finance gave when rejecting it

Revision ID: 0016_offline_vouchers
Revises: 0015_collateral_prices
Create Date: 2026-12-03 17:40:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0016_offline_vouchers'
down_revision = '0015_collateral_prices'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payments') as batch:
        batch.add_column(sa.Column('reference', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('reject_reason', sa.Text(), nullable=True))
        batch.add_column(sa.Column('voucher_filename', sa.String(length=255), nullable=True))
        batch.add_column(sa.Column('voucher_content_type', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('voucher_sha256', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('voucher', sa.LargeBinary(), nullable=True))


def downgrade():
    with op.batch_alter_table('payments') as batch:
        for name in ('voucher', 'voucher_sha256', 'voucher_content_type', 'voucher_filename', 'reject_reason',
                     'reference'):
            batch.drop_column(name)
