"""login budgets: sign-in tries reserved per account, per known device and per client before the password check

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-25 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('login_budgets',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('window_started_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_budgets')),
    sa.UniqueConstraint('key', name=op.f('uq_login_budgets_key'))
    )


def downgrade() -> None:
    op.drop_table('login_budgets')
