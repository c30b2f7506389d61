"""growth: tier promotion suggestions

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-22 09:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('promotion_suggestions',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('from_tier', sa.Enum('junior', 'mid', 'senior', name='promotion_from_tier', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('to_tier', sa.Enum('junior', 'mid', 'senior', name='promotion_to_tier', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('measures', sa.JSON(), nullable=False),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decision', sa.Enum('approved', 'declined', name='promotion_decision', native_enum=False, create_constraint=True, length=16), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_promotion_suggestions_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_promotion_suggestions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotion_suggestions'))
    )
    with op.batch_alter_table('promotion_suggestions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_promotion_suggestions_user_id'), ['user_id'], unique=False)
        batch_op.create_index(
            'uq_promotion_suggestions_open',
            ['user_id', 'to_tier'],
            unique=True,
            sqlite_where=sa.text('decided_at IS NULL'),
            postgresql_where=sa.text('decided_at IS NULL'),
        )


def downgrade() -> None:
    with op.batch_alter_table('promotion_suggestions', schema=None) as batch_op:
        batch_op.drop_index('uq_promotion_suggestions_open')
        batch_op.drop_index(batch_op.f('ix_promotion_suggestions_user_id'))

    op.drop_table('promotion_suggestions')
