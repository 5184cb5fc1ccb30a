"""messages between instances (issue 17): a message a process throws goes through the outbox

`outbox.sender_instance_id` names the instance whose process threw the message (a process the message
starts takes that instance's parties); `outbox.name` widens to 255, the length of a BPMN message name
the message inbox already takes.

Revision ID: 0024_instance_messages
Revises: 0023_data_store_values
Create Date: 2026-12-05 00:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0024_instance_messages'
down_revision = '0023_data_store_values'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('name', existing_type=sa.String(length=64), type_=sa.String(length=255),
                              existing_nullable=False)
        batch_op.add_column(sa.Column('sender_instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                                      nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_outbox_sender_instance_id_process_instances'),
                                    'process_instances', ['sender_instance_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_sender_instance_id_process_instances'), type_='foreignkey')
        batch_op.drop_column('sender_instance_id')
        batch_op.alter_column('name', existing_type=sa.String(length=255), type_=sa.String(length=64),
                              existing_nullable=False)
