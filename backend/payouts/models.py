"""Payouts: money leaving the platform, through Stripe Connect or a bank batch file.

- **Connected account.** One per agent (``PayoutAccount``), its row claimed before Stripe is asked, so no
  second account can ever be made; it mirrors what Stripe says of the account (details submitted, the
  transfers capability, requirements due), refreshed on return from onboarding and by webhook.
- **Run.** Finance prepares one run per locked period (``PayoutRun``): a ``Payout`` row per agent with money
  owed, either ready to send or held with a stated reason. A second finance user approves it before money
  moves (the preparer never approves their own run). The rail is Stripe or a bank file, chosen per site.
- **Payout.** The durable intent to move one agent's money (the outbox row). Before each call to Stripe its
  idempotency key is stored (``attempt`` numbers them), so a re-run after a crash replays the first answer
  instead of paying twice. Success records the transfer id and posts the payout entry to the ledger in the
  same transaction. A state never moves backwards: ``STATE_ORDER``.
- **Event.** Every webhook event is stored by its id (unique): a replay is a no-op.
- **Difference.** What reconciliation with Stripe found, kept for finance.
"""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, BigId, IdMixin, UTCDateTime, utcnow, value_enum


class Rail(enum.StrEnum):
    stripe = "stripe"  # Connect transfers to the agents' connected accounts
    bank = "bank"  # a bank batch file finance downloads, sends and marks paid


class RunStatus(enum.StrEnum):
    prepared = "prepared"  # payouts worked out; waiting for a second finance user (or the preparer, if small)
    approved = "approved"  # money may move: the worker sends (Stripe) or finance downloads the file (bank)
    sent = "sent"  # every payout left (bank: finance marked the file sent)
    cancelled = "cancelled"  # dropped before approval; the money stays owed and goes in a later run


class PayoutStatus(enum.StrEnum):
    held = "held"  # not sent, with ``hold_reason``; the amount stays owed and is carried to the next run
    pending = "pending"  # in a run not yet approved
    queued = "queued"  # approved: the worker sends it when ``next_try_at`` comes
    sending = "sending"  # a call to Stripe under ``idempotency_key`` may be under way (or died mid-way)
    failed = "failed"  # Stripe refused; ``failure_kind`` says who acts; finance can retry
    sent = "sent"  # the transfer exists (bank: the file went to the bank): on its way to the agent
    paid = "paid"  # arrived: the agent's payout was paid (Stripe) or the bank confirmed the row
    reversed = "reversed"  # taken back (or owed back: see ``receivable_minor``)


# A webhook or a late answer may move a payout forwards, never backwards (sent → reversed, not reversed → sent).
STATE_ORDER = {
    PayoutStatus.held: 0,
    PayoutStatus.pending: 1,
    PayoutStatus.queued: 2,
    PayoutStatus.sending: 3,
    PayoutStatus.failed: 3,
    PayoutStatus.sent: 4,
    PayoutStatus.paid: 5,
    PayoutStatus.reversed: 6,
}


class HoldReason(enum.StrEnum):
    no_account = "no_account"  # the agent has not set up payouts
    transfers_inactive = "transfers_inactive"  # Stripe cannot send to the account yet
    requirements_past_due = "requirements_past_due"  # Stripe needs details from the agent, past their deadline
    below_minimum = "below_minimum"  # under the site's minimum payout: carried to the next run
    not_positive = "not_positive"  # nothing owed once earlier receivables are netted


class FailureKind(enum.StrEnum):
    retryable = "retryable"  # network, 5xx, 429: tried again with backoff under the same key
    agent = "agent"  # the agent must fix their details (capability inactive, requirements due)
    platform = "platform"  # the platform's side (balance_insufficient): finance is told


class WarningKind(enum.StrEnum):
    pieces_without_shift = "pieces_without_shift"  # paid for pieces with no worked shift at that time
    far_above_usual = "far_above_usual"  # net far above the agent's usual
    destination_changed = "destination_changed"  # the payout destination changed since the last run
    negative_net = "negative_net"  # the agent owes more than they earned


class DifferenceKind(enum.StrEnum):
    missing_at_stripe = "missing_at_stripe"  # we recorded a transfer Stripe does not list
    missing_here = "missing_here"  # Stripe lists a transfer for one of our payouts we did not record
    amount_differs = "amount_differs"
    destination_differs = "destination_differs"
    unknown_transfer = "unknown_transfer"  # in the run's group, naming no payout of ours


