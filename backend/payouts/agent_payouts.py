"""An agent's own payouts, each with its state in plain words and what (if anything) they should do."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.i18n import gettext as _
from backend.core.money import format_money
from backend.pay.earnings import date_text
from backend.pay.models import PayPeriod
from backend.payouts.models import FailureKind, HoldReason, Payout, PayoutRun, PayoutStatus, Rail
from backend.payouts.onboarding import STANDARD_ARRIVAL_BUSINESS_DAYS

AGENT_STATES = {
    PayoutStatus.held: "held",
    PayoutStatus.pending: "preparing",
    PayoutStatus.queued: "on_its_way",
    PayoutStatus.sending: "on_its_way",
    PayoutStatus.sent: "on_its_way",
    PayoutStatus.paid: "arrived",
    PayoutStatus.failed: "failed",
    PayoutStatus.reversed: "reversed",
}


@dataclass(frozen=True)
class PayoutLine:
    """One payout as its agent reads it: the amount and period, a state label and the sentences that explain it."""

    id: int
    amount_minor: int
    currency: str
    period_start: dt.date
    period_last_day: dt.date
    state: str
    label: str
    explanations: list[str]
    owed_back_minor: int


def _day(moment: dt.datetime | None, zone: ZoneInfo) -> str:
    return date_text(moment.astimezone(zone).date()) if moment is not None else ""


def _held(reason: HoldReason | None) -> str:
    carried = _("The money stays owed to you and goes in the next payout.")
    words = {
        HoldReason.no_account: _("Not sent: payouts are not set up yet. Set them up above.") + " " + carried,
        HoldReason.transfers_inactive: _("Not sent: Stripe cannot send to your account yet (see above).")
        + " "
        + carried,
        HoldReason.requirements_past_due: _("Not sent: Stripe needs details from you (see above).") + " " + carried,
        HoldReason.below_minimum: _("Not sent: it is below your centre's smallest payout.") + " " + carried,
        HoldReason.not_positive: _("Nothing to send: what you owed back was taken from this pay."),
    }
    return words.get(reason, carried) if reason is not None else carried


def _failed(payout: Payout, rail: Rail) -> str:
    if rail is Rail.bank:
        return _(
            "Your bank sent it back (%(reason)s). Check your bank details with your centre: it will be paid in the"
            " next payout.",
            reason=payout.failure_message or payout.failure_code or _("no reason given"),
        )
    if payout.failure_kind is FailureKind.agent:
        return _(
            "Stripe could not send it: your account needs attention (see above). Once it is fixed, finance sends it"
            " again."
        )
    if payout.failure_kind is FailureKind.retryable:
        return _("Stripe did not answer. It is tried again automatically; you need do nothing.")
    return _("It could not be sent because of a problem on our side. Finance has been told; you need do nothing.")


def _explain(payout: Payout, rail: Rail, zone: ZoneInfo) -> list[str]:
    status = payout.status
    lines: list[str] = []
    if status is PayoutStatus.held:
        lines.append(_held(payout.hold_reason))
    elif status is PayoutStatus.pending:
        lines.append(_("Finance is checking this payout before it is sent."))
    elif status in {PayoutStatus.queued, PayoutStatus.sending}:
        lines.append(_("Approved: it is being sent now."))
    elif status is PayoutStatus.sent and rail is Rail.bank:
        lines.append(_("Your centre sent it to your bank on %(day)s.", day=_day(payout.sent_at, zone)))
    elif status is PayoutStatus.sent:
        lines.append(
            _(
                "Sent on %(day)s. It should reach your bank about %(days)d business days later.",
                day=_day(payout.sent_at, zone),
                days=STANDARD_ARRIVAL_BUSINESS_DAYS,
            )
        )
    elif status is PayoutStatus.paid:
        lines.append(
            _("Arrived in your bank on %(day)s.", day=_day(payout.paid_at, zone))
            if payout.paid_at
            else _("Arrived in your bank.")
        )
    elif status is PayoutStatus.failed:
        lines.append(_failed(payout, rail))
    elif status is PayoutStatus.reversed:
        reason = payout.reversal_reason or _("no reason given")
        lines.append(_("Taken back by finance: %(reason)s.", reason=reason))
    if payout.reversal_refused:
        lines.append(
            _(
                "You owe %(amount)s back (%(reason)s). It is taken from your next payout.",
                amount=format_money(payout.amount_minor, payout.currency),
                reason=payout.reversal_refused,
            )
        )
    if payout.receivable_minor > 0:
        lines.append(
            _(
                "%(amount)s you owed back was taken from this payout.",
                amount=format_money(payout.receivable_minor, payout.currency),
            )
        )
    return lines


def _label(state: str) -> str:
    words = {
        "held": _("Held"),
        "preparing": _("Being prepared"),
        "on_its_way": _("On its way"),
        "arrived": _("Arrived"),
        "failed": _("Failed"),
        "reversed": _("Reversed"),
    }
    return words[state]


async def my_payouts(session: AsyncSession, *, user_id: int, zone: ZoneInfo) -> list[PayoutLine]:
    """The agent's payouts, newest period first (only their own: the query names them)."""
    rows = await session.execute(
        select(Payout, PayPeriod, PayoutRun.rail)
        .join(PayPeriod, PayPeriod.id == Payout.period_id)
        .join(PayoutRun, PayoutRun.id == Payout.run_id)
        .where(Payout.user_id == user_id)
        .order_by(PayPeriod.starts_on.desc(), Payout.id.desc())
    )
    lines = []
    for payout, period, rail in rows:
        state = AGENT_STATES[payout.status]
        lines.append(
            PayoutLine(
                id=payout.id,
                amount_minor=payout.amount_minor,
                currency=payout.currency,
                period_start=period.starts_on,
                period_last_day=period.ends_on - dt.timedelta(days=1),
                state=state,
                label=_label(state),
                explanations=_explain(payout, Rail(rail), zone),
                owed_back_minor=payout.amount_minor if payout.reversal_refused else 0,
            )
        )
    return lines
