"""Pay: rate cards, pay periods, settlements, the double-entry ledger, adjustments and disputes.

The ledger is the record of money owed and paid. A journal entry is a set of
postings whose amounts sum to zero (debits positive, credits negative); an
entry is written once and never changed or deleted (``backend.pay.ledger``
refuses it at flush time): a mistake is corrected by a reversing entry or an
adjustment in the next open period. Accounts are a short fixed list; the
agent payable account has a sub-ledger per agent (``Posting.user_id``).

A pay period goes ``open → locked → paid``. Locking computes one settlement
per agent (lines, then totals) and posts its entry, atomically and once; a
locked period never changes, and its export checksum is stored with the lock,
as is the newest work record it saw (work arriving later is paid late, in the
next open period: ``gather``).
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, IdMixin, UTCDateTime, utcnow, value_enum


class Cadence(enum.StrEnum):
    weekly = "weekly"
    biweekly = "biweekly"


class PeriodStatus(enum.StrEnum):
    open = "open"
    locked = "locked"
    paid = "paid"


class Account(enum.StrEnum):
    earnings_expense = "earnings_expense"  # what the site spends on agents' work (debit)
    agent_payable = "agent_payable"  # what the site owes each agent, net of withholding (credit)
    tax_payable = "tax_payable"  # withholding owed to the tax authority (credit)
    cash = "cash"  # money leaving the platform when a period is paid outside Stripe (marked paid, a bank file)
    stripe_balance = "stripe_balance"  # the platform's Stripe balance: credited by each Connect transfer
    agent_receivable = "agent_receivable"  # owed back by an agent (a reversal Stripe refused); netted in a run


class EntryKind(enum.StrEnum):
    settlement = "settlement"
    payout = "payout"
    reversal = "reversal"
    receivable = "receivable"  # a payout that could not be taken back: the agent owes it


class LineKind(enum.StrEnum):
    base = "base"  # worked time times the tier's hourly base
    piece = "piece"  # pieces times the rate for the kind, tier and skill
    urgent_bonus = "urgent_bonus"  # the bonus recorded on a cover shift worked
    quality_bonus = "quality_bonus"  # the rate card's quality rule, a share of piece pay
    course_pass = "course_pass"  # paid to learn: a course passed (learning.CoursePassCredit)
    adjustment = "adjustment"  # a correction with its reason and author
    withholding = "withholding"  # tax withheld (negative)
    standby = "standby"  # VTO on paid standby: released time times a share of the hourly base
    vot_bonus = "vot_bonus"  # the bonus on a voluntary-overtime shift worked


class DisputeStatus(enum.StrEnum):
    open = "open"
    adjusted = "adjusted"  # resolved by an adjustment in the next open period
    rejected = "rejected"  # resolved without one, with the reason


class RateCard(IdMixin, Base):
    """A site's rates from ``effective_from`` until the next card's date; ``rates`` is ``pay.rates.Rates``."""

    __tablename__ = "rate_cards"
    __table_args__ = (UniqueConstraint("site_id", "effective_from"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    rates: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))


class PayPeriod(IdMixin, Base):
    """``[starts_on, ends_on)`` in site-local days."""

    __tablename__ = "pay_periods"
    __table_args__ = (UniqueConstraint("site_id", "starts_on"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"))
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    cadence: Mapped[Cadence] = mapped_column(value_enum(Cadence, "pay_cadence"))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PeriodStatus] = mapped_column(value_enum(PeriodStatus, "pay_period_status"))
    locked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    locked_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    paid_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    checksum: Mapped[str | None] = mapped_column(String(64))  # sha256 of the settlement export, set at lock
    # The site's newest work record when the lock settled the period (0: none yet); NULL while open. A record with
    # a larger id arrived after the lock: if it is dated in this period it is late work, paid in a later one.
    records_through_id: Mapped[int | None] = mapped_column(BigId)


class Settlement(IdMixin, Base):
    """One agent's pay for one locked period: the sums of its lines (all in the period's currency)."""

    __tablename__ = "settlements"
    __table_args__ = (UniqueConstraint("period_id", "user_id"),)

    period_id: Mapped[int] = mapped_column(BigId, ForeignKey("pay_periods.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    display_name: Mapped[str] = mapped_column(String(120))  # as at the lock: a later rename never changes an export
    tier: Mapped[str] = mapped_column(String(16))
    worked_minutes: Mapped[int] = mapped_column(Integer)
    pieces: Mapped[int] = mapped_column(Integer)
    base_minor: Mapped[int] = mapped_column(Integer)
    piece_minor: Mapped[int] = mapped_column(Integer)
    bonus_minor: Mapped[int] = mapped_column(Integer)  # urgent + quality + course passes
    adjustment_minor: Mapped[int] = mapped_column(Integer)
    gross_minor: Mapped[int] = mapped_column(Integer)
    withholding_minor: Mapped[int] = mapped_column(Integer)
    net_minor: Mapped[int] = mapped_column(Integer)
    withholding_policy: Mapped[str] = mapped_column(String(32))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)  # e.g. "us_1099_nec" when over the threshold


class SettlementLine(IdMixin, Base):
    """One line of a settlement, already rounded (``core.money.round_minor``): the statement and the export."""

    __tablename__ = "settlement_lines"
    __table_args__ = (Index("ix_settlement_lines_period_id_user_id", "period_id", "user_id"),)

    settlement_id: Mapped[int] = mapped_column(BigId, ForeignKey("settlements.id", ondelete="RESTRICT"), index=True)
    period_id: Mapped[int] = mapped_column(BigId, ForeignKey("pay_periods.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="RESTRICT"))
    position: Mapped[int] = mapped_column(Integer)  # stable order within the settlement
    kind: Mapped[LineKind] = mapped_column(value_enum(LineKind, "settlement_line_kind"))
    day: Mapped[dt.date | None] = mapped_column(Date)  # site-local day the work was done
    shift_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("shifts.id", ondelete="SET NULL"))
    work_kind: Mapped[str | None] = mapped_column(String(16))
    skill_code: Mapped[str | None] = mapped_column(String(40))
    quantity: Mapped[int] = mapped_column(Integer)  # minutes for base, pieces for piece, 1 otherwise
    rate_minor: Mapped[int | None] = mapped_column(Integer)  # per hour (base) or per piece
    amount_minor: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(String(300), default="")  # why: the rule or the adjustment's reason


class JournalEntry(IdMixin, Base):
    __tablename__ = "journal_entries"
    __table_args__ = (UniqueConstraint("period_id", "kind", "idempotency_key"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="RESTRICT"))
    period_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("pay_periods.id", ondelete="RESTRICT"))
    kind: Mapped[EntryKind] = mapped_column(value_enum(EntryKind, "journal_entry_kind"))
    idempotency_key: Mapped[str] = mapped_column(String(80))  # posting the same thing twice is refused
    memo: Mapped[str] = mapped_column(String(300))
    posted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    posted_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    reverses_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("journal_entries.id", ondelete="RESTRICT"))


class Posting(IdMixin, Base):
    """One side of an entry: positive = debit, negative = credit; an entry's postings sum to zero."""

    __tablename__ = "postings"
    __table_args__ = (Index("ix_postings_account_user_id", "account", "user_id"),)

    entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("journal_entries.id", ondelete="RESTRICT"), index=True)
    account: Mapped[Account] = mapped_column(value_enum(Account, "ledger_account"))
    user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="RESTRICT"))
    amount_minor: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))


