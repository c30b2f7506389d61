"""The daily report and the duty KPIs: loaded in a few set-based queries, shaped into rows a page and a CSV share.

Times in the rows are already in the site's zone (a page prints ``HH:MM``, a CSV the ISO form with its offset),
and figures are rounded once here, so a page and its CSV always show the same numbers.

What the daily report counts, for one local day of the site:
    - coverage per skill: hours needed (the plan's staffing need), scheduled (seats held) and started (seats whose
      agent pressed Start), from ``ops.day_need``; a half-hour is *short* when fewer agents started than needed
      (for half-hours that have begun) or fewer hold seats than needed (for those still to come);
    - no-shows and late starts on the shifts that start that day (late: started more than the site's
      ``late_after_minutes`` after the start; *not started*: no start and no no-show by then);
    - cover requests made that day, and minutes from each request to its cover (median over the filled ones);
    - VTO and VOT calls (and extension offers) over that day's half-hours: how many were wanted, asked, granted;
    - duty log items that started that day, with minutes to their first action;
    - the handover of each duty that starts that day (``ops.handover.handover_status``): on time, late, missing,
      or not due yet; acknowledged or not; its items and those still open.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, Skill, User, localized_skill_name
from backend.accounts.service import person_labels
from backend.accounts.site_settings import site_settings
from backend.accounts.zones import site_zone
from backend.core.slots import IsoWeek, hours, utc_start
from backend.ops.clock import day_bounds, day_slots, site_today
from backend.ops.day_need import DayNeeds, day_needs
from backend.ops.handover import HandoverState, handover_status
from backend.ops.kpis import DutyRow, ItemRow, LeadKpis, minutes_between, week_kpis
from backend.ops.models import Duty, DutyLogItem, DutyLogUpdate, Handover, LogKind, LogStatus
from backend.shifts.intraday import site_calls
from backend.shifts.models import Attendance, CallKind, CoverReason, CoverRequest, CoverStatus, Shift, ShiftSeat

# Rows --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageRow:
    skill_id: int
    skill: str
    hours_needed: float
    hours_scheduled: float
    hours_started: float
    short_half_hours: int


@dataclass(frozen=True)
class AttendanceRow:
    """A seat whose agent did not turn up, or turned up late (``minutes_late``)."""

    user_id: int
    name: str
    skill: str
    starts: dt.datetime
    ends: dt.datetime
    what: str  # "no_show", "late" or "not_started"
    minutes_late: int | None
    started: dt.datetime | None
    waived: bool


@dataclass(frozen=True)
class CoverRow:
    cover_id: int
    skill: str
    shift_starts: dt.datetime
    reason: CoverReason
    status: CoverStatus
    absent: str
    created: dt.datetime
    covered: dt.datetime | None
    covered_by: str
    minutes_to_fill: float | None
    wave: int
    bonus_minor: int


@dataclass(frozen=True)
class CallRow:
    """A VTO or VOT call (or an extension offer) and how many took it."""

    call_id: int
    kind: CallKind
    skill: str
    starts: dt.datetime
    ends: dt.datetime
    wanted: int
    asked: int
    granted: int
    standby_percent: int
    bonus_minor: int


@dataclass(frozen=True)
class LogRow:
    item_id: int
    kind: LogKind
    status: LogStatus
    summary: str
    started: dt.datetime
    first_action_minutes: float | None
    closed: dt.datetime | None


@dataclass(frozen=True)
class HandoverRow:
    duty_id: int
    lead: str
    starts: dt.datetime
    ends: dt.datetime
    state: HandoverState
    submitted: dt.datetime | None
    acknowledged: dt.datetime | None
    handover_id: int | None
    items: int
    open_items: int


@dataclass(frozen=True)
class DayReport:
    """One local day of the site; a day after the site's today is empty (``future``)."""

    site: Site
    zone: ZoneInfo
    day: dt.date
    today: dt.date
    currency: str
    seats: int
    started: int
    coverage: list[CoverageRow] = field(default_factory=list)
    attendance: list[AttendanceRow] = field(default_factory=list)
    cover: list[CoverRow] = field(default_factory=list)
    calls: list[CallRow] = field(default_factory=list)
    log: list[LogRow] = field(default_factory=list)
    handovers: list[HandoverRow] = field(default_factory=list)

    @property
    def future(self) -> bool:
        return self.day > self.today

    @property
    def has_data(self) -> bool:
        needed = any(row.hours_needed for row in self.coverage)
        return bool(self.seats or self.cover or self.calls or self.log or self.handovers or needed)

    @property
    def no_shows(self) -> int:
        return sum(row.what == "no_show" for row in self.attendance)

    @property
    def late_starts(self) -> int:
        return sum(row.what == "late" for row in self.attendance)

    @property
    def cover_median_minutes(self) -> float | None:
        waits = [row.minutes_to_fill for row in self.cover if row.minutes_to_fill is not None]
        return round(statistics.median(waits), 1) if waits else None

    @property
    def covered(self) -> int:
        return sum(row.status == CoverStatus.covered for row in self.cover)


