"""posting rules in one place: the chart of accounts as rows, each product's account per posting role

`gl_accounts` holds the chart (the ten accounts the ledger used so far, in the trial balance's
order). `product_accounts` maps each product's posting roles (fund source, loan portfolio,
receivables, income, losses written off, overpayment liability) to accounts of the chart; every
existing product gets the accounts it posted to so far. The CHECK that listed the ten accounts on
`journal_lines.account` goes, so the chart grows by inserting a row (lines are posted to the
accounts of `product_accounts`, whose foreign key keeps them in the chart).

Revision ID: 0009_posting_rules
Revises: 0008_instalment_spelling
Create Date: 2026-12-08 12:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009_posting_rules'
down_revision = '0008_instalment_spelling'
branch_labels = None
depends_on = None

CHART = (
    ('loan_principal', 'Loans receivable: principal', 'asset'),
    ('interest_receivable', 'Interest receivable', 'asset'),
    ('penalty_receivable', 'Penalties receivable', 'asset'),
    ('fee_receivable', 'Fees receivable', 'asset'),
    ('cash_clearing', 'Cash clearing', 'asset'),
    ('interest_income', 'Interest income', 'income'),
    ('penalty_income', 'Penalty income', 'income'),
    ('fee_income', 'Fee income', 'income'),
    ('borrower_credit', "Borrowers' credit (overpayments)", 'liability'),
    ('write_off_expense', 'Losses written off', 'expense'),
)
DEFAULT_ACCOUNTS = (
    ('fund_source', 'cash_clearing'), ('loan_portfolio', 'loan_principal'),
    ('interest_receivable', 'interest_receivable'), ('fee_receivable', 'fee_receivable'),
    ('penalty_receivable', 'penalty_receivable'), ('interest_income', 'interest_income'),
    ('fee_income', 'fee_income'), ('penalty_income', 'penalty_income'),
    ('losses_written_off', 'write_off_expense'), ('overpayment_liability', 'borrower_credit'),
)
KINDS = ('asset', 'liability', 'equity', 'income', 'expense')


def _one_of(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    gl_accounts = op.create_table('gl_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.CheckConstraint(_one_of('kind', KINDS), name=op.f('ck_gl_accounts_kind')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gl_accounts')),
    sa.UniqueConstraint('code', name=op.f('uq_gl_accounts_code'))
    )
    op.bulk_insert(gl_accounts, [{'id': n, 'code': code, 'name': name, 'kind': kind}
                                 for n, (code, name, kind) in enumerate(CHART, start=1)])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("SELECT setval(pg_get_serial_sequence('gl_accounts', 'id'), (SELECT MAX(id) FROM gl_accounts))")
    op.create_table('product_accounts',
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('account', sa.String(length=32), nullable=False),
    sa.CheckConstraint(_one_of('role', [role for role, _ in DEFAULT_ACCOUNTS]), name=op.f('ck_product_accounts_role')),
    sa.ForeignKeyConstraint(['account'], ['gl_accounts.code'], name=op.f('fk_product_accounts_account_gl_accounts')),
    sa.ForeignKeyConstraint(['product_id'], ['loan_products.id'], name=op.f('fk_product_accounts_product_id_loan_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('product_id', 'role', name=op.f('pk_product_accounts'))
    )
    defaults = ' UNION ALL '.join(f"SELECT '{role}' AS role, '{account}' AS account"
                                  for role, account in DEFAULT_ACCOUNTS)
    op.execute("INSERT INTO product_accounts (product_id, role, account)"
               f" SELECT p.id, d.role, d.account FROM loan_products p CROSS JOIN ({defaults}) d")
    with op.batch_alter_table('journal_lines', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_journal_lines_account'), type_='check')


def downgrade():
    with op.batch_alter_table('journal_lines', schema=None) as batch_op:
        batch_op.create_check_constraint('account', _one_of('account', [code for code, _, _ in CHART]))
    op.drop_table('product_accounts')
    op.drop_table('gl_accounts')
