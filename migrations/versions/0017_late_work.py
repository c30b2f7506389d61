"""pay periods remember the newest work record their lock saw (late work is paid in the next open period)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-24 10:00:00

Periods locked before this revision are given the site's newest record as it is now: the records stored so far
count as settled where they were, so no statement or open period changes on upgrade. (Records that arrived
after their period's lock before this revision were never paid; finance corrects those by adjustments.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('pay_periods', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('records_through_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True)
        )
    op.execute(
        "UPDATE pay_periods SET records_through_id = COALESCE("
        "(SELECT MAX(work_records.id) FROM work_records WHERE work_records.site_id = pay_periods.site_id), 0) "
        "WHERE status <> 'open'"
    )


def downgrade() -> None:
    with op.batch_alter_table('pay_periods', schema=None) as batch_op:
        batch_op.drop_column('records_through_id')
