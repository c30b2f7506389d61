"""work records and external agent ids

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-22 10:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('external_agents',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('external_agent_id', sa.String(length=100), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_external_agents_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_external_agents_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_agents')),
    sa.UniqueConstraint('site_id', 'source', 'external_agent_id', name=op.f('uq_external_agents_site_id_source_external_agent_id'))
    )
    with op.batch_alter_table('external_agents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_agents_user_id'), ['user_id'], unique=False)

    op.create_table('work_records',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=False),
    sa.Column('occurred_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Enum('call', 'chat', 'ticket', 'callback', name='work_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('handled_seconds', sa.Integer(), nullable=True),
    sa.Column('csat', sa.Integer(), nullable=True),
    sa.Column('resolved', sa.Boolean(), nullable=True),
    sa.Column('skill_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('received_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_work_records_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['skill_id'], ['skills.id'], name=op.f('fk_work_records_skill_id_skills'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_work_records_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_work_records')),
    sa.UniqueConstraint('site_id', 'source', 'external_id', name=op.f('uq_work_records_site_id_source_external_id'))
    )
    with op.batch_alter_table('work_records', schema=None) as batch_op:
        batch_op.create_index('ix_work_records_site_id_occurred_at', ['site_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_work_records_user_id_occurred_at', ['user_id', 'occurred_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('work_records', schema=None) as batch_op:
        batch_op.drop_index('ix_work_records_user_id_occurred_at')
        batch_op.drop_index('ix_work_records_site_id_occurred_at')

    op.drop_table('work_records')
    with op.batch_alter_table('external_agents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_external_agents_user_id'))

    op.drop_table('external_agents')
