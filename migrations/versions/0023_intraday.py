"""intraday: VTO/VOT/extension calls and offers, seat extension and VTO columns, new shift origin and pay lines

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 23:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.core.db


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


SHIFT_ORIGINS_BEFORE = ('roster', 'gap', 'manual')
SHIFT_ORIGINS = (*SHIFT_ORIGINS_BEFORE, 'vot')
LINE_KINDS_BEFORE = ('base', 'piece', 'urgent_bonus', 'quality_bonus', 'course_pass', 'adjustment', 'withholding')
LINE_KINDS = (*LINE_KINDS_BEFORE, 'standby', 'vot_bonus')


def _allow(table: str, check: str, column: str, values: tuple[str, ...]) -> None:
    """Replace an enum column's CHECK with one allowing ``values`` (batch mode rebuilds the table on SQLite)."""
    listed = ", ".join(f"'{value}'" for value in values)
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f'ck_{table}_{check}'), type_='check')
        batch_op.create_check_constraint(op.f(f'ck_{table}_{check}'), sa.text(f"{column} IN ({listed})"))


def upgrade() -> None:
    _allow('shifts', 'shift_origin', 'origin', SHIFT_ORIGINS)
    _allow('settlement_lines', 'settlement_line_kind', 'kind', LINE_KINDS)
    with op.batch_alter_table('shift_seats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extended_to_slot', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('vto_from_slot', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('standby_percent', sa.Integer(), server_default='0', nullable=False))

    op.create_table('intraday_calls',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.Enum('vto', 'vot', 'extension', name='intraday_call_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('skill_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('start_slot', sa.BigInteger(), nullable=False),
    sa.Column('end_slot', sa.BigInteger(), nullable=False),
    sa.Column('wanted', sa.Integer(), nullable=False),
    sa.Column('granted', sa.Integer(), nullable=False),
    sa.Column('standby_percent', sa.Integer(), nullable=False),
    sa.Column('bonus_minor', sa.Integer(), nullable=False),
    sa.Column('shift_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_intraday_calls_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], name=op.f('fk_intraday_calls_shift_id_shifts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_intraday_calls_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['skill_id'], ['skills.id'], name=op.f('fk_intraday_calls_skill_id_skills'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intraday_calls'))
    )
    with op.batch_alter_table('intraday_calls', schema=None) as batch_op:
        batch_op.create_index('ix_intraday_calls_site_id_start_slot', ['site_id', 'start_slot'], unique=False)

    op.create_table('intraday_offers',
    sa.Column('call_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seat_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('from_slot', sa.BigInteger(), nullable=False),
    sa.Column('to_slot', sa.BigInteger(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('offered', 'accepted', 'declined', 'taken', 'expired', name='intraday_offer_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('offered_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['call_id'], ['intraday_calls.id'], name=op.f('fk_intraday_offers_call_id_intraday_calls'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['seat_id'], ['shift_seats.id'], name=op.f('fk_intraday_offers_seat_id_shift_seats'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_intraday_offers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intraday_offers')),
    sa.UniqueConstraint('call_id', 'user_id', name=op.f('uq_intraday_offers_call_id_user_id'))
    )
    with op.batch_alter_table('intraday_offers', schema=None) as batch_op:
        batch_op.create_index('ix_intraday_offers_user_id_status', ['user_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('intraday_offers', schema=None) as batch_op:
        batch_op.drop_index('ix_intraday_offers_user_id_status')

    op.drop_table('intraday_offers')
    with op.batch_alter_table('intraday_calls', schema=None) as batch_op:
        batch_op.drop_index('ix_intraday_calls_site_id_start_slot')

    op.drop_table('intraday_calls')
    with op.batch_alter_table('shift_seats', schema=None) as batch_op:
        batch_op.drop_column('standby_percent')
        batch_op.drop_column('vto_from_slot')
        batch_op.drop_column('extended_to_slot')

    _allow('settlement_lines', 'settlement_line_kind', 'kind', LINE_KINDS_BEFORE)
    _allow('shifts', 'shift_origin', 'origin', SHIFT_ORIGINS_BEFORE)
