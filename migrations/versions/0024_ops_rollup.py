"""ops roll-up: each agent's week of work per skill (quality) and offered half-hours (fairness), and when each site's week was summed

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 23:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.core.db


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ops_quality_rollups',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('computed_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_ops_quality_rollups_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', 'week', name=op.f('pk_ops_quality_rollups'))
    )
    op.create_table('ops_quality_weeks',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('skill_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('contacts', sa.Integer(), nullable=False),
    sa.Column('timed_contacts', sa.Integer(), nullable=False),
    sa.Column('handled_seconds', sa.Integer(), nullable=False),
    sa.Column('csat_sum', sa.Integer(), nullable=False),
    sa.Column('csat_count', sa.Integer(), nullable=False),
    sa.Column('resolved_count', sa.Integer(), nullable=False),
    sa.Column('outcome_count', sa.Integer(), nullable=False),
    sa.Column('worked_slots', sa.Integer(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_ops_quality_weeks_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['skill_id'], ['skills.id'], name=op.f('fk_ops_quality_weeks_skill_id_skills'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ops_quality_weeks_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ops_quality_weeks'))
    )
    op.create_table('ops_offer_weeks',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('offered_slots', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_ops_offer_weeks_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ops_offer_weeks_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('site_id', 'week', 'user_id', name=op.f('pk_ops_offer_weeks'))
    )
    with op.batch_alter_table('ops_quality_weeks', schema=None) as batch_op:
        batch_op.create_index('ix_ops_quality_weeks_site_id_week', ['site_id', 'week'], unique=False)
        batch_op.create_index(batch_op.f('ix_ops_quality_weeks_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ops_quality_weeks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ops_quality_weeks_user_id'))
        batch_op.drop_index('ix_ops_quality_weeks_site_id_week')

    op.drop_table('ops_quality_weeks')
    op.drop_table('ops_offer_weeks')
    op.drop_table('ops_quality_rollups')
