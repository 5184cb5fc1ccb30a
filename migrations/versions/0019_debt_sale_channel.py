"""collections (issue 15): a payment may be the price a collection agency paid for the debt
(channel `debt_sale`)

Revision ID: 0019_debt_sale_channel
Revises: 0018_pledge_monitoring
Create Date: 2026-12-03 19:20:00

"""
from alembic import op

revision = '0019_debt_sale_channel'
down_revision = '0018_pledge_monitoring'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payments') as batch:
        batch.drop_constraint(batch.f('ck_payments_channel'), type_='check')
        batch.create_check_constraint('channel',
                                      "channel IN ('online', 'offline', 'auto_debit', 'disposal', 'debt_sale')")


def downgrade():
    with op.batch_alter_table('payments') as batch:
        batch.drop_constraint(batch.f('ck_payments_channel'), type_='check')
        batch.create_check_constraint('channel', "channel IN ('online', 'offline', 'auto_debit', 'disposal')")