# Shared helpers ----------------------------------------------------------------------------------------------


def week_bounds(zone: ZoneInfo, week: IsoWeek) -> tuple[dt.datetime, dt.datetime]:
    slots = week.slots(zone)
    return utc_start(slots.start), utc_start(slots.stop)


async def _labels(session: AsyncSession, user_ids: Iterable[int | None]) -> dict[int, str]:
    """The people a report names, in one query, as every staff list names them (namesakes told apart)."""
    wanted = sorted({user_id for user_id in user_ids if user_id is not None})
    if not wanted:
        return {}
    return person_labels(await session.scalars(select(User).where(User.id.in_(wanted))))


def _minutes(start: dt.datetime, end: dt.datetime | None) -> float | None:
    return None if end is None else round(minutes_between(start, end), 1)


# The daily report --------------------------------------------------------------------------------------------


async def day_report(
    session: AsyncSession, *, site: Site, day: dt.date, now: dt.datetime, coverage: bool = True
) -> DayReport:
    """Everything the daily report shows for ``day``; a day after the site's today has no data yet.

    ``coverage=False`` leaves the coverage table out (and the plan's forecast it costs): a CSV of another table."""
    zone = site_zone(site)
    settings = site_settings(site)
    today = site_today(site, now)
    report = DayReport(site=site, zone=zone, day=day, today=today, currency=settings.currency, seats=0, started=0)
    if day > today:
        return report
    start, end = day_bounds(site, day)
    slots = day_slots(site, day)
    seats = await _seat_rows(session, site_id=site.id, slots=slots)
    late_after = dt.timedelta(minutes=settings.late_after_minutes)
    missed = _missed(seats, late_after=late_after, now=now)
    covers = await _cover_rows(session, site_id=site.id, start=start, end=end)
    calls = await site_calls(session, site_id=site.id, day_slots=slots)
    items = await _log_rows(session, site_id=site.id, start=start, end=end)
    handovers = await handover_status(session, site_id=site.id, start=start, end=end, now=now)
    names = await _labels(
        session,
        [seat.user_id for seat, _what, _late in missed]
        + [row[0].absent_user_id for row in covers]
        + [row[0].covered_by_id for row in covers],
    )
    needs = await day_needs(session, site=site, day=day, now=now) if coverage else None
    return DayReport(
        site=site,
        zone=zone,
        day=day,
        today=today,
        currency=settings.currency,
        seats=len(seats),
        started=sum(seat.started_at is not None for seat in seats),
        coverage=_coverage(needs) if needs else [],
        attendance=[_attendance(seat, what, late, names, zone) for seat, what, late in missed],
        cover=[_cover(row, names, zone) for row in covers],
        calls=[
            CallRow(
                call_id=call.call_id,
                kind=call.kind,
                skill=call.skill_label,
                starts=utc_start(call.start_slot).astimezone(zone),
                ends=utc_start(call.end_slot).astimezone(zone),
                wanted=call.wanted,
                asked=call.asked,
                granted=call.granted,
                standby_percent=call.standby_percent,
                bonus_minor=call.bonus_minor,
            )
            for call in calls
        ],
        log=[_log(item, zone) for item in items],
        handovers=[
            HandoverRow(
                duty_id=status.duty_id,
                lead=status.name,
                starts=status.starts_at.astimezone(zone),
                ends=status.ends_at.astimezone(zone),
                state=status.state,
                submitted=status.submitted_at.astimezone(zone) if status.submitted_at else None,
                acknowledged=status.acknowledged_at.astimezone(zone) if status.acknowledged_at else None,
                handover_id=status.handover_id,
                items=status.items,
                open_items=status.open_items,
            )
            for status in handovers
        ],
    )


