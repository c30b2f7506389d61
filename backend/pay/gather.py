"""Gather: what an agent did in a pay period, read from the database and aggregated in SQL.

The inputs of ``settlement.settle_lines`` (see its rules):

- **Worked shifts**: seats the agent holds on shifts of the site, not
  cancelled, that started on a site-local day of the period and have ended by
  ``now``, without a no-show (a waived no-show still earns nothing). A seat
  given away (released) is not the agent's. The urgent bonus is the shift's
  own ``bonus_minor`` when above 0, else the rate card's ``urgent_bonus_minor``
  when the agent filled the seat by accepting a cover request, else 0.
- **Pieces**: the site's work records whose ``occurred_at`` falls on a
  site-local day of the period, summed per (agent, day, kind, skill) with one
  GROUP BY: pieces, CSAT sum and number of rated records. The skill is the
  record's own (or none).
- **Courses passed**: ``learning.CoursePassCredit`` earned on a day of the period.
- **Adjustments**: those filed into the period.

Rates: the site's rate card in force on the period's first day. A site with no
card yet pays the site setting ``base_hourly_pay_minor`` per hour for every
tier and nothing per piece.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import Select, case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, Skill, User
from backend.accounts.site_settings import site_settings
from backend.core.db import utcnow
from backend.core.slots import SLOT_MINUTES, local_day_slots, local_midnight, slot_of, time_zone, utc_start
from backend.learning.models import CoursePassCredit
from backend.pay.models import Adjustment, PayPeriod, RateCard
from backend.pay.rates import Rates
from backend.pay.settlement import AdjustmentIn, AgentWork, Credit, Pieces, WorkedShift
from backend.shifts.models import Attendance, CoverRequest, CoverStatus, Shift, ShiftSeat
from backend.work.models import WorkRecord

CHUNK = 500  # agents gathered per round of queries
STREAM_ROWS = 5000  # grouped piece rows fetched at a time


@dataclass(frozen=True)
class Window:
    """A period's days in the site's time zone: UTC bounds of each local day, and the slots they span."""

    zone: ZoneInfo
    days: list[dt.date]
    bounds: list[dt.datetime]  # len(days) + 1 UTC instants: each local midnight, then the end
    slots: range

    @classmethod
    def of(cls, period: PayPeriod, timezone: str) -> Window:
        zone = time_zone(timezone)
        count = (period.ends_on - period.starts_on).days
        days = [period.starts_on + dt.timedelta(days=n) for n in range(count)]
        bounds = [local_midnight(period.starts_on + dt.timedelta(days=n), zone) for n in range(count + 1)]
        return cls(
            zone=zone,
            days=days,
            bounds=[utc_start(slot_of(moment)) for moment in bounds],
            slots=local_day_slots(period.starts_on, zone, days=count),
        )

    def day_of_slot(self, slot: int) -> dt.date:
        return utc_start(slot).astimezone(self.zone).date()


async def rates_for(session: AsyncSession, *, site_id: int, on: dt.date) -> tuple[RateCard, Rates] | None:
    """The site's rate card in force on ``on`` (the latest that took effect on or before it) and its rates."""
    card = await session.scalar(
        select(RateCard)
        .where(RateCard.site_id == site_id, RateCard.effective_from <= on)
        .order_by(RateCard.effective_from.desc())
        .limit(1)
    )
    if card is None:
        return None
    return card, msgspec.convert(card.rates, Rates)


def fallback_rates(site: Site) -> Rates:
    """Before any rate card: the site's hourly base for every tier, nothing per piece, no bonuses."""
    base = site_settings(site).base_hourly_pay_minor
    return Rates(base_hourly_minor={"junior": base, "mid": base, "senior": base})


async def period_rates(session: AsyncSession, *, period: PayPeriod, site: Site | None = None) -> Rates:
    """The rates a period pays by: the card in force on its first day, or the site's fallback."""
    found = await rates_for(session, site_id=period.site_id, on=period.starts_on)
    if found is not None:
        return found[1]
    site = site or await session.get(Site, period.site_id)
    assert site is not None
    return fallback_rates(site)


# The queries, each for a set of agents ---------------------------------------------------------------------