class Adjustment(IdMixin, Base):
    """A correction for an agent, settled in the period it was filed into (always an open one)."""

    __tablename__ = "pay_adjustments"

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"))
    period_id: Mapped[int] = mapped_column(BigId, ForeignKey("pay_periods.id", ondelete="RESTRICT"), index=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    amount_minor: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(300))
    author_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="RESTRICT"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Dispute(IdMixin, Base):
    """An agent's question about a line of their pay, and how it was resolved."""

    __tablename__ = "pay_disputes"

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    period_id: Mapped[int] = mapped_column(BigId, ForeignKey("pay_periods.id", ondelete="RESTRICT"))
    # A locked line, or (while the period is open) the accrued line's day and kind in ``line_ref``.
    line_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("settlement_lines.id", ondelete="RESTRICT"))
    line_ref: Mapped[str] = mapped_column(String(120), default="")
    comment: Mapped[str] = mapped_column(String(1000))
    status: Mapped[DisputeStatus] = mapped_column(value_enum(DisputeStatus, "pay_dispute_status"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    resolution: Mapped[str] = mapped_column(String(1000), default="")
    adjustment_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("pay_adjustments.id", ondelete="SET NULL"))


class TaxProfile(IdMixin, Base):
    """What withholding needs to know about an agent: a taxpayer id on file (US backup withholding)."""

    __tablename__ = "tax_profiles"

    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    taxpayer_id_on_file: Mapped[bool] = mapped_column(default=False)
    taxpayer_id_last4: Mapped[str | None] = mapped_column(String(4))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
