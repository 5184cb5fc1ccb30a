"""process names in every language: `process_versions.names` holds the names a diagram gives its
process (`{"en": ..., "zh": ...}`: the process's `name` and its `name@zh` property), so lists
and pages name a process in the reader's language instead of showing its id

Revision ID: 0010_process_names
Revises: 0009_posting_rules
Create Date: 2026-12-03 11:30:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0010_process_names'
down_revision = '0009_posting_rules'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('process_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('names', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                                      nullable=False, server_default='{}'))


def downgrade():
    with op.batch_alter_table('process_versions', schema=None) as batch_op:
        batch_op.drop_column('names')
