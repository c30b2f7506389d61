"""Gather: what an agent did in a pay period, read from the database and aggregated in SQL.

The inputs of ``settlement.settle_lines`` (see its rules):

- **Worked shifts**: seats the agent holds on shifts of the site, not
  cancelled, that started on a site-local day of the period and have ended by
  ``now``, without a no-show (a waived no-show still earns nothing). A seat
  given away (released) is not the agent's. The urgent bonus is the shift's
  own ``bonus_minor`` when above 0, else the rate card's ``urgent_bonus_minor``
  when the agent filled the seat by accepting a cover request, else 0.
  A seat's worked time ends at its extension (``extended_to_slot``) or, after
  a VTO, where the release starts (``vto_from_slot``); the released rest is
  standby time when the seat carries a ``standby_percent``.
- **Pieces**: the site's work records whose ``occurred_at`` falls on a
  site-local day of the period, summed per (agent, day, kind, skill) with one
  GROUP BY: pieces, CSAT sum and number of rated records. The skill is the
  record's own (or none). Once the period is locked, only the records stored
  before its lock (``PayPeriod.records_through_id``) are its own.
- **Late work**: records dated in an earlier, locked period that arrived
  after that period's lock. Each is paid by the first period that was open
  when it arrived: the one right after the last period locked before it
  (periods lock in order, so a record stored after the previous period's
  lock, and before this one's if it is locked, is this period's). Summed per
  (agent, day worked, kind, skill), each group remembers the period it is
  dated in. Records dated before the site's first period belong to no period.
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
from backend.shifts.models import Attendance, CoverRequest, CoverStatus, Shift, ShiftOrigin, ShiftSeat
from backend.work.models import WorkRecord

Days = tuple[dt.date, dt.date]  # a period's first and last day
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
    seat_end = func.coalesce(ShiftSeat.extended_to_slot, Shift.end_slot)
    query = (
        select(
            ShiftSeat.user_id,
            Shift.id,
            Shift.start_slot,
            seat_end,
            Shift.bonus_minor,
            Skill.code,
            covered,
            ShiftSeat.vto_from_slot,
            ShiftSeat.standby_percent,
            Shift.origin,
        )
        .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
        .join(Skill, Skill.id == Shift.skill_id)
        .outerjoin(Attendance, Attendance.seat_id == ShiftSeat.id)
        .where(Shift.site_id == period.site_id, Shift.cancelled_at.is_(None))
        .where(Shift.start_slot >= window.slots.start, Shift.start_slot < window.slots.stop)
        .where(seat_end <= slot_of(now))
        .where(ShiftSeat.user_id.in_(user_ids), ShiftSeat.released_at.is_(None))
        .where(Attendance.no_show_at.is_(None))
        .order_by(ShiftSeat.user_id, Shift.start_slot, Shift.id)
    )
    found: dict[int, list[WorkedShift]] = defaultdict(list)
    for user_id, shift_id, start, end, bonus, skill_code, was_cover, vto_from, standby, origin in await session.execute(
        query
    ):
        urgent = bonus if bonus and bonus > 0 else (rates.urgent_bonus_minor if was_cover else 0)
        worked_end = end if vto_from is None else max(start, min(vto_from, end))
        found[user_id].append(
            WorkedShift(
                shift_id=shift_id,
                day=window.day_of_slot(start),
                skill_code=skill_code,
                minutes=(worked_end - start) * SLOT_MINUTES,
                urgent_bonus_minor=urgent if worked_end > start else 0,
                standby_minutes=(end - worked_end) * SLOT_MINUTES,
                standby_percent=standby or 0,
                vot=origin == ShiftOrigin.vot,
            )
        )
    return found


def _records_in(period: PayPeriod, window: Window) -> list[object]:
    """The period's own records: dated in it and, once it is locked, stored before the lock."""
    conditions: list[object] = [
        WorkRecord.site_id == period.site_id,
        WorkRecord.occurred_at >= window.bounds[0],
        WorkRecord.occurred_at < window.bounds[-1],
    ]
    if period.records_through_id is not None:
        conditions.append(WorkRecord.id <= period.records_through_id)
    return conditions


@dataclass(frozen=True)
class LateScope:
    """The records a period pays late: dated from the site's first period to before this one, stored after the
    previous period's lock (``after_id``) and, once this period is locked, before its own (``through_id``)."""

    since: dt.datetime
    before: dt.datetime
    after_id: int
    through_id: int | None

    def conditions(self, site_id: int) -> list[object]:
        found: list[object] = [
            WorkRecord.site_id == site_id,
            WorkRecord.occurred_at >= self.since,
            WorkRecord.occurred_at < self.before,
            WorkRecord.id > self.after_id,
        ]
        if self.through_id is not None:
            found.append(WorkRecord.id <= self.through_id)
        return found


async def late_scope(session: AsyncSession, *, period: PayPeriod, window: Window) -> LateScope | None:
    """Where the period's late work comes from; None while the period before it is open (or there is none), as
    late work is then that period's to pay."""
    previous_through = await session.scalar(
        select(PayPeriod.records_through_id).where(
            PayPeriod.site_id == period.site_id, PayPeriod.ends_on == period.starts_on
        )
    )
    if previous_through is None:
        return None
    first_day = await session.scalar(select(func.min(PayPeriod.starts_on)).where(PayPeriod.site_id == period.site_id))
    assert first_day is not None
    since = utc_start(slot_of(local_midnight(first_day, window.zone)))
    return LateScope(
        since=since, before=window.bounds[0], after_id=previous_through, through_id=period.records_through_id
    )


