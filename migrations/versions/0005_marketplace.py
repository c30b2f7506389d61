"""marketplace: open-shift claims, grace windows, releases, waitlist, priority windows

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 06:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('shift_waitlist',
    sa.Column('shift_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('joined_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('offered_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('offer_expires_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], name=op.f('fk_shift_waitlist_shift_id_shifts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_shift_waitlist_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shift_waitlist')),
    sa.UniqueConstraint('shift_id', 'user_id', name=op.f('uq_shift_waitlist_shift_id_user_id'))
    )
    with op.batch_alter_table('shift_waitlist', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shift_waitlist_shift_id'), ['shift_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shift_waitlist_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bonus_minor', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('opened_at', backend.core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_shifts_created_by_id_users'), 'users', ['created_by_id'], ['id'], ondelete='SET NULL')

    # Gaps published before the marketplace existed count as opened when they were made.
    op.execute("UPDATE shifts SET opened_at = created_at WHERE origin <> 'roster'")


def downgrade() -> None:
    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_shifts_created_by_id_users'), type_='foreignkey')
        batch_op.drop_column('opened_at')
        batch_op.drop_column('created_by_id')
        batch_op.drop_column('bonus_minor')

    with op.batch_alter_table('shift_waitlist', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shift_waitlist_user_id'))
        batch_op.drop_index(batch_op.f('ix_shift_waitlist_shift_id'))

    op.drop_table('shift_waitlist')