async def _shifts(
    session: AsyncSession, *, period: PayPeriod, window: Window, user_ids: list[int], now: dt.datetime, rates: Rates
) -> dict[int, list[WorkedShift]]:
    covered = exists().where(
        CoverRequest.shift_id == Shift.id,
        CoverRequest.covered_by_id == ShiftSeat.user_id,
        CoverRequest.status == CoverStatus.covered,
    )
    query = (
        select(ShiftSeat.user_id, Shift.id, Shift.start_slot, Shift.end_slot, Shift.bonus_minor, Skill.code, covered)
        .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
        .join(Skill, Skill.id == Shift.skill_id)
        .outerjoin(Attendance, Attendance.seat_id == ShiftSeat.id)
        .where(Shift.site_id == period.site_id, Shift.cancelled_at.is_(None))
        .where(Shift.start_slot >= window.slots.start, Shift.start_slot < window.slots.stop)
        .where(Shift.end_slot <= slot_of(now))
        .where(ShiftSeat.user_id.in_(user_ids), ShiftSeat.released_at.is_(None))
        .where(Attendance.no_show_at.is_(None))
        .order_by(ShiftSeat.user_id, Shift.start_slot, Shift.id)
    )
    found: dict[int, list[WorkedShift]] = defaultdict(list)
    for user_id, shift_id, start, end, bonus, skill_code, was_cover in await session.execute(query):
        urgent = bonus if bonus and bonus > 0 else (rates.urgent_bonus_minor if was_cover else 0)
        found[user_id].append(
            WorkedShift(
                shift_id=shift_id,
                day=window.day_of_slot(start),
                skill_code=skill_code,
                minutes=(end - start) * SLOT_MINUTES,
                urgent_bonus_minor=urgent,
            )
        )
    return found


def _records_in(period: PayPeriod, window: Window) -> list[object]:
    return [
        WorkRecord.site_id == period.site_id,
        WorkRecord.occurred_at >= window.bounds[0],
        WorkRecord.occurred_at < window.bounds[-1],
    ]


def _pieces_query(period: PayPeriod, window: Window, user_ids: list[int] | None) -> Select[Any]:
    """Work records summed per (agent, day index, kind, skill code), ordered by agent: one GROUP BY."""
    day_index = case(
        *[(WorkRecord.occurred_at < bound, index) for index, bound in enumerate(window.bounds[1:])],
        else_=len(window.days) - 1,
    )
    inner = select(
        WorkRecord.user_id,
        WorkRecord.kind,
        WorkRecord.skill_id,
        WorkRecord.count,
        WorkRecord.csat,
        day_index.label("day"),
    ).where(*_records_in(period, window))
    if user_ids is not None:
        inner = inner.where(WorkRecord.user_id.in_(user_ids))
    records = inner.subquery()
    return (
        select(
            records.c.user_id,
            records.c.day,
            records.c.kind,
            Skill.code,
            func.coalesce(func.sum(records.c.count), 0),
            func.coalesce(func.sum(records.c.csat), 0),
            func.count(records.c.csat),
        )
        .outerjoin(Skill, Skill.id == records.c.skill_id)
        .group_by(records.c.user_id, records.c.day, records.c.kind, Skill.code)
        .order_by(records.c.user_id)
    )


def _piece_of(window: Window, row: Any) -> Pieces:
    _user_id, day, kind, skill_code, count, csat_sum, csat_count = row
    return Pieces(
        day=window.days[int(day)],
        kind=str(getattr(kind, "value", kind)),
        skill_code=skill_code,
        count=int(count),
        csat_sum=int(csat_sum),
        csat_count=int(csat_count),
    )


def _sorted_pieces(groups: list[Pieces]) -> list[Pieces]:
    return sorted(groups, key=lambda p: (p.day, p.kind, p.skill_code or ""))


async def _pieces(
    session: AsyncSession, *, period: PayPeriod, window: Window, user_ids: list[int]
) -> dict[int, list[Pieces]]:
    found: dict[int, list[Pieces]] = defaultdict(list)
    for row in await session.execute(_pieces_query(period, window, user_ids)):
        found[row[0]].append(_piece_of(window, row))
    return {user_id: _sorted_pieces(groups) for user_id, groups in found.items()}


async def _credits(
    session: AsyncSession, *, period: PayPeriod, window: Window, user_ids: list[int]
) -> dict[int, list[Credit]]:
    query = (
        select(CoursePassCredit.user_id, CoursePassCredit.earned_at, CoursePassCredit.amount_minor)
        .join(User, User.id == CoursePassCredit.user_id)
        .where(User.site_id == period.site_id, CoursePassCredit.user_id.in_(user_ids))
        .where(CoursePassCredit.earned_at >= window.bounds[0], CoursePassCredit.earned_at < window.bounds[-1])
        .order_by(CoursePassCredit.user_id, CoursePassCredit.earned_at, CoursePassCredit.id)
    )
    found: dict[int, list[Credit]] = defaultdict(list)
    for user_id, earned_at, amount in await session.execute(query):
        found[user_id].append(Credit(day=earned_at.astimezone(window.zone).date(), note="", amount_minor=amount))
    return found


async def _adjustments(
    session: AsyncSession, *, period: PayPeriod, user_ids: list[int]
) -> dict[int, list[AdjustmentIn]]:
    query = (
        select(Adjustment.user_id, Adjustment.id, Adjustment.amount_minor, Adjustment.reason)
        .where(Adjustment.period_id == period.id, Adjustment.user_id.in_(user_ids))
        .order_by(Adjustment.user_id, Adjustment.id)
    )
    found: dict[int, list[AdjustmentIn]] = defaultdict(list)
    for user_id, adjustment_id, amount, reason in await session.execute(query):
        found[user_id].append(AdjustmentIn(adjustment_id=adjustment_id, amount_minor=amount, reason=reason))
    return found


