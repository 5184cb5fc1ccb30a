"""data store values (issue 17): the values of BPMN data stores, shared by the instances that name them

`data_store_values` holds, per data store key (the store's name in the diagram, its id when it has
none), its JSON value and a version that moves with every write: a step writes only over the version
it read (compare-and-set), in the step's own transaction.

Revision ID: 0023_data_store_values
Revises: 0022_operator_mappings
Create Date: 2026-12-04 00:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0023_data_store_values'
down_revision = '0022_operator_mappings'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'data_store_values',
        sa.Column('key', sa.String(length=255), nullable=False),
        sa.Column('value', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                  nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by_instance_id', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_data_store_values')),
    )


def downgrade():
    op.drop_table('data_store_values')