def _coverage(needs: DayNeeds) -> list[CoverageRow]:
    """Per skill: hours needed, scheduled and started, and the half-hours short (started below the need where
    the half-hour has begun, scheduled below it where it is still to come)."""
    rows = []
    for skill in needs.skills:
        short = 0
        for required, scheduled, started in zip(skill.required, skill.scheduled, skill.started, strict=True):
            staffed = started if started is not None else scheduled
            short += (staffed or 0) < (required or 0)
        rows.append(
            CoverageRow(
                skill_id=skill.skill_id,
                skill=skill.label,
                hours_needed=hours(sum(n or 0 for n in skill.required)),
                hours_scheduled=hours(sum(n or 0 for n in skill.scheduled)),
                hours_started=hours(sum(n or 0 for n in skill.started)),
                short_half_hours=short,
            )
        )
    return rows


@dataclass(frozen=True)
class _Seat:
    user_id: int
    skill: str
    start_slot: int
    end_slot: int
    no_show_at: dt.datetime | None
    started_at: dt.datetime | None
    waived_at: dt.datetime | None


async def _seat_rows(session: AsyncSession, *, site_id: int, slots: range) -> list[_Seat]:
    """Every seat held on a shift that starts that day, or given up after a no-show (as ``day_board`` counts),
    in one narrow read: the CSVs that do not show coverage never pay for the plan."""
    query = (
        select(
            ShiftSeat.user_id,
            Skill.name,
            Skill.name_zh,
            Shift.start_slot,
            Shift.end_slot,
            ShiftSeat.extended_to_slot,
            ShiftSeat.vto_from_slot,
            Attendance.no_show_at,
            Attendance.started_at,
            Attendance.waived_at,
        )
        .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
        .join(Skill, Skill.id == Shift.skill_id)
        .outerjoin(Attendance, Attendance.seat_id == ShiftSeat.id)
        .where(Shift.site_id == site_id, Shift.start_slot >= slots.start, Shift.start_slot < slots.stop)
        .where(Shift.cancelled_at.is_(None))
        .where(or_(ShiftSeat.released_at.is_(None), Attendance.no_show_at.is_not(None)))
        .order_by(Shift.start_slot, Shift.id, ShiftSeat.user_id)
    )
    seats = []
    for user_id, name, name_zh, start, end, extended, vto, no_show, started, waived in await session.execute(query):
        worked_to = max(end, extended or end)  # an extension moves the end later, a VTO earlier (as seats_during)
        if vto is not None:
            worked_to = min(worked_to, vto)
        seats.append(_Seat(user_id, localized_skill_name(name, name_zh), start, worked_to, no_show, started, waived))
    return seats


