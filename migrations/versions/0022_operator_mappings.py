"""operator mappings (issue 17): Camunda service implementations mapped to Loanflow's operators

`operator_mappings` holds, per Camunda implementation a diagram may name (`camunda:class`,
`delegateExpression`, `expression`, an external task's `topic`: kind and value), the registered
operator its service task calls and the parameters passed to it. The deployment service reads it
when a diagram is deployed (the import layer rewrites mapped service tasks; an unmapped one is
refused by the strict check naming it). Admins edit it at /admin/operator-mappings or with
`flask processes map-operator`.

Revision ID: 0022_operator_mappings
Revises: 0021_instance_waits
Create Date: 2026-12-04 00:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0022_operator_mappings'
down_revision = '0021_instance_waits'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'operator_mappings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('value', sa.String(length=500), nullable=False),
        sa.Column('operator', sa.String(length=255), nullable=False),
        sa.Column('parameters', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'),
                  nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_operator_mappings_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_operator_mappings')),
        sa.UniqueConstraint('kind', 'value', name=op.f('uq_operator_mappings_kind')),
    )


def downgrade():
    op.drop_table('operator_mappings')
