"""post-loan (issue 15): an outbox message may start a process (post_loan when a loan is booked,
collections when it falls overdue); an online repayment order carries its prepayment mode; the
deal's documents the platform issues after disbursement (settlement certificate, demand letter,
appraisal report)

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
    with op.batch_alter_table('application_documents') as batch:
        batch.drop_constraint(batch.f('ck_application_documents_kind'), type_='check')
        batch.create_check_constraint('kind', "kind IN ('order', 'invoice', 'warehouse_receipt', 'business_licence', 'financial_statements', 'id_card', 'other', 'contract', 'signed_contract', 'registration_certificate', 'settlement_certificate', 'demand_letter', 'appraisal_report')")


def downgrade():
    with op.batch_alter_table('application_documents') as batch:
        batch.drop_constraint(batch.f('ck_application_documents_kind'), type_='check')
        batch.create_check_constraint('kind', "kind IN ('order', 'invoice', 'warehouse_receipt', 'business_licence', 'financial_statements', 'id_card', 'other', 'contract', 'signed_contract', 'registration_certificate')")
    with op.batch_alter_table('repayment_orders') as batch:
        batch.drop_column('prepayment')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('start_process')
