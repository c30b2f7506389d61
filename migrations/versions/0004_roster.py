"""roster: drafts, solve runs, published versions; shifts and seats; calendar feeds; users.pool

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 02:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.core.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rosters',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('published_version', sa.Integer(), nullable=False),
    sa.Column('updated_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_rosters_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rosters')),
    sa.UniqueConstraint('site_id', 'week', name=op.f('uq_rosters_site_id_week'))
    )
    op.create_table('calendar_feeds',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_calendar_feeds_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_calendar_feeds')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_calendar_feeds_secret_hash'))
    )
    op.create_table('roster_assignments',
    sa.Column('roster_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('skill_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('start_slot', sa.BigInteger(), nullable=False),
    sa.Column('end_slot', sa.BigInteger(), nullable=False),
    sa.Column('locked', sa.Boolean(), nullable=False),
    sa.Column('source', sa.Enum('solver', 'manual', 'fixed', name='assignment_source', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['roster_id'], ['rosters.id'], name=op.f('fk_roster_assignments_roster_id_rosters'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['skill_id'], ['skills.id'], name=op.f('fk_roster_assignments_skill_id_skills'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_roster_assignments_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_assignments'))
    )
    with op.batch_alter_table('roster_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_assignments_roster_id'), ['roster_id'], unique=False)

    op.create_table('roster_versions',
    sa.Column('roster_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('published_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('lines', sa.JSON(), nullable=False),
    sa.Column('open_seats', sa.Integer(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['published_by_id'], ['users.id'], name=op.f('fk_roster_versions_published_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['roster_id'], ['rosters.id'], name=op.f('fk_roster_versions_roster_id_rosters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_versions')),
    sa.UniqueConstraint('roster_id', 'number', name=op.f('uq_roster_versions_roster_id_number'))
    )
    op.create_table('solve_runs',
    sa.Column('roster_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.Enum('queued', 'running', 'done', 'failed', 'cancelled', name='solve_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('requested_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('time_limit_seconds', sa.Float(), nullable=False),
    sa.Column('elapsed_seconds', sa.Float(), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=False),
    sa.Column('under_coverage_slots', sa.Integer(), nullable=True),
    sa.Column('lower_bound_slots', sa.Integer(), nullable=True),
    sa.Column('report', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_solve_runs_requested_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['roster_id'], ['rosters.id'], name=op.f('fk_solve_runs_roster_id_rosters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_solve_runs'))
    )
    with op.batch_alter_table('solve_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_solve_runs_roster_id'), ['roster_id'], unique=False)

    op.create_table('shifts',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('skill_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('start_slot', sa.BigInteger(), nullable=False),
    sa.Column('end_slot', sa.BigInteger(), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('taken', sa.Integer(), nullable=False),
    sa.Column('origin', sa.Enum('roster', 'gap', 'manual', name='shift_origin', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('roster_version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['roster_version_id'], ['roster_versions.id'], name=op.f('fk_shifts_roster_version_id_roster_versions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_shifts_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['skill_id'], ['skills.id'], name=op.f('fk_shifts_skill_id_skills'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shifts'))
    )
    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shifts_roster_version_id'), ['roster_version_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shifts_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shifts_start_slot'), ['start_slot'], unique=False)

    op.create_table('shift_seats',
    sa.Column('shift_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('taken_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('released_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], name=op.f('fk_shift_seats_shift_id_shifts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_shift_seats_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shift_seats')),
    sa.UniqueConstraint('shift_id', 'user_id', name=op.f('uq_shift_seats_shift_id_user_id'))
    )
    with op.batch_alter_table('shift_seats', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shift_seats_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pool', sa.Enum('core', 'backbone', 'elastic', name='pool', native_enum=False, create_constraint=True, length=16), server_default='backbone', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_users_pool'), type_='check')
        batch_op.drop_column('pool')

    with op.batch_alter_table('shift_seats', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shift_seats_user_id'))

    op.drop_table('shift_seats')
    with op.batch_alter_table('shifts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shifts_start_slot'))
        batch_op.drop_index(batch_op.f('ix_shifts_site_id'))
        batch_op.drop_index(batch_op.f('ix_shifts_roster_version_id'))

    op.drop_table('shifts')
    with op.batch_alter_table('solve_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_solve_runs_roster_id'))

    op.drop_table('solve_runs')
    op.drop_table('roster_versions')
    with op.batch_alter_table('roster_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_assignments_roster_id'))

    op.drop_table('roster_assignments')
    op.drop_table('calendar_feeds')
    op.drop_table('rosters')
