"""Taking a Stripe payout back (wrong amount, wrong agent): finance only, with a reason.

Stripe accepts → the payout is ``reversed`` and the payout entry's postings are posted negated (the agent is
owed again; finance corrects the amount with an adjustment). Stripe refuses because the agent's balance was
already paid out → the agent owes the money back: a ``receivable`` entry (debit ``agent_receivable``, credit
``agent_payable``), the refusal stored on the payout and shown to finance and the agent, netted in the next run.
The reversal's key ``weft-reversal-{id}`` makes a repeated request replay Stripe's first answer.
"""

from __future__ import annotations

import datetime as dt

import stripe
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import User
from backend.core.errors import Conflict, DomainError
from backend.core.i18n import gettext as _
from backend.pay import ledger
from backend.pay.models import Account, EntryKind, Posting
from backend.payouts import notices
from backend.payouts.gateway import Gateway, classify
from backend.payouts.models import FailureKind, Payout, PayoutRun, PayoutStatus, Rail
from backend.payouts.sender import ensure_finance, entry_of, site_payout

REASON_MAX_CHARS = 300
# What Stripe says when the connected account's balance no longer holds the money (it was paid out).
BALANCE_GONE = frozenset({"balance_insufficient", "insufficient_funds"})


def reversal_key(payout_id: int) -> str:
    return f"weft-reversal-{payout_id}"


async def post_reversal_entry(session: AsyncSession, payout: Payout, *, by_id: int | None, now: dt.datetime) -> None:
    """The payout entry's postings negated, once (key ``reversal:{id}``)."""
    key = f"reversal:{payout.id}"
    if await entry_of(session, period_id=payout.period_id, kind=EntryKind.reversal, key=key) is not None:
        return
    original = await entry_of(session, period_id=payout.period_id, kind=EntryKind.payout, key=f"payout:{payout.id}")
    if original is None:
        return
    rows = await session.execute(
        select(Posting.account, Posting.user_id, Posting.amount_minor)
        .where(Posting.entry_id == original.id)
        .order_by(Posting.id)
    )
    postings = [(Account(account), user_id, -amount) for account, user_id, amount in rows]
    entry = ledger.EntryIn(
        site_id=payout.site_id,
        period_id=payout.period_id,
        kind=EntryKind.reversal,
        key=key,
        memo=f"Reversal of payout {payout.id}: {payout.reversal_reason or ''}"[:300],
        postings=postings,
        currency=payout.currency,
        by_id=by_id,
    )
    await ledger.post_entries(session, [entry], now=now)


async def post_receivable_entry(session: AsyncSession, payout: Payout, *, by_id: int | None, now: dt.datetime) -> None:
    key = f"receivable:{payout.id}"
    if await entry_of(session, period_id=payout.period_id, kind=EntryKind.receivable, key=key) is not None:
        return
    entry = ledger.EntryIn(
        site_id=payout.site_id,
        period_id=payout.period_id,
        kind=EntryKind.receivable,
        key=key,
        memo=f"Owed back: payout {payout.id} could not be reversed: {payout.reversal_refused or ''}"[:300],
        postings=[
            (Account.agent_receivable, payout.user_id, payout.amount_minor),
            (Account.agent_payable, payout.user_id, -payout.amount_minor),
        ],
        currency=payout.currency,
        by_id=by_id,
    )
    await ledger.post_entries(session, [entry], now=now)


async def mark_reversed(
    session: AsyncSession, payout: Payout, *, reversal_id: str | None, reason: str, by_id: int | None, now: dt.datetime
) -> None:
    """Stripe took the money back: record it, post the reversing entry, tell the agent (caller's transaction)."""
    payout.status = PayoutStatus.reversed
    payout.reversal_id = reversal_id
    payout.reversed_at = now
    payout.reversed_by_id = by_id
    payout.reversal_reason = payout.reversal_reason or reason[:REASON_MAX_CHARS]
    await session.flush()
    await post_reversal_entry(session, payout, by_id=by_id, now=now)
    await notices.reversed_(session, payout, now=now)


async def reverse_payout(
    session: AsyncSession, gateway: Gateway, *, payout_id: int, by: User, reason: str, now: dt.datetime
) -> Payout:
    """Reverse a sent (or arrived) Stripe payout with a reason; a refusal for a paid-out balance leaves a
    receivable. Refused: not finance (403), another site's payout (404), no reason (422), not sent (409), a bank
    payout (409: the bank returns it)."""
    ensure_finance(by)
    payout = await site_payout(session, site_id=by.site_id, payout_id=payout_id)
    reason = " ".join(reason.split())
    if not reason:
        raise DomainError(_("Say why this payout is taken back."), field="reason")
    if len(reason) > REASON_MAX_CHARS:
        raise DomainError(_("Keep the reason under %(count)s characters.", count=REASON_MAX_CHARS), field="reason")
    run = await session.get(PayoutRun, payout.run_id)
    if run is None or run.rail != Rail.stripe:
        raise Conflict(_("A bank payout is taken back by the bank: mark the row returned instead."))
    if payout.status not in (PayoutStatus.sent, PayoutStatus.paid) or payout.transfer_id is None:
        raise Conflict(_("Only a payout that was sent can be reversed."))
    try:
        await gateway.ready()
        reversal = await gateway.client.v1.transfers.reversals.create_async(
            payout.transfer_id,
            {"metadata": {"weft_payout": str(payout.id), "weft_reason": reason[:500]}},
            {"idempotency_key": reversal_key(payout.id)},
        )
    except stripe.StripeError as error:
        refusal = classify(error)
        gateway.note_refusal(refusal)
        if refusal.code not in BALANCE_GONE:
            if refusal.kind is FailureKind.retryable:
                raise Conflict(_("Stripe did not answer. Try again: the same request cannot reverse twice.")) from None
            raise Conflict(_("Stripe refused the reversal: %(stripe_says)s", stripe_says=refusal.message)) from None
        payout.status = PayoutStatus.reversed
        payout.reversed_at = now
        payout.reversed_by_id = by.id
        payout.reversal_reason = reason
        payout.reversal_refused = refusal.message[:REASON_MAX_CHARS]
        await session.flush()
        await post_receivable_entry(session, payout, by_id=by.id, now=now)
        await notices.reversed_(session, payout, now=now)
        await notices.reversal_refused(session, payout, now=now)
        return payout
    payout.reversal_reason = reason
    await mark_reversed(session, payout, reversal_id=reversal["id"], reason=reason, by_id=by.id, now=now)
    return payout
