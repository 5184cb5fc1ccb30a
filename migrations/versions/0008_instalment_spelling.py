"""instalment spelt one way: stored product settings and loan terms say `instalment_multiple` and
`equal_instalments`, as the code and the tables do

`loan_products.settings` and `loans.terms` were written with the American spelling
(`installment_multiple`, amortization `equal_installments`). The rows that hold either are
rewritten; nothing else changes. `app.lending.codec` still reads the old spelling, so data that
comes in from elsewhere in it (an export, the shared reference cases) is read alike.

Revision ID: 0008_instalment_spelling
Revises: 0007_hold_under_attack
Create Date: 2026-12-08 09:00:00

"""
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0008_instalment_spelling'
down_revision = '0007_hold_under_attack'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
COLUMNS = (('loan_products', 'settings', sa.Integer()), ('loans', 'terms', sa.BigInteger()))
OLD, NEW = ('installment_multiple', 'equal_installments'), ('instalment_multiple', 'equal_instalments')


def _respelt(data: dict[str, Any], before: tuple[str, str], after: tuple[str, str]) -> dict[str, Any]:
    (name, value), (new_name, new_value) = before, after
    respelt = {new_name if key == name else key: item for key, item in data.items()}
    if respelt.get('amortization') == value:
        respelt['amortization'] = new_value
    return respelt


def _rewrite(before: tuple[str, str], after: tuple[str, str]) -> None:
    bind = op.get_bind()
    for table_name, column_name, id_type in COLUMNS:
        table = sa.table(table_name, sa.column('id', id_type), sa.column(column_name, JSON))
        column = table.c[column_name]
        text = sa.cast(column, sa.Text)
        mentions = sa.or_(*(text.like(f'%{word}%') for word in before))
        rows = bind.execute(sa.select(table.c.id, column).where(mentions)).all()
        for row_id, data in rows:
            respelt = _respelt(data, before, after)
            if respelt != data:
                bind.execute(table.update().where(table.c.id == row_id).values({column_name: respelt}))


def upgrade():
    _rewrite(OLD, NEW)


def downgrade():
    _rewrite(NEW, OLD)
