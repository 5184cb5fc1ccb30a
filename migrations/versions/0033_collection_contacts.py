"""collection contacts: the contacts an agent logs on a collections case, any number of times (who, when, channel,
outcome, promise); after a contact task's "keep collecting" the agent could log nothing until the case woke again

Revision ID: 0033_collection_contacts
Revises: 0032_repayment_failure_codes
Create Date: 2026-12-07 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0033_collection_contacts'
down_revision = '0032_repayment_failure_codes'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
MONEY = sa.Numeric(precision=18, scale=2)


def upgrade():
    op.create_table('collection_contacts',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('instance_id', BIG_ID, nullable=False),
    sa.Column('loan_id', BIG_ID, nullable=True),
    sa.Column('contacted_at', sa.DateTime(), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('promise_date', sa.Date(), nullable=True),
    sa.Column('promise_amount', MONEY, nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'],
                            name=op.f('fk_collection_contacts_instance_id_process_instances'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], name=op.f('fk_collection_contacts_loan_id_loans')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_collection_contacts_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collection_contacts'))
    )
    with op.batch_alter_table('collection_contacts') as batch:
        batch.create_index('ix_collection_contacts_instance', ['instance_id', 'contacted_at'], unique=False)


def downgrade():
    with op.batch_alter_table('collection_contacts') as batch:
        batch.drop_index('ix_collection_contacts_instance')
    op.drop_table('collection_contacts')