async def periods_containing(session: AsyncSession, *, site_id: int, days: set[dt.date]) -> dict[dt.date, Days]:
    """The first and last day of the site's period containing each of ``days`` (where one does)."""
    if not days:
        return {}
    rows = await session.execute(
        select(PayPeriod.starts_on, PayPeriod.ends_on).where(
            PayPeriod.site_id == site_id, PayPeriod.starts_on <= max(days), PayPeriod.ends_on > min(days)
        )
    )
    spans = [(start, end) for start, end in rows]
    return {day: (start, end - dt.timedelta(days=1)) for day in days for start, end in spans if start <= day < end}


async def _late_pieces(
    session: AsyncSession, *, period: PayPeriod, window: Window, user_ids: list[int] | None
) -> dict[int, list[Pieces]]:
    """The late work the period pays, per agent, summed per (day worked, kind, skill) with the period it is from."""
    scope = await late_scope(session, period=period, window=window)
    if scope is None:
        return {}
    query = (
        select(
            WorkRecord.user_id, WorkRecord.occurred_at, WorkRecord.kind, Skill.code, WorkRecord.count, WorkRecord.csat
        )
        .outerjoin(Skill, Skill.id == WorkRecord.skill_id)
        .where(*scope.conditions(period.site_id))
        .order_by(WorkRecord.user_id, WorkRecord.occurred_at, WorkRecord.id)
    )
    if user_ids is not None:
        query = query.where(WorkRecord.user_id.in_(user_ids))
    sums: dict[tuple[int, dt.date, str, str | None], list[int]] = {}
    for user_id, occurred_at, kind, skill_code, count, csat in await session.execute(query):
        key = (user_id, occurred_at.astimezone(window.zone).date(), str(getattr(kind, "value", kind)), skill_code)
        totals = sums.setdefault(key, [0, 0, 0])
        totals[0] += count
        if csat is not None:
            totals[1] += csat
            totals[2] += 1
    origins = await periods_containing(session, site_id=period.site_id, days={key[1] for key in sums})
    found: dict[int, list[Pieces]] = defaultdict(list)
    for (user_id, day, kind, skill_code), (count, csat_sum, csat_count) in sums.items():
        found[user_id].append(
            Pieces(
                day=day,
                kind=kind,
                skill_code=skill_code,
                count=count,
                csat_sum=csat_sum,
                csat_count=csat_count,
                late_from=origins.get(day, (day, day)),
            )
        )
    return found


async def late_work(session: AsyncSession, *, period: PayPeriod) -> dict[int, list[Pieces]]:
    """Every agent's late work the period pays (finance's view of an open period, before its lock)."""
    site = await _site_of(session, period)
    return await _late_pieces(session, period=period, window=Window.of(period, site.timezone), user_ids=None)


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
    late = await _late_pieces(session, period=period, window=window, user_ids=user_ids)
    credits = await _credits(session, period=period, window=window, user_ids=user_ids)
    adjustments = await _adjustments(session, period=period, user_ids=user_ids)
    people = await _people(session, user_ids)
    return [
        AgentWork(
            user_id=user_id,
            tier=people[user_id][0],
            display_name=people[user_id][1],
            shifts=shifts.get(user_id, []),
            pieces=[*late.get(user_id, []), *pieces.get(user_id, [])],
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
    """Every agent with anything in the period (a shift, a work record, late work, a course passed, an adjustment),
    by id."""
    site = await _site_of(session, period)
    window = Window.of(period, site.timezone)
    now = now or utcnow()
    seats = (
        select(ShiftSeat.user_id)
        .join(Shift, Shift.id == ShiftSeat.shift_id)
        .outerjoin(Attendance, Attendance.seat_id == ShiftSeat.id)
        .where(Shift.site_id == period.site_id, Shift.cancelled_at.is_(None))
        .where(Shift.start_slot >= window.slots.start, Shift.start_slot < window.slots.stop)
        .where(func.coalesce(ShiftSeat.extended_to_slot, Shift.end_slot) <= slot_of(now))
        .where(ShiftSeat.released_at.is_(None), Attendance.no_show_at.is_(None))
    )
    records = select(WorkRecord.user_id).where(*_records_in(period, window)).distinct()
    credits = (
        select(CoursePassCredit.user_id)
        .join(User, User.id == CoursePassCredit.user_id)
        .where(User.site_id == period.site_id)
        .where(CoursePassCredit.earned_at >= window.bounds[0], CoursePassCredit.earned_at < window.bounds[-1])
    )
    adjustments = select(Adjustment.user_id).where(Adjustment.period_id == period.id)
    queries: list[Select[Any]] = [seats, records, credits, adjustments]
    scope = await late_scope(session, period=period, window=window)
    if scope is not None:
        queries.append(select(WorkRecord.user_id).where(*scope.conditions(period.site_id)).distinct())
    ids: set[int] = set()
    for query in queries:
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
