"""The week dashboard: how the week's seats were filled, how the marketplace moved, swaps and cover.

For one site-local ISO week, over the shifts starting in it that were not cancelled (rostered, open
and extra shifts alike):

- **Fill rate**: seats taken over seats offered, by skill and by the local day the shift starts.
- **Open seats left**: seats not taken on shifts that have not started yet (at ``now``).
- **Claims and releases**: per local day of the week, seats taken on the marketplace (a seat on a
  shift that is not the roster's own, or on a rostered shift given back, taken after it went on the
  marketplace) and seats given back, on any of the site's shifts.
- **Time to fill**: from a shift going on the marketplace (``opened_at``: the publish time for the
  roster's gaps) to each of its seats being claimed and kept (a seat given back again did not fill it); the
  median, in minutes, over the week's shifts.
- **Swaps**: the week's shifts' swaps, counted by status.
- **Cover requests**: the week's shifts' requests, how many were covered, and the median minutes from
  the request to its cover.

A constant handful of GROUP BY queries, whatever the size of the centre.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from backend.accounts.models import Site, Skill, skill_label
from backend.accounts.zones import site_zone
from backend.core.slots import IsoWeek, local_day_slots, slot_of, utc_start
from backend.shifts.models import CoverRequest, CoverStatus, Shift, ShiftOrigin, ShiftSeat, ShiftSwap, SwapStatus


@dataclass(frozen=True)
class Fill:
    offered: int = 0
    taken: int = 0
    open_left: int = 0

    @property
    def rate_percent(self) -> float | None:
        return round(100 * self.taken / self.offered, 1) if self.offered else None

    def __add__(self, other: Fill) -> Fill:
        return Fill(self.offered + other.offered, self.taken + other.taken, self.open_left + other.open_left)


@dataclass(frozen=True)
class SkillFill:
    skill_id: int
    label: str
    days: list[Fill]
    total: Fill


@dataclass(frozen=True)
class WeekReport:
    week: IsoWeek
    days: list[dt.date]
    skills: list[SkillFill]
    by_day: list[Fill]
    total: Fill
    claims: list[int]  # per day of the week
    releases: list[int]
    fills: int  # seats claimed and kept on the week's shifts, with a time on the marketplace
    fill_median_minutes: float | None
    swaps: list[tuple[SwapStatus, int]]
    cover_requests: int
    cover_covered: int
    cover_median_minutes: float | None

    @property
    def empty(self) -> bool:
        return not (self.total.offered or any(self.claims) or any(self.releases) or self.cover_requests)


def _day_case(column: Any, bounds: list[tuple[Any, Any]]) -> ColumnElement[Any]:
    """The index of the day ``column`` falls in (``[start, end)`` per day), else NULL."""
    return case(*[(and_(column >= start, column < end), index) for index, (start, end) in enumerate(bounds)])


def _minutes(start: dt.datetime, end: dt.datetime) -> float:
    return (end - start).total_seconds() / 60


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


async def week_report(session: AsyncSession, *, site: Site, week: IsoWeek, now: dt.datetime) -> WeekReport:
    zone = site_zone(site)
    days = week.days()
    day_slots = [local_day_slots(day, zone) for day in days]
    slot_bounds = [(slots.start, slots.stop) for slots in day_slots]
    time_bounds = [(utc_start(start), utc_start(stop)) for start, stop in slot_bounds]
    slots = week.slots(zone)
    in_week = and_(
        Shift.site_id == site.id,
        Shift.cancelled_at.is_(None),
        Shift.start_slot >= slots.start,
        Shift.start_slot < slots.stop,
    )
    now_slot = slot_of(now)

    day = _day_case(Shift.start_slot, slot_bounds).label("day")
    fills = await session.execute(
        select(
            Shift.skill_id,
            day,
            func.sum(Shift.seats),
            func.sum(Shift.taken),
            func.sum(case((Shift.start_slot >= now_slot, Shift.seats - Shift.taken), else_=0)),
        )
        .where(in_week)
        .group_by(Shift.skill_id, day)
    )
    grid: dict[int, list[Fill]] = {}
    for skill_id, index, offered, taken, open_left in fills:
        grid.setdefault(skill_id, [Fill() for _ in days])[index] = Fill(int(offered), int(taken), int(open_left))
    skills = {skill.id: skill for skill in await session.scalars(select(Skill).where(Skill.site_id == site.id))}
    by_skill = sorted(
        (
            SkillFill(skill_id, skill_label(skills.get(skill_id)), row, sum(row, Fill()))
            for skill_id, row in grid.items()
        ),
        key=lambda s: s.label.casefold(),
    )
    by_day = [sum((s.days[i] for s in by_skill), Fill()) for i in range(len(days))]

    claim = or_(
        Shift.origin != ShiftOrigin.roster,
        and_(Shift.opened_at.is_not(None), ShiftSeat.taken_at >= Shift.opened_at),
    )
    claims = [0] * len(days)
    releases = [0] * len(days)
    week_start, week_end = time_bounds[0][0], time_bounds[-1][1]
    claimed_day = _day_case(ShiftSeat.taken_at, time_bounds).label("day")
    for index, count in await session.execute(
        select(claimed_day, func.count())
        .join(Shift, Shift.id == ShiftSeat.shift_id)
        .where(Shift.site_id == site.id, claim, ShiftSeat.taken_at >= week_start, ShiftSeat.taken_at < week_end)
        .group_by(claimed_day)
    ):
        claims[index] = int(count)
    released_day = _day_case(ShiftSeat.released_at, time_bounds).label("day")
    for index, count in await session.execute(
        select(released_day, func.count())
        .join(Shift, Shift.id == ShiftSeat.shift_id)
        .where(Shift.site_id == site.id, ShiftSeat.released_at >= week_start, ShiftSeat.released_at < week_end)
        .group_by(released_day)
    ):
        releases[index] = int(count)

    waits = [
        _minutes(opened_at, taken_at)
        for opened_at, taken_at in await session.execute(
            select(Shift.opened_at, ShiftSeat.taken_at)
            .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
            .where(in_week, Shift.opened_at.is_not(None), ShiftSeat.taken_at >= Shift.opened_at)
            .where(ShiftSeat.released_at.is_(None))
        )
    ]

    swap_counts = dict(
        (status, int(count))
        for status, count in await session.execute(
            select(ShiftSwap.status, func.count())
            .join(Shift, Shift.id == ShiftSwap.shift_id)
            .where(in_week)
            .group_by(ShiftSwap.status)
        )
    )
    swaps = [(status, swap_counts.get(status, 0)) for status in SwapStatus]

    requests = list(
        await session.execute(
            select(CoverRequest.status, CoverRequest.created_at, CoverRequest.covered_at)
            .join(Shift, Shift.id == CoverRequest.shift_id)
            .where(in_week)
        )
    )
    covered = [
        _minutes(created_at, covered_at)
        for status, created_at, covered_at in requests
        if status is CoverStatus.covered and covered_at is not None
    ]
    return WeekReport(
        week=week,
        days=days,
        skills=by_skill,
        by_day=by_day,
        total=sum(by_day, Fill()),
        claims=claims,
        releases=releases,
        fills=len(waits),
        fill_median_minutes=_median(waits),
        swaps=swaps,
        cover_requests=len(requests),
        cover_covered=len(covered),
        cover_median_minutes=_median(covered),
    )
