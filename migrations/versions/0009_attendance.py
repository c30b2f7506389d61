"""attendance: confirmations, starts, no-shows, reliability waivers and appeals

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 06:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('attendance',
    sa.Column('seat_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reminded_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('confirmed_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('started_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('no_show_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('marked_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('waived_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('waived_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('waiver_reason', sa.String(length=200), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['marked_by_id'], ['users.id'], name=op.f('fk_attendance_marked_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['seat_id'], ['shift_seats.id'], name=op.f('fk_attendance_seat_id_shift_seats'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['waived_by_id'], ['users.id'], name=op.f('fk_attendance_waived_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attendance')),
    sa.UniqueConstraint('seat_id', name=op.f('uq_attendance_seat_id'))
    )
    op.create_table('reliability_appeals',
    sa.Column('attendance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('text', sa.String(length=1000), nullable=False),
    sa.Column('status', sa.Enum('open', 'accepted', 'rejected', name='appeal_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('decided_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['attendance_id'], ['attendance.id'], name=op.f('fk_reliability_appeals_attendance_id_attendance'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_reliability_appeals_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reliability_appeals_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reliability_appeals')),
    sa.UniqueConstraint('attendance_id', name=op.f('uq_reliability_appeals_attendance_id'))
    )
    with op.batch_alter_table('reliability_appeals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reliability_appeals_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reliability_appeals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reliability_appeals_user_id'))

    op.drop_table('reliability_appeals')
    op.drop_table('attendance')
