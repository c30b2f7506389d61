"""What agents and finance are told when money moves or cannot: one notification each, in the reader's language.

Every function writes in the caller's transaction (``notify``), so a notice exists exactly when the change it
announces was committed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import FINANCE_ROLES, User, UserStatus
from backend.core.i18n import gettext as _
from backend.core.i18n import speaking
from backend.core.money import format_money
from backend.notify.service import Kind, notify
from backend.payouts.models import Payout

AGENT_PAGE = "/app/payouts"


def run_page(run_id: int) -> str:
    return f"/finance/payout-runs/{run_id}"


async def _locale_of(session: AsyncSession, user_id: int) -> str:
    return await session.scalar(select(User.locale).where(User.id == user_id)) or "en"


async def _tell_agent(session: AsyncSession, payout: Payout, title: str, body: str, *, now: dt.datetime) -> None:
    await notify(
        session,
        user_id=payout.user_id,
        kind=Kind.payout,
        title=title,
        body=body,
        url=AGENT_PAGE,
        subject=f"payout:{payout.id}",
        now=now,
    )


async def money_sent(session: AsyncSession, payout: Payout, *, now: dt.datetime) -> None:
    with speaking(await _locale_of(session, payout.user_id)):
        title = _("Your money is on its way: %(amount)s", amount=format_money(payout.amount_minor, payout.currency))
        body = _("Stripe is sending it to your account; it usually arrives in your bank within a few days.")
        await _tell_agent(session, payout, title, body, now=now)


async def money_arrived(session: AsyncSession, payout: Payout, *, now: dt.datetime) -> None:
    with speaking(await _locale_of(session, payout.user_id)):
        title = _("Your payout arrived: %(amount)s", amount=format_money(payout.amount_minor, payout.currency))
        await _tell_agent(session, payout, title, "", now=now)


async def details_needed(session: AsyncSession, payout: Payout, *, now: dt.datetime) -> None:
    """Stripe refused because of the agent's account: say plainly what to do."""
    with speaking(await _locale_of(session, payout.user_id)):
        title = _("We could not send your money: your payout details need attention")
        body = _(
            "Open Payouts and finish setting up your Stripe details (bank account, identity). "
            "We send the money again once Stripe accepts them."
        )
        await _tell_agent(session, payout, title, body, now=now)


async def bank_refused(session: AsyncSession, payout: Payout, *, now: dt.datetime) -> None:
    """Stripe could not pay the agent's bank (``payout.failed`` on their account); ``payout`` is their newest."""
    with speaking(await _locale_of(session, payout.user_id)):
        title = _("Your bank did not accept the payout")
        body = _("Open Payouts, check your bank details in the Stripe dashboard, and Stripe will try again.")
        await _tell_agent(session, payout, title, body, now=now)


async def reversed_(session: AsyncSession, payout: Payout, *, now: dt.datetime) -> None:
    with speaking(await _locale_of(session, payout.user_id)):
        amount = format_money(payout.amount_minor, payout.currency)
        if payout.reversal_refused:
            title = _("A payout of %(amount)s was made in error: you owe it back", amount=amount)
            body = _("Reason: %(reason)s. It will be taken from your next payout.", reason=payout.reversal_reason)
        else:
            title = _("A payout of %(amount)s was taken back", amount=amount)
            body = _("Reason: %(reason)s", reason=payout.reversal_reason)
        await _tell_agent(session, payout, title, body, now=now)


async def _tell_finance(
    session: AsyncSession, payout: Payout, words: Callable[[], tuple[str, str]], *, now: dt.datetime
) -> None:
    """Every active finance user of the payout's site, each in their own language."""
    readers = await session.execute(
        select(User.id, User.locale).where(
            User.site_id == payout.site_id, User.role.in_(FINANCE_ROLES), User.status == UserStatus.active
        )
    )
    for user_id, locale in readers.all():
        with speaking(locale or "en"):
            title, body = words()
            await notify(
                session,
                user_id=user_id,
                kind=Kind.payout,
                title=title,
                body=body,
                url=run_page(payout.run_id),
                subject=f"payout:{payout.id}",
                now=now,
            )


async def platform_refused(session: AsyncSession, payout: Payout, *, now: dt.datetime) -> None:
    """Stripe refused for the platform's reason (its balance is short): finance must act, then retry."""

    def words() -> tuple[str, str]:
        title = _(
            "A payout to %(name)s failed: %(code)s",
            name=payout.display_name,
            code=payout.failure_code or "",
        )
        body = _(
            "%(stripe_says)s Fix it on the Stripe side (for example, top up the balance), then retry the payout.",
            stripe_says=payout.failure_message or "",
        )
        return title, body

    await _tell_finance(session, payout, words, now=now)


async def reversal_refused(session: AsyncSession, payout: Payout, *, now: dt.datetime) -> None:
    def words() -> tuple[str, str]:
        title = _("Stripe refused to take back the payout to %(name)s", name=payout.display_name)
        body = _(
            "%(refusal)s The agent owes %(amount)s; it is netted from their next payout.",
            refusal=payout.reversal_refused or "",
            amount=format_money(payout.amount_minor, payout.currency),
        )
        return title, body

    await _tell_finance(session, payout, words, now=now)
