"""pay rate cards periods settlements ledger adjustments disputes tax profiles

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-22 10:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.core.db

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pay_periods',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('cadence', sa.Enum('weekly', 'biweekly', name='pay_cadence', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.Enum('open', 'locked', 'paid', name='pay_period_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('locked_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('locked_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('paid_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paid_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('checksum', sa.String(length=64), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['locked_by_id'], ['users.id'], name=op.f('fk_pay_periods_locked_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['paid_by_id'], ['users.id'], name=op.f('fk_pay_periods_paid_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_pay_periods_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pay_periods')),
    sa.UniqueConstraint('site_id', 'starts_on', name=op.f('uq_pay_periods_site_id_starts_on'))
    )
    op.create_table('rate_cards',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('rates', sa.JSON(), nullable=False),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_rate_cards_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_rate_cards_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_cards')),
    sa.UniqueConstraint('site_id', 'effective_from', name=op.f('uq_rate_cards_site_id_effective_from'))
    )
    op.create_table('tax_profiles',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('taxpayer_id_on_file', sa.Boolean(), nullable=False),
    sa.Column('taxpayer_id_last4', sa.String(length=4), nullable=True),
    sa.Column('updated_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_tax_profiles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tax_profiles')),
    sa.UniqueConstraint('user_id', name=op.f('uq_tax_profiles_user_id'))
    )
    op.create_table('journal_entries',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.Enum('settlement', 'payout', 'reversal', name='journal_entry_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('idempotency_key', sa.String(length=80), nullable=False),
    sa.Column('memo', sa.String(length=300), nullable=False),
    sa.Column('posted_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('posted_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reverses_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['period_id'], ['pay_periods.id'], name=op.f('fk_journal_entries_period_id_pay_periods'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['posted_by_id'], ['users.id'], name=op.f('fk_journal_entries_posted_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reverses_id'], ['journal_entries.id'], name=op.f('fk_journal_entries_reverses_id_journal_entries'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_journal_entries_site_id_sites'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journal_entries')),
    sa.UniqueConstraint('period_id', 'kind', 'idempotency_key', name=op.f('uq_journal_entries_period_id_kind_idempotency_key'))
    )
    op.create_table('pay_adjustments',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('author_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_pay_adjustments_author_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['period_id'], ['pay_periods.id'], name=op.f('fk_pay_adjustments_period_id_pay_periods'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_pay_adjustments_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_pay_adjustments_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pay_adjustments'))
    )
    with op.batch_alter_table('pay_adjustments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pay_adjustments_period_id'), ['period_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pay_adjustments_user_id'), ['user_id'], unique=False)

    op.create_table('settlements',
    sa.Column('period_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('tier', sa.String(length=16), nullable=False),
    sa.Column('worked_minutes', sa.Integer(), nullable=False),
    sa.Column('pieces', sa.Integer(), nullable=False),
    sa.Column('base_minor', sa.Integer(), nullable=False),
    sa.Column('piece_minor', sa.Integer(), nullable=False),
    sa.Column('bonus_minor', sa.Integer(), nullable=False),
    sa.Column('adjustment_minor', sa.Integer(), nullable=False),
    sa.Column('gross_minor', sa.Integer(), nullable=False),
    sa.Column('withholding_minor', sa.Integer(), nullable=False),
    sa.Column('net_minor', sa.Integer(), nullable=False),
    sa.Column('withholding_policy', sa.String(length=32), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['period_id'], ['pay_periods.id'], name=op.f('fk_settlements_period_id_pay_periods'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_settlements_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlements')),
    sa.UniqueConstraint('period_id', 'user_id', name=op.f('uq_settlements_period_id_user_id'))
    )
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_settlements_user_id'), ['user_id'], unique=False)

    op.create_table('postings',
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account', sa.Enum('earnings_expense', 'agent_payable', 'tax_payable', 'cash', name='ledger_account', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['journal_entries.id'], name=op.f('fk_postings_entry_id_journal_entries'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_postings_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_postings'))
    )
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.create_index('ix_postings_account_user_id', ['account', 'user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_postings_entry_id'), ['entry_id'], unique=False)

    op.create_table('settlement_lines',
    sa.Column('settlement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('base', 'piece', 'urgent_bonus', 'quality_bonus', 'course_pass', 'adjustment', 'withholding', name='settlement_line_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=True),
    sa.Column('shift_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('work_kind', sa.String(length=16), nullable=True),
    sa.Column('skill_code', sa.String(length=40), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('rate_minor', sa.Integer(), nullable=True),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['period_id'], ['pay_periods.id'], name=op.f('fk_settlement_lines_period_id_pay_periods'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['settlement_id'], ['settlements.id'], name=op.f('fk_settlement_lines_settlement_id_settlements'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['shift_id'], ['shifts.id'], name=op.f('fk_settlement_lines_shift_id_shifts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_settlement_lines_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_settlement_lines'))
    )
    with op.batch_alter_table('settlement_lines', schema=None) as batch_op:
        batch_op.create_index('ix_settlement_lines_period_id_user_id', ['period_id', 'user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_settlement_lines_settlement_id'), ['settlement_id'], unique=False)

    op.create_table('pay_disputes',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('line_ref', sa.String(length=120), nullable=False),
    sa.Column('comment', sa.String(length=1000), nullable=False),
    sa.Column('status', sa.Enum('open', 'adjusted', 'rejected', name='pay_dispute_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('resolution', sa.String(length=1000), nullable=False),
    sa.Column('adjustment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['adjustment_id'], ['pay_adjustments.id'], name=op.f('fk_pay_disputes_adjustment_id_pay_adjustments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['line_id'], ['settlement_lines.id'], name=op.f('fk_pay_disputes_line_id_settlement_lines'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['period_id'], ['pay_periods.id'], name=op.f('fk_pay_disputes_period_id_pay_periods'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_pay_disputes_resolved_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_pay_disputes_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_pay_disputes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pay_disputes'))
    )
    with op.batch_alter_table('pay_disputes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pay_disputes_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('pay_disputes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pay_disputes_user_id'))

    op.drop_table('pay_disputes')
    with op.batch_alter_table('settlement_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlement_lines_settlement_id'))
        batch_op.drop_index('ix_settlement_lines_period_id_user_id')

    op.drop_table('settlement_lines')
    with op.batch_alter_table('postings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_postings_entry_id'))
        batch_op.drop_index('ix_postings_account_user_id')

    op.drop_table('postings')
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_settlements_user_id'))

    op.drop_table('settlements')
    with op.batch_alter_table('pay_adjustments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pay_adjustments_user_id'))
        batch_op.drop_index(batch_op.f('ix_pay_adjustments_period_id'))

    op.drop_table('pay_adjustments')
    op.drop_table('journal_entries')
    op.drop_table('tax_profiles')
    op.drop_table('rate_cards')
    op.drop_table('pay_periods')
