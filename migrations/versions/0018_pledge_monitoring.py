"""pledge monitoring and disposal (issue 15): a pledge's status and released quantity, its
movements (top-ups, releases, disposal), its margin calls and its disposals; a payment may come
from a disposal (channel `disposal`)

Revision ID: 0018_pledge_monitoring
Revises: 0017_post_loan
Create Date: 2026-12-03 19:10:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0018_pledge_monitoring'
down_revision = '0017_post_loan'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
MONEY = sa.Numeric(precision=18, scale=2)
QUANTITY = sa.Numeric(precision=18, scale=4)
RATIO = sa.Numeric(precision=28, scale=4)


def upgrade():
    with op.batch_alter_table('pledges') as batch:
        batch.add_column(sa.Column('status', sa.String(length=16), server_default='active', nullable=False))
        batch.add_column(sa.Column('released', QUANTITY, server_default='0', nullable=False))
        batch.create_check_constraint('status', "status IN ('active', 'disposing', 'disposed')")
    with op.batch_alter_table('payments') as batch:
        batch.drop_constraint(batch.f('ck_payments_channel'), type_='check')
        batch.create_check_constraint('channel', "channel IN ('online', 'offline', 'auto_debit', 'disposal')")
    op.create_table('pledge_movements',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('pledge_id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('quantity', QUANTITY, nullable=False),
    sa.Column('quantity_after', QUANTITY, nullable=False),
    sa.Column('principal_repaid', MONEY, nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("kind IN ('top_up', 'release', 'disposed')", name=op.f('ck_pledge_movements_kind')),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_pledge_movements_by_id_users')),
    sa.ForeignKeyConstraint(['pledge_id'], ['pledges.id'], name=op.f('fk_pledge_movements_pledge_id_pledges'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pledge_movements'))
    )
    with op.batch_alter_table('pledge_movements') as batch:
        batch.create_index('ix_pledge_movements_pledge', ['pledge_id', 'id'], unique=False)
    op.create_table('margin_calls',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('pledge_id', BIG_ID, nullable=False),
    sa.Column('loan_id', BIG_ID, nullable=False),
    sa.Column('event_id', BIG_ID, nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('ltv', RATIO, nullable=False),
    sa.Column('deadline', sa.DateTime(), nullable=True),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_ltv', RATIO, nullable=True),
    sa.CheckConstraint("kind IN ('margin_call', 'liquidation')", name=op.f('ck_margin_calls_kind')),
    sa.CheckConstraint("status IN ('open', 'answered', 'disposal')", name=op.f('ck_margin_calls_status')),
    sa.ForeignKeyConstraint(['event_id'], ['pledge_events.id'], name=op.f('fk_margin_calls_event_id_pledge_events')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_margin_calls_loan_id_loans')),
    sa.ForeignKeyConstraint(['pledge_id'], ['pledges.id'], name=op.f('fk_margin_calls_pledge_id_pledges'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_margin_calls'))
    )
    with op.batch_alter_table('margin_calls') as batch:
        batch.create_index('ix_margin_calls_pledge', ['pledge_id', 'id'], unique=False)
    op.create_table('disposals',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('loan_id', BIG_ID, nullable=False),
    sa.Column('pledge_id', BIG_ID, nullable=True),
    sa.Column('reason', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('appraised_value', MONEY, nullable=True),
    sa.Column('report_document_id', BIG_ID, nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=True),
    sa.Column('disposer', sa.String(length=200), nullable=True),
    sa.Column('buyer', sa.String(length=200), nullable=True),
    sa.Column('price', MONEY, nullable=True),
    sa.Column('costs', MONEY, nullable=True),
    sa.Column('sold_on', sa.Date(), nullable=True),
    sa.Column('payment_id', BIG_ID, nullable=True),
    sa.Column('shortfall', MONEY, nullable=True),
    sa.Column('written_off', MONEY, nullable=True),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('surplus', MONEY, nullable=True),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("channel IN ('platform_sale', 'third_party', 'auction')", name=op.f('ck_disposals_channel')),
    sa.CheckConstraint("status IN ('appraisal', 'sale', 'allocated', 'write_off', 'closed')",
                       name=op.f('ck_disposals_status')),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_disposals_approved_by_id_users')),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_disposals_loan_id_loans')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_disposals_payment_id_payments')),
    sa.ForeignKeyConstraint(['pledge_id'], ['pledges.id'], name=op.f('fk_disposals_pledge_id_pledges')),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'], name=op.f('fk_disposals_proposed_by_id_users')),
    sa.ForeignKeyConstraint(['report_document_id'], ['application_documents.id'],
                            name=op.f('fk_disposals_report_document_id_application_documents')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disposals'))
    )
    with op.batch_alter_table('disposals') as batch:
        batch.create_index('ix_disposals_loan', ['loan_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('disposals') as batch:
        batch.drop_index('ix_disposals_loan')
    op.drop_table('disposals')
    with op.batch_alter_table('margin_calls') as batch:
        batch.drop_index('ix_margin_calls_pledge')
    op.drop_table('margin_calls')
    with op.batch_alter_table('pledge_movements') as batch:
        batch.drop_index('ix_pledge_movements_pledge')
    op.drop_table('pledge_movements')
    with op.batch_alter_table('payments') as batch:
        batch.drop_constraint(batch.f('ck_payments_channel'), type_='check')
        batch.create_check_constraint('channel', "channel IN ('online', 'offline', 'auto_debit')")
    with op.batch_alter_table('pledges') as batch:
        batch.drop_constraint(batch.f('ck_pledges_status'), type_='check')
        batch.drop_column('released')
        batch.drop_column('status')
