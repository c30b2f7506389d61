"""ops: shift leads, the duty roster, the duty log (items and their updates), hand-overs and their items

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 23:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.core.db


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('duties',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('starts_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_duties_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_duties_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_duties_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duties'))
    )
    with op.batch_alter_table('duties', schema=None) as batch_op:
        batch_op.create_index('ix_duties_site_id_starts_at', ['site_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_duties_user_id'), ['user_id'], unique=False)

    op.create_table('shift_leads',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('named_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('named_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('removed_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['named_by_id'], ['users.id'], name=op.f('fk_shift_leads_named_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_shift_leads_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_shift_leads_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shift_leads')),
    sa.UniqueConstraint('site_id', 'user_id', name=op.f('uq_shift_leads_site_id_user_id'))
    )
    with op.batch_alter_table('shift_leads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shift_leads_user_id'), ['user_id'], unique=False)

    op.create_table('duty_log_items',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('duty_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.Enum('system_problem', 'queue_spike', 'staffing_gap', 'agent_escalation', 'customer_complaint', 'other', 'no_show', 'late_start', 'cover_request', 'intraday_offer', 'request_breach', name='log_kind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('source_key', sa.String(length=64), nullable=True),
    sa.Column('started_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('link', sa.String(length=300), nullable=True),
    sa.Column('subject_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('author_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('corrects_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('open', 'in_progress', 'closed', name='log_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('first_action_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_duty_log_items_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['corrects_id'], ['duty_log_items.id'], name=op.f('fk_duty_log_items_corrects_id_duty_log_items'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['duty_id'], ['duties.id'], name=op.f('fk_duty_log_items_duty_id_duties'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_duty_log_items_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['subject_user_id'], ['users.id'], name=op.f('fk_duty_log_items_subject_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_log_items')),
    sa.UniqueConstraint('site_id', 'source_key', name=op.f('uq_duty_log_items_site_id_source_key'))
    )
    with op.batch_alter_table('duty_log_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_log_items_duty_id'), ['duty_id'], unique=False)
        batch_op.create_index('ix_duty_log_items_site_id_started_at', ['site_id', 'started_at'], unique=False)

    op.create_table('handovers',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('duty_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('from_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('to_duty_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('focus', sa.Text(), nullable=False),
    sa.Column('warnings', sa.Text(), nullable=False),
    sa.Column('submitted_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'], name=op.f('fk_handovers_acknowledged_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['duty_id'], ['duties.id'], name=op.f('fk_handovers_duty_id_duties'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['from_user_id'], ['users.id'], name=op.f('fk_handovers_from_user_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_handovers_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_duty_id'], ['duties.id'], name=op.f('fk_handovers_to_duty_id_duties'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handovers')),
    sa.UniqueConstraint('duty_id', name=op.f('uq_handovers_duty_id'))
    )
    with op.batch_alter_table('handovers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handovers_site_id'), ['site_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_handovers_to_duty_id'), ['to_duty_id'], unique=False)

    op.create_table('duty_log_updates',
    sa.Column('item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('author_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('told', sa.String(length=300), nullable=False),
    sa.Column('status', sa.Enum('open', 'in_progress', 'closed', name='log_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_duty_log_updates_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['item_id'], ['duty_log_items.id'], name=op.f('fk_duty_log_updates_item_id_duty_log_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_duty_log_updates'))
    )
    with op.batch_alter_table('duty_log_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_duty_log_updates_item_id'), ['item_id'], unique=False)

    op.create_table('handover_items',
    sa.Column('handover_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.Enum('open_item', 'follow_up', name='handover_item_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('owner_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('log_item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('carried_from_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('acknowledged_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('closed_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'], name=op.f('fk_handover_items_acknowledged_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['carried_from_id'], ['handover_items.id'], name=op.f('fk_handover_items_carried_from_id_handover_items'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_handover_items_closed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['handover_id'], ['handovers.id'], name=op.f('fk_handover_items_handover_id_handovers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['log_item_id'], ['duty_log_items.id'], name=op.f('fk_handover_items_log_item_id_duty_log_items'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_handover_items_owner_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_handover_items'))
    )
    with op.batch_alter_table('handover_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_handover_items_handover_id'), ['handover_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('handover_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handover_items_handover_id'))

    op.drop_table('handover_items')
    with op.batch_alter_table('duty_log_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duty_log_updates_item_id'))

    op.drop_table('duty_log_updates')
    with op.batch_alter_table('handovers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_handovers_to_duty_id'))
        batch_op.drop_index(batch_op.f('ix_handovers_site_id'))

    op.drop_table('handovers')
    with op.batch_alter_table('duty_log_items', schema=None) as batch_op:
        batch_op.drop_index('ix_duty_log_items_site_id_started_at')
        batch_op.drop_index(batch_op.f('ix_duty_log_items_duty_id'))

    op.drop_table('duty_log_items')
    with op.batch_alter_table('shift_leads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shift_leads_user_id'))

    op.drop_table('shift_leads')
    with op.batch_alter_table('duties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_duties_user_id'))
        batch_op.drop_index('ix_duties_site_id_starts_at')

    op.drop_table('duties')