def _missed(seats: list[_Seat], *, late_after: dt.timedelta, now: dt.datetime) -> list[tuple[_Seat, str, int | None]]:
    """The seats whose agent was a no-show, started late (with the minutes), or has not started once that is late."""
    missed = []
    for seat in seats:
        starts = utc_start(seat.start_slot)
        if seat.no_show_at is not None:
            missed.append((seat, "no_show", None))
        elif seat.started_at is not None:
            if seat.started_at - starts > late_after:
                missed.append((seat, "late", int((seat.started_at - starts).total_seconds() // 60)))
        elif now > starts + late_after:
            missed.append((seat, "not_started", None))
    return missed


def _attendance(
    seat: _Seat, what: str, minutes_late: int | None, names: dict[int, str], zone: ZoneInfo
) -> AttendanceRow:
    return AttendanceRow(
        user_id=seat.user_id,
        name=names.get(seat.user_id, ""),
        skill=seat.skill,
        starts=utc_start(seat.start_slot).astimezone(zone),
        ends=utc_start(seat.end_slot).astimezone(zone),
        what=what,
        minutes_late=minutes_late,
        started=seat.started_at.astimezone(zone) if seat.started_at else None,
        waived=seat.waived_at is not None,
    )


async def _cover_rows(
    session: AsyncSession, *, site_id: int, start: dt.datetime, end: dt.datetime
) -> list[tuple[CoverRequest, int, str, str]]:
    query = (
        select(CoverRequest, Shift.start_slot, Skill.name, Skill.name_zh)
        .join(Shift, Shift.id == CoverRequest.shift_id)
        .join(Skill, Skill.id == Shift.skill_id)
        .where(CoverRequest.site_id == site_id, CoverRequest.created_at >= start, CoverRequest.created_at < end)
        .order_by(CoverRequest.created_at, CoverRequest.id)
    )
    return [(row[0], row[1], row[2], row[3]) for row in await session.execute(query)]


def _cover(row: tuple[CoverRequest, int, str, str], names: dict[int, str], zone: ZoneInfo) -> CoverRow:
    request, start_slot, name, name_zh = row
    return CoverRow(
        cover_id=request.id,
        skill=localized_skill_name(name, name_zh),
        shift_starts=utc_start(start_slot).astimezone(zone),
        reason=request.reason,
        status=request.status,
        absent=names.get(request.absent_user_id, "") if request.absent_user_id else "",
        created=request.created_at.astimezone(zone),
        covered=request.covered_at.astimezone(zone) if request.covered_at else None,
        covered_by=names.get(request.covered_by_id, "") if request.covered_by_id else "",
        minutes_to_fill=_minutes(request.created_at, request.covered_at),
        wave=request.wave,
        bonus_minor=request.bonus_minor,
    )


async def _log_rows(session: AsyncSession, *, site_id: int, start: dt.datetime, end: dt.datetime) -> list[DutyLogItem]:
    query = (
        select(DutyLogItem)
        .where(DutyLogItem.site_id == site_id, DutyLogItem.started_at >= start, DutyLogItem.started_at < end)
        .order_by(DutyLogItem.started_at, DutyLogItem.id)
    )
    return list(await session.scalars(query))


def _log(item: DutyLogItem, zone: ZoneInfo) -> LogRow:
    return LogRow(
        item_id=item.id,
        kind=item.kind,
        status=item.status,
        summary=item.summary,
        started=item.started_at.astimezone(zone),
        first_action_minutes=_minutes(item.started_at, item.first_action_at),
        closed=item.closed_at.astimezone(zone) if item.closed_at else None,
    )


# Duty KPIs ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiRow:
    """One line of the KPI table: a lead (or everyone, ``lead_id`` None) and their figures."""

    lead_id: int | None
    lead: str
    figures: LeadKpis


@dataclass(frozen=True)
class DutyKpis:
    site: Site
    week: IsoWeek
    current: IsoWeek
    due_minutes: int
    leads: list[KpiRow]
    everyone: KpiRow

    @property
    def has_data(self) -> bool:
        return bool(self.leads)


async def duty_kpis(session: AsyncSession, *, site: Site, week: IsoWeek, now: dt.datetime) -> DutyKpis:
    """Each lead's KPIs over the duties that start in ``week`` (the site's local week), in three queries."""
    zone = site_zone(site)
    due_minutes = site_settings(site).handover_due_minutes
    start, end = week_bounds(zone, week)
    in_week = (Duty.site_id == site.id, Duty.cancelled_at.is_(None), Duty.starts_at >= start, Duty.starts_at < end)
    duty_query = (
        select(Duty.id, Duty.user_id, Duty.starts_at, Duty.ends_at, Handover.submitted_at, Handover.acknowledged_at)
        .outerjoin(Handover, Handover.duty_id == Duty.id)
        .where(*in_week)
    )
    duties = [DutyRow(*row) for row in await session.execute(duty_query)]
    updates = select(func.count(DutyLogUpdate.id)).where(DutyLogUpdate.item_id == DutyLogItem.id).scalar_subquery()
    item_query = (
        select(DutyLogItem.duty_id, DutyLogItem.started_at, DutyLogItem.first_action_at, DutyLogItem.closed_at, updates)
        .join(Duty, Duty.id == DutyLogItem.duty_id)
        .where(*in_week)
    )
    items = [ItemRow(*row) for row in await session.execute(item_query)]
    leads, everyone = week_kpis(duties, items, due_minutes=due_minutes, now=now)
    names = await _labels(session, (lead.lead_id for lead in leads))
    rows = [KpiRow(lead.lead_id, names.get(lead.lead_id or 0, ""), lead) for lead in leads]
    rows.sort(key=lambda row: (row.lead.casefold(), row.lead_id or 0))
    return DutyKpis(
        site=site,
        week=week,
        current=IsoWeek.containing(now, zone),
        due_minutes=due_minutes,
        leads=rows,
        everyone=KpiRow(None, "", everyone),
    )
