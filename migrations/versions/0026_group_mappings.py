"""group mappings (issue 17): Camunda groups mapped to Loanflow's roles

`group_mappings` holds, per group a diagram offers user tasks to (`camunda:candidateGroups`), the
role those tasks are offered to here. The deployment service reads it when a diagram is deployed
(the import layer writes the mapped role as the task's lane; a group that is no role and is not
mapped is refused naming the task). Admins edit it at /admin/group-mappings or with
`flask processes map-group`.

Revision ID: 0026_group_mappings
Revises: 0025_timer_starts
Create Date: 2026-12-06 00:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0026_group_mappings'
down_revision = '0025_timer_starts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'group_mappings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('group_name', sa.String(length=255), nullable=False),
        sa.Column('role', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                                name=op.f('fk_group_mappings_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_group_mappings')),
        sa.UniqueConstraint('group_name', name=op.f('uq_group_mappings_group_name')),
    )


def downgrade():
    op.drop_table('group_mappings')
