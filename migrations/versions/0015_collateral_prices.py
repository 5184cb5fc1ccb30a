"""pledge monitoring, prices and LTV (issue 15): `commodity_prices`, `pledges` of active
pledge-financing deals, their `pledge_valuations` (the LTV history) and `pledge_events` (zone
crossings: warning, margin call, liquidation)

Revision ID: 0015_collateral_prices
Revises: 0014_repayment_orders
Create Date: 2026-12-03 17:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0015_collateral_prices'
down_revision = '0014_repayment_orders'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
MONEY = sa.Numeric(precision=18, scale=2)
QUANTITY = sa.Numeric(precision=18, scale=4)
RATIO = sa.Numeric(precision=28, scale=4)
VALUE = sa.Numeric(precision=32, scale=2)
ZONES = "('normal', 'warning', 'margin_call', 'liquidation')"


def upgrade():
    op.create_table('commodity_prices',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('goods', sa.String(length=200), nullable=False),
    sa.Column('goods_key', sa.String(length=200), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('unit_key', sa.String(length=20), nullable=False),
    sa.Column('price', MONEY, nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_commodity_prices_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commodity_prices'))
    )
    with op.batch_alter_table('commodity_prices', schema=None) as batch_op:
        batch_op.create_index('ix_commodity_prices_goods', ['goods_key', 'unit_key', 'as_of', 'id'], unique=False)
    op.create_table('pledges',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('application_id', BIG_ID, nullable=False),
    sa.Column('loan_id', BIG_ID, nullable=False),
    sa.Column('goods', sa.String(length=200), nullable=False),
    sa.Column('goods_key', sa.String(length=200), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('unit_key', sa.String(length=20), nullable=False),
    sa.Column('quantity', QUANTITY, nullable=False),
    sa.Column('principal', MONEY, nullable=True),
    sa.Column('price_id', BIG_ID, nullable=True),
    sa.Column('value', VALUE, nullable=True),
    sa.Column('ltv', RATIO, nullable=True),
    sa.Column('zone', sa.String(length=16), nullable=True),
    sa.Column('valued_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.CheckConstraint(f"zone IN {ZONES}", name=op.f('ck_pledges_zone')),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], name=op.f('fk_pledges_application_id_applications')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_pledges_loan_id_loans')),
    sa.ForeignKeyConstraint(['price_id'], ['commodity_prices.id'], name=op.f('fk_pledges_price_id_commodity_prices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pledges')),
    sa.UniqueConstraint('application_id', name=op.f('uq_pledges_application_id'))
    )
    with op.batch_alter_table('pledges', schema=None) as batch_op:
        batch_op.create_index('ix_pledges_goods', ['goods_key', 'unit_key'], unique=False)
    op.create_table('pledge_valuations',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('pledge_id', BIG_ID, nullable=False),
    sa.Column('price_id', BIG_ID, nullable=False),
    sa.Column('price', MONEY, nullable=False),
    sa.Column('quantity', QUANTITY, nullable=False),
    sa.Column('principal', MONEY, nullable=False),
    sa.Column('value', VALUE, nullable=False),
    sa.Column('ltv', RATIO, nullable=False),
    sa.Column('zone', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.CheckConstraint(f"zone IN {ZONES}", name=op.f('ck_pledge_valuations_zone')),
    sa.ForeignKeyConstraint(['pledge_id'], ['pledges.id'], name=op.f('fk_pledge_valuations_pledge_id_pledges'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['price_id'], ['commodity_prices.id'],
                            name=op.f('fk_pledge_valuations_price_id_commodity_prices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pledge_valuations'))
    )
    with op.batch_alter_table('pledge_valuations', schema=None) as batch_op:
        batch_op.create_index('ix_pledge_valuations_pledge', ['pledge_id', 'id'], unique=False)
    op.create_table('pledge_events',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('pledge_id', BIG_ID, nullable=False),
    sa.Column('valuation_id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ltv', RATIO, nullable=False),
    sa.Column('message', sa.String(length=64), nullable=True),
    sa.Column('signalled_at', sa.DateTime(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('warning', 'margin_call', 'liquidation')", name=op.f('ck_pledge_events_kind')),
    sa.ForeignKeyConstraint(['pledge_id'], ['pledges.id'], name=op.f('fk_pledge_events_pledge_id_pledges'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['valuation_id'], ['pledge_valuations.id'],
                            name=op.f('fk_pledge_events_valuation_id_pledge_valuations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pledge_events'))
    )
    with op.batch_alter_table('pledge_events', schema=None) as batch_op:
        batch_op.create_index('ix_pledge_events_pledge', ['pledge_id', 'id'], unique=False)


def downgrade():
    op.drop_table('pledge_events')
    op.drop_table('pledge_valuations')
    op.drop_table('pledges')
    op.drop_table('commodity_prices')
