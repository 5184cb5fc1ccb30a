"""timer start crons (issue 17): a timer start event on a Quartz cron of uneven gaps

`timer_starts.cron` holds the cron of a timer start event whose firings are not a fixed period
(midnight and noon, working days, the last day of the month): each start is the next moment its
fields match (`app/engine/cron_schedule.py`); `interval_seconds` is then null. Rows of fixed periods
are unchanged.

Revision ID: 0027_timer_start_crons
Revises: 0026_group_mappings
Create Date: 2026-12-06 00:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0027_timer_start_crons'
down_revision = '0026_group_mappings'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('timer_starts') as batch:
        batch.add_column(sa.Column('cron', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('timer_starts') as batch:
        batch.drop_column('cron')
