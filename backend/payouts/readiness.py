"""Whether Stripe can send to an agent's account now: the one rule the run, the sender and the pages share."""

from __future__ import annotations

import datetime as dt

from backend.payouts.models import HoldReason, PayoutAccount

READY_STATUS = "active"


def hold_reason_for(account: PayoutAccount | None, now: dt.datetime) -> HoldReason | None:
    """Why a payout to this account must wait (None: it can be sent).

    No account (or Stripe never answered its creation) → ``no_account``; requirements past their deadline →
    ``requirements_past_due`` (Stripe will refuse soon if not already); a transfers capability that is not
    active → ``transfers_inactive``.
    """
    if account is None or account.stripe_account_id is None:
        return HoldReason.no_account
    past_deadline = account.requirements_deadline is not None and account.requirements_deadline <= now
    if account.requirements_due and (account.requirements_status == "past_due" or past_deadline):
        return HoldReason.requirements_past_due
    if account.transfers_status != READY_STATUS:
        return HoldReason.transfers_inactive
    return None
