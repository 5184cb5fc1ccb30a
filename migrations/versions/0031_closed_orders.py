"""closed payment orders: a borrower's collection order never paid is closed at the gateway when they place
another for the same loan (an abandoned order stayed payable: paying it later paid twice); the simulator's
orders and the platform's repayment orders may be `closed`

Revision ID: 0031_closed_orders
Revises: 0030_external_tasks
Create Date: 2026-12-07 07:30:00

"""
from alembic import op

revision = '0031_closed_orders'
down_revision = '0030_external_tasks'
branch_labels = None
depends_on = None

BEFORE = "status IN ('pending', 'succeeded', 'failed')"
AFTER = "status IN ('pending', 'succeeded', 'failed', 'closed')"


def _status_check(table: str, check: str) -> None:
    with op.batch_alter_table(table) as batch:
        batch.drop_constraint(batch.f(f'ck_{table}_status'), type_='check')
        batch.create_check_constraint('status', check)


def upgrade():
    for table in ('payment_orders', 'repayment_orders'):
        _status_check(table, AFTER)


def downgrade():
    for table in ('payment_orders', 'repayment_orders'):
        op.execute(f"UPDATE {table} SET status = 'failed' WHERE status = 'closed'")
        _status_check(table, BEFORE)
