"""payouts: connected accounts, payout runs with four eyes, payouts, warnings, Stripe events, reconciliation differences

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 16:23:22.244923
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import backend.core.db


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


LEDGER_ACCOUNTS_BEFORE = ('earnings_expense', 'agent_payable', 'tax_payable', 'cash')
LEDGER_ACCOUNTS = (*LEDGER_ACCOUNTS_BEFORE, 'stripe_balance', 'agent_receivable')
ENTRY_KINDS_BEFORE = ('settlement', 'payout', 'reversal')
ENTRY_KINDS = (*ENTRY_KINDS_BEFORE, 'receivable')


def _allow(table: str, check: str, column: str, values: tuple[str, ...]) -> None:
    """Replace an enum column's CHECK with one allowing ``values`` (batch mode rebuilds the table on SQLite)."""
    listed = ", ".join(f"'{value}'" for value in values)
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_constraint(op.f(f'ck_{table}_{check}'), type_='check')
        batch_op.create_check_constraint(op.f(f'ck_{table}_{check}'), sa.text(f"{column} IN ({listed})"))


def upgrade() -> None:
    _allow('postings', 'ledger_account', 'account', LEDGER_ACCOUNTS)
    _allow('journal_entries', 'journal_entry_kind', 'kind', ENTRY_KINDS)
    op.create_table('stripe_events',
    sa.Column('event_id', sa.String(length=80), nullable=False),
    sa.Column('type', sa.String(length=120), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=True),
    sa.Column('object_id', sa.String(length=64), nullable=True),
    sa.Column('created', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=300), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stripe_events')),
    sa.UniqueConstraint('event_id', name=op.f('uq_stripe_events_event_id'))
    )
    op.create_table('payout_accounts',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('stripe_account_id', sa.String(length=64), nullable=True),
    sa.Column('details_submitted', sa.Boolean(), nullable=False),
    sa.Column('transfers_status', sa.String(length=16), nullable=False),
    sa.Column('requirements_due', sa.JSON(), nullable=False),
    sa.Column('requirements_status', sa.String(length=16), nullable=True),
    sa.Column('requirements_deadline', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('disabled_reason', sa.String(length=64), nullable=True),
    sa.Column('instant_available', sa.Boolean(), nullable=False),
    sa.Column('destination', sa.String(length=64), nullable=True),
    sa.Column('created_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('refreshed_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_payout_accounts_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_payout_accounts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_accounts')),
    sa.UniqueConstraint('stripe_account_id', name=op.f('uq_payout_accounts_stripe_account_id')),
    sa.UniqueConstraint('user_id', name=op.f('uq_payout_accounts_user_id'))
    )
    with op.batch_alter_table('payout_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payout_accounts_site_id'), ['site_id'], unique=False)

    op.create_table('payout_runs',
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rail', sa.Enum('stripe', 'bank', name='payout_rail', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('status', sa.Enum('prepared', 'approved', 'sent', 'cancelled', name='payout_run_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_minor', sa.Integer(), nullable=False),
    sa.Column('held_minor', sa.Integer(), nullable=False),
    sa.Column('payout_count', sa.Integer(), nullable=False),
    sa.Column('held_count', sa.Integer(), nullable=False),
    sa.Column('transfer_group', sa.String(length=64), nullable=False),
    sa.Column('prepared_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('prepared_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('needs_second_approver', sa.Boolean(), nullable=False),
    sa.Column('approved_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('approved_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('file_downloaded_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('sent_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reconciled_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_payout_runs_approved_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['period_id'], ['pay_periods.id'], name=op.f('fk_payout_runs_period_id_pay_periods'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['prepared_by_id'], ['users.id'], name=op.f('fk_payout_runs_prepared_by_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['sent_by_id'], ['users.id'], name=op.f('fk_payout_runs_sent_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_payout_runs_site_id_sites'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_runs')),
    sa.UniqueConstraint('period_id', name=op.f('uq_payout_runs_period_id')),
    sa.UniqueConstraint('transfer_group', name=op.f('uq_payout_runs_transfer_group'))
    )
    with op.batch_alter_table('payout_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payout_runs_site_id'), ['site_id'], unique=False)

    op.create_table('payout_warnings',
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.Enum('pieces_without_shift', 'far_above_usual', 'destination_changed', 'negative_net', name='payout_warning_kind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('acknowledged_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'], name=op.f('fk_payout_warnings_acknowledged_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['run_id'], ['payout_runs.id'], name=op.f('fk_payout_warnings_run_id_payout_runs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_payout_warnings_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_warnings')),
    sa.UniqueConstraint('run_id', 'user_id', 'kind', name=op.f('uq_payout_warnings_run_id_user_id_kind'))
    )
    op.create_table('payouts',
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('site_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('period_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('owed_minor', sa.Integer(), nullable=False),
    sa.Column('receivable_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.Enum('held', 'pending', 'queued', 'sending', 'failed', 'sent', 'paid', 'reversed', name='payout_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('hold_reason', sa.Enum('no_account', 'transfers_inactive', 'requirements_past_due', 'below_minimum', 'not_positive', name='payout_hold_reason', native_enum=False, create_constraint=True, length=24), nullable=True),
    sa.Column('destination', sa.String(length=64), nullable=True),
    sa.Column('outbound_destination', sa.String(length=64), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=80), nullable=True),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('next_try_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('transfer_id', sa.String(length=64), nullable=True),
    sa.Column('failure_kind', sa.Enum('retryable', 'agent', 'platform', name='payout_failure_kind', native_enum=False, create_constraint=True, length=16), nullable=True),
    sa.Column('failure_code', sa.String(length=64), nullable=True),
    sa.Column('failure_message', sa.String(length=500), nullable=True),
    sa.Column('sent_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paid_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reversed_at', backend.core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reversed_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reversal_reason', sa.String(length=300), nullable=True),
    sa.Column('reversal_id', sa.String(length=64), nullable=True),
    sa.Column('reversal_refused', sa.String(length=300), nullable=True),
    sa.Column('updated_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['period_id'], ['pay_periods.id'], name=op.f('fk_payouts_period_id_pay_periods'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['reversed_by_id'], ['users.id'], name=op.f('fk_payouts_reversed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['run_id'], ['payout_runs.id'], name=op.f('fk_payouts_run_id_payout_runs'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_payouts_site_id_sites'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_payouts_user_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payouts')),
    sa.UniqueConstraint('run_id', 'user_id', name=op.f('uq_payouts_run_id_user_id')),
    sa.UniqueConstraint('transfer_id', name=op.f('uq_payouts_transfer_id'))
    )
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.create_index('ix_payouts_status_next_try_at', ['status', 'next_try_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_payouts_user_id'), ['user_id'], unique=False)

    op.create_table('payout_differences',
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payout_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.Enum('missing_at_stripe', 'missing_here', 'amount_differs', 'destination_differs', 'unknown_transfer', name='payout_difference_kind', native_enum=False, create_constraint=True, length=24), nullable=False),
    sa.Column('transfer_id', sa.String(length=64), nullable=True),
    sa.Column('ours_minor', sa.Integer(), nullable=True),
    sa.Column('theirs_minor', sa.Integer(), nullable=True),
    sa.Column('detail', sa.String(length=300), nullable=False),
    sa.Column('found_at', backend.core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['payout_id'], ['payouts.id'], name=op.f('fk_payout_differences_payout_id_payouts'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['run_id'], ['payout_runs.id'], name=op.f('fk_payout_differences_run_id_payout_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payout_differences'))
    )
    with op.batch_alter_table('payout_differences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payout_differences_run_id'), ['run_id'], unique=False)



def downgrade() -> None:
    _allow('postings', 'ledger_account', 'account', LEDGER_ACCOUNTS_BEFORE)
    _allow('journal_entries', 'journal_entry_kind', 'kind', ENTRY_KINDS_BEFORE)
    with op.batch_alter_table('payout_differences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payout_differences_run_id'))

    op.drop_table('payout_differences')
    with op.batch_alter_table('payouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payouts_user_id'))
        batch_op.drop_index('ix_payouts_status_next_try_at')

    op.drop_table('payouts')
    op.drop_table('payout_warnings')
    with op.batch_alter_table('payout_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payout_runs_site_id'))

    op.drop_table('payout_runs')
    with op.batch_alter_table('payout_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payout_accounts_site_id'))

    op.drop_table('payout_accounts')
    op.drop_table('stripe_events')
