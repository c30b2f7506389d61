"""What agents and finance are told when money moves or cannot: one notification each, in the reader's language.

Every function writes in the caller's transaction (``notify``), so a notice exists exactly when the change it
announces was committed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import FINANCE_ROLES, User, UserStatus
from backend.core.money import format_money
from backend.notify.service import Kind, notify
from backend.payouts.models import Payout

AGENT_PAGE = "/app/payouts"


def run_page(run_id: int) -> str:
    return f"/finance/payout-runs/{run_id}"


async def _locale_of(session: AsyncSession, user_id: int) -> str:
    return await session.scalar(select(User.locale).where(User.id == user_id)) or "en"


async def _tell_agent(
    session: AsyncSession, payout: Payout, message: str, values: dict[str, str], *, now: dt.datetime
) -> None:
    """The agent's notice, worded in their language when they read it (see ``notify.messages``)."""
    await notify(
        session,
        user_id=payout.user_id,
        kind=Kind.payout,
        message=message,
        values=values,
        url=AGENT_PAGE,
        subject=f"payout:{payout.id}",
        now=now,
    )


def _amount(payout: Payout) -> str:
    return format_money(payout.amount_minor, payout.currency)


async def money_sent(session: AsyncSession, payout: Payout, *, now: dt.datetime) -> None:
    await _tell_agent(session, payout, "payout_sent", {"amount": _amount(payout)}, now=now)


async def money_arrived(session: AsyncSession, payout: Payout, *, now: dt.datetime) -> None:
    await _tell_agent(session, payout, "payout_arrived", {"amount": _amount(payout)}, now=now)


async def details_needed(session: AsyncSession, payout: Payout, *, now: dt.datetime) -> None:
    """Stripe refused because of the agent's account: say plainly what to do."""
    await _tell_agent(session, payout, "payout_details_needed", {}, now=now)


async def bank_refused(session: AsyncSession, payout: Payout, *, now: dt.datetime) -> None:
    """Stripe could not pay the agent's bank (``payout.failed`` on their account); ``payout`` is their newest."""
    await _tell_agent(session, payout, "payout_bank_refused", {}, now=now)


async def reversed_(session: AsyncSession, payout: Payout, *, now: dt.datetime) -> None:
    message = "payout_owed_back" if payout.reversal_refused else "payout_taken_back"
    await _tell_agent(
        session, payout, message, {"amount": _amount(payout), "reason": payout.reversal_reason or ""}, now=now
    )


async def _tell_finance(
    session: AsyncSession, payout: Payout, message: str, values: dict[str, str], *, now: dt.datetime
) -> None:
    """Every active finance user of the payout's site, each worded in their own language."""
    readers = await session.scalars(
        select(User.id).where(
            User.site_id == payout.site_id, User.role.in_(FINANCE_ROLES), User.status == UserStatus.active
        )
    )
    for user_id in list(readers):
        await notify(
            session,
            user_id=user_id,
            kind=Kind.payout,
            message=message,
            values=values,
            url=run_page(payout.run_id),
            subject=f"payout:{payout.id}",
            now=now,
        )


async def platform_refused(session: AsyncSession, payout: Payout, *, now: dt.datetime) -> None:
    """Stripe refused for the platform's reason (its balance is short): finance must act, then retry."""
    values = {
        "name": payout.display_name,
        "code": payout.failure_code or "",
        "stripe_says": payout.failure_message or "",
    }
    await _tell_finance(session, payout, "payout_platform_refused", values, now=now)


async def reversal_refused(session: AsyncSession, payout: Payout, *, now: dt.datetime) -> None:
    values = {"name": payout.display_name, "refusal": payout.reversal_refused or "", "amount": _amount(payout)}
    await _tell_finance(session, payout, "payout_reversal_refused", values, now=now)
