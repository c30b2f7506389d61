"""availability

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
