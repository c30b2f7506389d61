"""notification values: a notification stored as its message and values, worded in the reader's language when read

Rows written before keep their stored title and body, which stay the fallback.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 20:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notifications') as batch_op:
        batch_op.add_column(sa.Column('values', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('notifications') as batch_op:
        batch_op.drop_column('values')