class PayoutAccount(IdMixin, Base):
    """An agent's Stripe connected account (v2, recipient configuration), as Stripe last described it."""

    __tablename__ = "payout_accounts"
    __table_args__ = (UniqueConstraint("user_id"),)

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="CASCADE"))
    stripe_account_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # NULL until Stripe answered
    details_submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    transfers_status: Mapped[str] = mapped_column(String(16), default="inactive")  # active, pending, restricted, ...
    requirements_due: Mapped[list[str]] = mapped_column(JSON, default=list)  # Stripe's descriptions, as given
    requirements_status: Mapped[str | None] = mapped_column(String(16))  # currently_due, past_due, eventually_due
    requirements_deadline: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    disabled_reason: Mapped[str | None] = mapped_column(String(64))
    instant_available: Mapped[bool] = mapped_column(Boolean, default=False)  # "instant" among its payout methods
    destination: Mapped[str | None] = mapped_column(String(64))  # the default outbound destination's id
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    refreshed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class PayoutRun(IdMixin, Base):
    """One locked period's payouts: prepared by one finance user, approved by another, then sent."""

    __tablename__ = "payout_runs"
    __table_args__ = (UniqueConstraint("period_id"),)  # prepared twice at once: one run

    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"), index=True)
    period_id: Mapped[int] = mapped_column(BigId, ForeignKey("pay_periods.id", ondelete="RESTRICT"))
    rail: Mapped[Rail] = mapped_column(value_enum(Rail, "payout_rail"))
    status: Mapped[RunStatus] = mapped_column(value_enum(RunStatus, "payout_run_status"))
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int] = mapped_column(Integer)  # what the run sends
    held_minor: Mapped[int] = mapped_column(Integer)  # owed but held, carried to a later run
    payout_count: Mapped[int] = mapped_column(Integer)
    held_count: Mapped[int] = mapped_column(Integer)
    transfer_group: Mapped[str] = mapped_column(String(64), unique=True)  # Stripe lists the run's transfers by it
    prepared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    prepared_by_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="RESTRICT"))
    needs_second_approver: Mapped[bool] = mapped_column(Boolean)
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="RESTRICT"))
    file_downloaded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # bank rail
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    sent_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    reconciled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Payout(IdMixin, Base):
    """One agent's money in one run: the outbox row the worker sends, and its whole history."""

    __tablename__ = "payouts"
    __table_args__ = (
        UniqueConstraint("run_id", "user_id"),
        Index("ix_payouts_status_next_try_at", "status", "next_try_at"),
    )

    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("payout_runs.id", ondelete="RESTRICT"))
    site_id: Mapped[int] = mapped_column(BigId, ForeignKey("sites.id", ondelete="CASCADE"))
    period_id: Mapped[int] = mapped_column(BigId, ForeignKey("pay_periods.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    display_name: Mapped[str] = mapped_column(String(120))  # as at the run: the file and the list never change
    amount_minor: Mapped[int] = mapped_column(Integer)  # what is sent: owed through the period minus receivables
    owed_minor: Mapped[int] = mapped_column(Integer)  # the agent's payable through the period when prepared
    receivable_minor: Mapped[int] = mapped_column(Integer, default=0)  # netted from an earlier failed reversal
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PayoutStatus] = mapped_column(value_enum(PayoutStatus, "payout_status"))
    hold_reason: Mapped[HoldReason | None] = mapped_column(value_enum(HoldReason, "payout_hold_reason", length=24))
    destination: Mapped[str | None] = mapped_column(String(64))  # the connected account (or bank reference)
    # The account's default outbound destination (its bank account or card) at the run: a change since the
    # agent's last payout is a warning (``WarningKind.destination_changed``).
    outbound_destination: Mapped[str | None] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer, default=0)  # numbers the idempotency keys
    idempotency_key: Mapped[str | None] = mapped_column(String(80))  # stored before the call it guards
    tries: Mapped[int] = mapped_column(Integer, default=0)  # calls under the current key (backoff)
    next_try_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    transfer_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    failure_kind: Mapped[FailureKind | None] = mapped_column(value_enum(FailureKind, "payout_failure_kind"))
    failure_code: Mapped[str | None] = mapped_column(String(64))  # Stripe's code, or the bank's return reason
    failure_message: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reversed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    reversed_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))
    reversal_reason: Mapped[str | None] = mapped_column(String(300))
    reversal_id: Mapped[str | None] = mapped_column(String(64))
    reversal_refused: Mapped[str | None] = mapped_column(String(300))  # why Stripe refused: a receivable remains
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PayoutWarning(IdMixin, Base):
    """Something finance should look at before money moves: acknowledged, never a block."""

    __tablename__ = "payout_warnings"
    __table_args__ = (UniqueConstraint("run_id", "user_id", "kind"),)

    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("payout_runs.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id", ondelete="RESTRICT"))
    kind: Mapped[WarningKind] = mapped_column(value_enum(WarningKind, "payout_warning_kind", length=24))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the numbers the message shows
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id", ondelete="SET NULL"))


class StripeEvent(IdMixin, Base):
    """A webhook event, stored by Stripe's id before it is acted on: a replay finds it and does nothing."""

    __tablename__ = "stripe_events"
    __table_args__ = (UniqueConstraint("event_id"),)

    event_id: Mapped[str] = mapped_column(String(80))
    type: Mapped[str] = mapped_column(String(120))
    account: Mapped[str | None] = mapped_column(String(64))  # the connected account it concerns, if any
    object_id: Mapped[str | None] = mapped_column(String(64))
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime)  # Stripe's time: orders events of one object
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[str] = mapped_column(String(300), default="")


class ReconciliationDifference(IdMixin, Base):
    """A difference between our payouts and Stripe's transfers for a run, kept for finance."""

    __tablename__ = "payout_differences"

    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("payout_runs.id", ondelete="CASCADE"), index=True)
    payout_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("payouts.id", ondelete="SET NULL"))
    kind: Mapped[DifferenceKind] = mapped_column(value_enum(DifferenceKind, "payout_difference_kind", length=24))
    transfer_id: Mapped[str | None] = mapped_column(String(64))
    ours_minor: Mapped[int | None] = mapped_column(Integer)
    theirs_minor: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(String(300), default="")
    found_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
