"""swaps: an agent offers a shift to a named agent or to everyone eligible

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 06:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('shift_swaps',
    sa.Column('shift_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('from_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('to_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('accepted_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.Enum('offered', 'accepted', 'approved', 'declined', 'cancelled', 'expired', name='swap_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('needs_approval', sa.Boolean(), nullable=False),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], name=op.f('fk_shift_swaps_shift_id_shifts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['from_user_id'], ['users.id'], name=op.f('fk_shift_swaps_from_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_user_id'], ['users.id'], name=op.f('fk_shift_swaps_to_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['accepted_by_id'], ['users.id'], name=op.f('fk_shift_swaps_accepted_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_shift_swaps_decided_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shift_swaps'))
    )
    with op.batch_alter_table('shift_swaps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shift_swaps_shift_id'), ['shift_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shift_swaps_from_user_id'), ['from_user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shift_swaps_to_user_id'), ['to_user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('shift_swaps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shift_swaps_to_user_id'))
        batch_op.drop_index(batch_op.f('ix_shift_swaps_from_user_id'))
        batch_op.drop_index(batch_op.f('ix_shift_swaps_shift_id'))

    op.drop_table('shift_swaps')
