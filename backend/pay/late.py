"""Late work as finance reads it: the work records a period pays that were done in an earlier, locked period.

Once the period is locked these are its settled late lines (a piece line dated before the period's first day);
while it is open, the late work it will pay when locked, gathered by the same rule the lock uses (``gather``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.pay import gather
from backend.pay.models import LineKind, PayPeriod, PeriodStatus, Settlement, SettlementLine

LATE_SHOWN = 200  # lines listed on the page; the export carries every one


@dataclass(frozen=True)
class LateLine:
    """One agent's late pieces of one day, kind and skill, and the period they were done in."""

    user_id: int
    agent_name: str
    day: dt.date
    late_from: gather.Days | None
    work_kind: str | None
    skill_code: str | None
    quantity: int
    amount_minor: int | None  # known once the period is locked


async def _settled(session: AsyncSession, *, period: PayPeriod) -> list[LateLine]:
    rows = (
        await session.execute(
            select(SettlementLine, Settlement.display_name)
            .join(Settlement, Settlement.id == SettlementLine.settlement_id)
            .where(
                SettlementLine.period_id == period.id,
                SettlementLine.kind == LineKind.piece,
                SettlementLine.day < period.starts_on,
            )
            .order_by(SettlementLine.user_id, SettlementLine.position)
            .limit(LATE_SHOWN)
        )
    ).all()
    days = {line.day for line, _name in rows if line.day is not None}
    origins = await gather.periods_containing(session, site_id=period.site_id, days=days)
    return [
        LateLine(
            user_id=line.user_id,
            agent_name=name,
            day=line.day,
            late_from=origins.get(line.day),
            work_kind=line.work_kind,
            skill_code=line.skill_code,
            quantity=line.quantity,
            amount_minor=line.amount_minor,
        )
        for line, name in rows
        if line.day is not None
    ]


async def _pending(session: AsyncSession, *, period: PayPeriod) -> list[LateLine]:
    work = await gather.late_work(session, period=period)
    people = {user.id: user for user in await accounts.users_by_ids(session, set(work))}
    lines = [
        LateLine(
            user_id=user_id,
            agent_name=people[user_id].display_name if user_id in people else "",
            day=piece.day,
            late_from=piece.late_from,
            work_kind=piece.kind,
            skill_code=piece.skill_code,
            quantity=piece.count,
            amount_minor=None,
        )
        for user_id, pieces in sorted(work.items())
        for piece in sorted(pieces, key=lambda p: (p.day, p.kind, p.skill_code or ""))
    ]
    return lines[:LATE_SHOWN]


async def late_lines(session: AsyncSession, *, period: PayPeriod) -> list[LateLine]:
    """The late work the period pays (settled once locked, to be paid while open), by agent then day."""
    if period.status == PeriodStatus.open:
        return await _pending(session, period=period)
    return await _settled(session, period=period)