async def _people(session: AsyncSession, user_ids: list[int]) -> dict[int, tuple[str, str]]:
    """Each agent's tier and name, now."""
    rows = await session.execute(select(User.id, User.tier, User.display_name).where(User.id.in_(user_ids)))
    return {user_id: (str(getattr(tier, "value", tier)), name) for user_id, tier, name in rows}


async def _work_of(
    session: AsyncSession,
    *,
    period: PayPeriod,
    window: Window,
    user_ids: list[int],
    now: dt.datetime,
    rates: Rates,
    pieces: dict[int, list[Pieces]] | None = None,
) -> list[AgentWork]:
    shifts = await _shifts(session, period=period, window=window, user_ids=user_ids, now=now, rates=rates)
    if pieces is None:
        pieces = await _pieces(session, period=period, window=window, user_ids=user_ids)
    credits = await _credits(session, period=period, window=window, user_ids=user_ids)
    adjustments = await _adjustments(session, period=period, user_ids=user_ids)
    people = await _people(session, user_ids)
    return [
        AgentWork(
            user_id=user_id,
            tier=people[user_id][0],
            display_name=people[user_id][1],
            shifts=shifts.get(user_id, []),
            pieces=pieces.get(user_id, []),
            credits=credits.get(user_id, []),
            adjustments=adjustments.get(user_id, []),
        )
        for user_id in user_ids
        if user_id in people
    ]


async def _site_of(session: AsyncSession, period: PayPeriod) -> Site:
    site = await session.get(Site, period.site_id)
    assert site is not None
    return site


async def agent_work(
    session: AsyncSession, *, period: PayPeriod, user_id: int, now: dt.datetime | None = None
) -> AgentWork:
    """One agent's work in the period so far (live earnings): shifts that have ended by ``now``."""
    site = await _site_of(session, period)
    window = Window.of(period, site.timezone)
    rates = await period_rates(session, period=period, site=site)
    found = await _work_of(session, period=period, window=window, user_ids=[user_id], now=now or utcnow(), rates=rates)
    if found:
        return found[0]
    return AgentWork(user_id=user_id, tier="junior")


async def period_user_ids(session: AsyncSession, *, period: PayPeriod, now: dt.datetime | None = None) -> list[int]:
    """Every agent with anything in the period (a shift, a work record, a course passed, an adjustment), by id."""
    site = await _site_of(session, period)
    window = Window.of(period, site.timezone)
    now = now or utcnow()
    seats = (
        select(ShiftSeat.user_id)
        .join(Shift, Shift.id == ShiftSeat.shift_id)
        .outerjoin(Attendance, Attendance.seat_id == ShiftSeat.id)
        .where(Shift.site_id == period.site_id, Shift.cancelled_at.is_(None))
        .where(Shift.start_slot >= window.slots.start, Shift.start_slot < window.slots.stop)
        .where(Shift.end_slot <= slot_of(now), ShiftSeat.released_at.is_(None), Attendance.no_show_at.is_(None))
    )
    records = select(WorkRecord.user_id).where(*_records_in(period, window)).distinct()
    credits = (
        select(CoursePassCredit.user_id)
        .join(User, User.id == CoursePassCredit.user_id)
        .where(User.site_id == period.site_id)
        .where(CoursePassCredit.earned_at >= window.bounds[0], CoursePassCredit.earned_at < window.bounds[-1])
    )
    adjustments = select(Adjustment.user_id).where(Adjustment.period_id == period.id)
    ids: set[int] = set()
    for query in (seats, records, credits, adjustments):
        ids.update(await session.scalars(query))
    return sorted(ids)


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


async def period_work(
    session: AsyncSession, *, period: PayPeriod, now: dt.datetime | None = None
) -> AsyncIterator[AgentWork]:
    """Every agent with anything in the period, by user id.

    The pieces come from ONE grouped query over the period's records, streamed in agent order; shifts,
    courses and adjustments are read ``CHUNK`` agents at a time alongside it.
    """
    site = await _site_of(session, period)
    window = Window.of(period, site.timezone)
    rates = await period_rates(session, period=period, site=site)
    now = now or utcnow()
    user_ids = await period_user_ids(session, period=period, now=now)
    stream = await session.stream(_pieces_query(period, window, None).execution_options(yield_per=STREAM_ROWS))
    rows = aiter(stream)
    pending: Any = await anext(rows, None)
    try:
        for chunk in _chunks(user_ids, CHUNK):
            pieces: dict[int, list[Pieces]] = defaultdict(list)
            last = chunk[-1]
            while pending is not None and pending[0] <= last:
                pieces[pending[0]].append(_piece_of(window, pending))
                pending = await anext(rows, None)
            sorted_pieces = {user_id: _sorted_pieces(groups) for user_id, groups in pieces.items()}
            works = await _work_of(
                session, period=period, window=window, user_ids=chunk, now=now, rates=rates, pieces=sorted_pieces
            )
            for work in works:
                yield work
    finally:
        await stream.close()
