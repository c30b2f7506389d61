"""cover requests: ranked waves of eligible agents, urgent bonus

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22 06:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('cover_requests',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('shift_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('absent_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reason', sa.Enum('no_show', 'emergency', 'late_release', name='cover_reason', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('bonus_minor', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('open', 'covered', 'cancelled', 'expired', name='cover_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('covered_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('covered_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('wave', sa.Integer(), nullable=False),
    sa.Column('next_wave_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['absent_user_id'], ['users.id'], name=op.f('fk_cover_requests_absent_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['covered_by_id'], ['users.id'], name=op.f('fk_cover_requests_covered_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_cover_requests_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], name=op.f('fk_cover_requests_shift_id_shifts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_cover_requests_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cover_requests'))
    )
    with op.batch_alter_table('cover_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cover_requests_next_wave_at'), ['next_wave_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_cover_requests_shift_id'), ['shift_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cover_requests_site_id'), ['site_id'], unique=False)

    op.create_table('cover_candidates',
    sa.Column('request_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('wave', sa.Integer(), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('asked_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('offered', sa.Boolean(), nullable=False),
    sa.Column('headroom_slots', sa.Integer(), nullable=True),
    sa.Column('reliability', sa.Float(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['cover_requests.id'], name=op.f('fk_cover_candidates_request_id_cover_requests'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_cover_candidates_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cover_candidates')),
    sa.UniqueConstraint('request_id', 'user_id', name=op.f('uq_cover_candidates_request_id_user_id'))
    )
    with op.batch_alter_table('cover_candidates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cover_candidates_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cover_candidates_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('cover_candidates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cover_candidates_user_id'))
        batch_op.drop_index(batch_op.f('ix_cover_candidates_request_id'))

    op.drop_table('cover_candidates')
    with op.batch_alter_table('cover_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cover_requests_site_id'))
        batch_op.drop_index(batch_op.f('ix_cover_requests_shift_id'))
        batch_op.drop_index(batch_op.f('ix_cover_requests_next_wave_at'))

    op.drop_table('cover_requests')
