"""Attendance: the day-before confirmation, starting a shift, no-shows, and the reliability score they feed.

The rules, shown to agents on their Reliability page:

- **Confirm.** From ``confirm_opens_hours_before`` (site setting) until the
  start, one tap confirms the agent will come. A reminder goes out when the
  window opens (``due_reminders``).
- **Start.** "Start shift" is open from ``start_window_minutes`` before the
  start to as long after it. Earlier or later is refused with the time the
  window opens or closed.
- **No-show.** Once the start window has closed, a coordinator may mark an
  agent who did not start a no-show.
- **Reliability.** Of the agent's shifts that started in the last 60 days and
  have finished (or were marked no-shows), the share they turned up for; a
  shift they did not confirm counts three-quarters, a no-show nothing. A
  waived shift (an outage, or an accepted appeal) is left out. With nothing
  to count the score is 1.0, so a new agent is neither helped nor held back.
- **Waiver and appeal.** A coordinator waives a no-show or a missed
  confirmation for an outage. An agent may appeal each of their no-shows once;
  an accepted appeal waives it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import (
    STAFF_ROLES,
    Role,
    Site,
    Skill,
    User,
    UserStatus,
    localized_skill_name,
    skill_label,
)
from backend.accounts.service import person_labels
from backend.accounts.site_settings import SiteSettings, site_settings
from backend.accounts.zones import site_zone
from backend.core.errors import Conflict, DomainError, Forbidden, Gone, NotFound
from backend.core.i18n import gettext as _
from backend.core.i18n import moment_phrase
from backend.core.slots import local_day_slots, slot_of, time_zone, utc_start
from backend.notify.service import Kind, moment_value, notify
from backend.shifts.models import AppealStatus, Attendance, ReliabilityAppeal, Shift, ShiftSeat
from backend.shifts.pay import PayLocked

NEUTRAL_RELIABILITY = 1.0
RELIABILITY_WINDOW_DAYS = 60
UNCONFIRMED_CREDIT = 0.75
WAIVER_REASON_MAX_CHARS = 200
APPEAL_MAX_CHARS = 1000
APPEAL_ACCEPTED_REASON = "Appeal accepted"
SCHEDULE_URL = "/app/shifts"
RELIABILITY_URL = "/app/reliability"  # where an agent appeals a no-show
SCHEDULE_DAYS = 8  # My schedule offers attendance buttons this far ahead (the longest confirm window is 7 days)


class WindowClosed(Conflict):
    """An attendance action outside its window (409); ``at`` is when the window opens, or when it closed."""

    def __init__(self, message: str, *, at: dt.datetime) -> None:
        super().__init__(message)
        self.at = at


@dataclass(frozen=True)
class Windows:
    """The moments a shift's attendance actions open and close."""

    confirm_opens: dt.datetime
    starts: dt.datetime
    start_opens: dt.datetime
    start_closes: dt.datetime

    @classmethod
    def of(cls, start_slot: int, settings: SiteSettings) -> Windows:
        starts = utc_start(start_slot)
        margin = dt.timedelta(minutes=settings.start_window_minutes)
        return cls(
            confirm_opens=starts - dt.timedelta(hours=settings.confirm_opens_hours_before),
            starts=starts,
            start_opens=starts - margin,
            start_closes=starts + margin,
        )


@dataclass(frozen=True)
class SeatState:
    """One agent's seat on one shift and what happened on it: plain values for pages and the API."""

    shift_id: int
    seat_id: int
    user_id: int
    user_name: str
    skill_name: str
    start_slot: int
    end_slot: int
    windows: Windows
    confirmed_at: dt.datetime | None
    started_at: dt.datetime | None
    no_show_at: dt.datetime | None
    waived_at: dt.datetime | None
    waiver_reason: str | None
    appeal_id: int | None
    appeal_status: AppealStatus | None
    appeal_text: str | None
    taken_at: dt.datetime

    @property
    def missed_confirmation(self) -> bool:
        """Not confirmed by the start, though there was time to (the seat was taken before it)."""
        return self.confirmed_at is None and self.taken_at < self.windows.starts

    def can_confirm(self, now: dt.datetime) -> bool:
        return self.confirmed_at is None and self.windows.confirm_opens <= now < self.windows.starts

    def can_start(self, now: dt.datetime) -> bool:
        return self.started_at is None and self.windows.start_opens <= now <= self.windows.start_closes

    def can_mark_no_show(self, now: dt.datetime) -> bool:
        return self.started_at is None and self.no_show_at is None and now > self.windows.start_closes

    def can_waive(self, now: dt.datetime) -> bool:
        missed = self.no_show_at is not None or self.missed_confirmation
        return self.waived_at is None and now >= self.windows.starts and missed

    @property
    def can_appeal(self) -> bool:
        return self.no_show_at is not None and self.waived_at is None and self.appeal_id is None


def _when(moment: dt.datetime, timezone: str) -> str:
    return moment.astimezone(time_zone(timezone)).strftime("%Y-%m-%d %H:%M")


def _clock(moment: dt.datetime, timezone: str) -> str:
    return moment.astimezone(time_zone(timezone)).strftime("%H:%M")


def _ensure_agent(user: User) -> None:
    if user.role is not Role.agent:
        raise Forbidden(_("Only agents confirm and start shifts."))


def _ensure_staff(user: User) -> None:
    if user.role not in STAFF_ROLES:
        raise Forbidden(_("Only coordinators handle attendance."))


async def _settings_of(session: AsyncSession, site_id: int) -> SiteSettings:
    site = await session.get(Site, site_id)
    assert site is not None
    return site_settings(site)


async def _windows_of(session: AsyncSession, shift: Shift) -> Windows:
    """When the shift's confirm, start and no-show windows open and close, under its site's settings."""
    return Windows.of(shift.start_slot, await _settings_of(session, shift.site_id))


def _seat_states(rows: list[Any], settings: SiteSettings) -> list[SeatState]:
    names = person_labels(row[4] for row in rows)  # namesakes on one page are told apart
    return [
        SeatState(
            shift_id=shift.id,
            seat_id=seat.id,
            user_id=user.id,
            user_name=names[user.id],
            skill_name=skill_label(skill),
            start_slot=shift.start_slot,
            end_slot=shift.end_slot,
            windows=Windows.of(shift.start_slot, settings),
            confirmed_at=att.confirmed_at if att else None,
            started_at=att.started_at if att else None,
            no_show_at=att.no_show_at if att else None,
            waived_at=att.waived_at if att else None,
            waiver_reason=att.waiver_reason if att else None,
            appeal_id=appeal.id if appeal else None,
            appeal_status=appeal.status if appeal else None,
            appeal_text=appeal.text if appeal else None,
            taken_at=seat.taken_at,
        )
        for shift, seat, att, appeal, user, skill in rows
    ]


def _state_query(*columns: Any) -> Select[Any]:
    """Seats with their shift, attendance, appeal, agent and skill: as ORM objects, or the ``columns`` asked for."""
    return (
        select(*(columns or (Shift, ShiftSeat, Attendance, ReliabilityAppeal, User, Skill)))
        .select_from(Shift)
        .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
        .join(User, User.id == ShiftSeat.user_id)
        .join(Skill, Skill.id == Shift.skill_id)
        .outerjoin(Attendance, Attendance.seat_id == ShiftSeat.id)
        .outerjoin(ReliabilityAppeal, ReliabilityAppeal.attendance_id == Attendance.id)
        .where(Shift.cancelled_at.is_(None))
    )


# Locating seats --------------------------------------------------------------------------


def _seats_on(shift_id: int, site_id: int) -> Select[tuple[Shift, ShiftSeat]]:
    """The seats on a shift of the site that is not cancelled; the callers narrow them to one person's."""
    return (
        select(Shift, ShiftSeat)
        .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
        .where(Shift.id == shift_id, Shift.site_id == site_id, Shift.cancelled_at.is_(None))
    )


async def _locked_seat(session: AsyncSession, query: Select[tuple[Shift, ShiftSeat]]) -> tuple[Shift, ShiftSeat]:
    """The seat ``query`` finds, locked; none is 404 so ids cannot be probed."""
    row = (await session.execute(query.with_for_update(of=ShiftSeat))).first()
    if row is None:
        raise NotFound("shift")
    return row[0], row[1]


async def _held_seat(session: AsyncSession, *, shift_id: int, agent: User) -> tuple[Shift, ShiftSeat]:
    """The agent's live seat on a shift of their site."""
    query = _seats_on(shift_id, agent.site_id).where(ShiftSeat.user_id == agent.id, ShiftSeat.released_at.is_(None))
    return await _locked_seat(session, query)


async def _staff_seat(session: AsyncSession, *, shift_id: int, user_id: int, staff: User) -> tuple[Shift, ShiftSeat]:
    """A seat on a shift of the coordinator's site: held, or given up after a no-show (cover may take it)."""
    query = (
        _seats_on(shift_id, staff.site_id)
        .outerjoin(Attendance, Attendance.seat_id == ShiftSeat.id)
        .where(ShiftSeat.user_id == user_id)
        .where(or_(ShiftSeat.released_at.is_(None), Attendance.no_show_at.is_not(None)))
    )
    return await _locked_seat(session, query)


async def _existing(session: AsyncSession, seat: ShiftSeat) -> Attendance | None:
    return await session.scalar(select(Attendance).where(Attendance.seat_id == seat.id))


async def _attendance_of(session: AsyncSession, seat: ShiftSeat, found: Attendance | None = None) -> Attendance:
    """The seat's attendance row, made on first use (the seat row is locked, so two taps make one).

    Actions make it only once their checks pass: a refusal leaves nothing behind, even where the
    caller commits the refusal's answer (the API).
    """
    attendance = found or await _existing(session, seat)
    if attendance is None:
        attendance = Attendance(seat_id=seat.id)
        session.add(attendance)
        await session.flush()
    return attendance


# The agent's actions ------------------------------------------------------------------------


async def confirm_shift(session: AsyncSession, *, shift_id: int, agent: User, now: dt.datetime) -> Attendance:
    """Say "I'll be there" from ``confirm_opens_hours_before`` until the start; a second tap changes nothing."""
    _ensure_agent(agent)
    try:
        shift, seat = await _held_seat(session, shift_id=shift_id, agent=agent)
    except NotFound:
        await _explain_lost_seat(session, shift_id=shift_id, agent=agent, now=now)
        raise
    found = await _existing(session, seat)
    if found is not None and found.confirmed_at is not None:
        return found
    windows = await _windows_of(session, shift)
    if now < windows.confirm_opens:
        when = _when(windows.confirm_opens, agent.timezone)
        raise WindowClosed(_("You can confirm this shift from %(time)s.", time=when), at=windows.confirm_opens)
    if now >= windows.starts:
        when = _when(windows.starts, agent.timezone)
        raise WindowClosed(_("Confirming closed at %(time)s, when the shift started.", time=when), at=windows.starts)
    attendance = await _attendance_of(session, seat, found)
    attendance.confirmed_at = now
    await session.flush()
    return attendance


async def _explain_lost_seat(session: AsyncSession, *, shift_id: int, agent: User, now: dt.datetime) -> None:
    """A tap on a seat the agent held once but holds no more (a confirm queued offline and sent later, a second
    device) is told why: the shift was cancelled, or they gave it up. A seat they never held stays a 404."""
    row = (
        await session.execute(
            select(Shift, ShiftSeat)
            .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
            .where(Shift.id == shift_id, Shift.site_id == agent.site_id, ShiftSeat.user_id == agent.id)
            .order_by(ShiftSeat.id.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        return
    shift, seat = row
    zone = time_zone(agent.timezone)
    today = now.astimezone(zone).date()
    if shift.cancelled_at is not None:
        when = moment_phrase(shift.cancelled_at, zone, today)
        raise Gone(_("This shift was cancelled %(when)s: there is nothing to confirm.", when=when))
    if seat.released_at is not None:
        when = moment_phrase(seat.released_at, zone, today)
        raise Gone(_("You gave this shift up %(when)s: there is nothing to confirm.", when=when))


async def start_shift(session: AsyncSession, *, shift_id: int, agent: User, now: dt.datetime) -> Attendance:
    """Check in within ``start_window_minutes`` either side of the start; a second tap changes nothing."""
    _ensure_agent(agent)
    shift, seat = await _held_seat(session, shift_id=shift_id, agent=agent)
    found = await _existing(session, seat)
    if found is not None and found.started_at is not None:
        return found
    windows = await _windows_of(session, shift)
    if now < windows.start_opens:
        when = _when(windows.start_opens, agent.timezone)
        raise WindowClosed(_("You can start this shift from %(time)s.", time=when), at=windows.start_opens)
    if now > windows.start_closes:
        when = _when(windows.start_closes, agent.timezone)
        message = _("Starting closed at %(time)s. Tell your coordinator.", time=when)
        raise WindowClosed(message, at=windows.start_closes)
    attendance = await _attendance_of(session, seat, found)
    attendance.started_at = now
    await session.flush()
    return attendance


async def appeal(
    session: AsyncSession, *, shift_id: int, agent: User, text: str, now: dt.datetime
) -> ReliabilityAppeal:
    """Ask a coordinator to reconsider one of my no-shows; each no-show can be appealed once."""
    _ensure_agent(agent)
    text = text.strip()
    if not text or len(text) > APPEAL_MAX_CHARS:
        raise DomainError(_("Say what happened, in up to %(count)s characters.", count=APPEAL_MAX_CHARS), field="text")
    row = (
        await session.execute(
            select(Attendance, ReliabilityAppeal)
            .join(ShiftSeat, ShiftSeat.id == Attendance.seat_id)
            .join(Shift, Shift.id == ShiftSeat.shift_id)
            .outerjoin(ReliabilityAppeal, ReliabilityAppeal.attendance_id == Attendance.id)
            .where(Shift.id == shift_id, Shift.site_id == agent.site_id, ShiftSeat.user_id == agent.id)
            .where(Attendance.no_show_at.is_not(None))
        )
    ).first()
    if row is None:
        raise NotFound("no-show")
    attendance, existing = row
    if attendance.waived_at is not None:
        raise Conflict(_("This no-show is already waived."))
    if existing is not None:
        raise Conflict(_("You have already appealed this no-show."))
    made = ReliabilityAppeal(attendance_id=attendance.id, user_id=agent.id, text=text, created_at=now)
    session.add(made)
    await session.flush()
    return made


# The coordinator's actions ------------------------------------------------------------------


async def mark_no_show(
    session: AsyncSession,
    *,
    shift_id: int,
    user_id: int,
    coordinator: User,
    now: dt.datetime,
    pay_locked: PayLocked | None = None,
) -> Attendance:
    """Record that an agent did not come: only once their start window has closed, and never if they started.

    Any past day may be fixed (yesterday's record too) until its pay period is settled: ``pay_locked``
    (the pay domain's answer, injected by the app) refuses a shift whose period is locked or paid. The
    agent is told, with the way to appeal.
    """
    _ensure_staff(coordinator)
    shift, seat = await _staff_seat(session, shift_id=shift_id, user_id=user_id, staff=coordinator)
    found = await _existing(session, seat)
    if found is not None and found.no_show_at is not None:
        return found
    if pay_locked is not None:
        site = await session.get(Site, shift.site_id)
        assert site is not None
        day = utc_start(shift.start_slot).astimezone(site_zone(site)).date()
        if await pay_locked(session, site=site, day=day):
            raise Conflict(_("The pay period of this shift is locked: its attendance can no longer change."))
    if found is not None and found.started_at is not None:
        when = _when(found.started_at, coordinator.timezone)
        raise Conflict(_("They started this shift at %(time)s: not a no-show.", time=when))
    if seat.vto_from_slot is not None and seat.vto_from_slot <= shift.start_slot:
        raise Conflict(_("They took this whole shift off (voluntary time off): not a no-show."))
    windows = await _windows_of(session, shift)
    if now <= windows.start_closes:
        when = _when(windows.start_closes, coordinator.timezone)
        message = _("A no-show can be marked once the start window closes, at %(time)s.", time=when)
        raise WindowClosed(message, at=windows.start_closes)
    attendance = await _attendance_of(session, seat, found)
    attendance.no_show_at = now
    attendance.marked_by_id = coordinator.id
    await session.flush()
    await notify(
        session,
        user_id=user_id,
        kind=Kind.attendance,
        message="no_show_marked",
        values={"start": moment_value(utc_start(shift.start_slot))},
        url=RELIABILITY_URL,
        subject=f"no-show:{seat.id}",
        now=now,
    )
    return attendance


def _waive(attendance: Attendance, *, by: User, reason: str, now: dt.datetime) -> None:
    attendance.waived_at = now
    attendance.waived_by_id = by.id
    attendance.waiver_reason = reason


async def grant_waiver(
    session: AsyncSession, *, shift_id: int, user_id: int, coordinator: User, reason: str, now: dt.datetime
) -> Attendance:
    """Take a no-show or a missed confirmation out of the score, for an outage; an open appeal on it is accepted."""
    _ensure_staff(coordinator)
    reason = reason.strip()
    if not reason or len(reason) > WAIVER_REASON_MAX_CHARS:
        message = _("Give the reason (the outage), in up to %(count)s characters.", count=WAIVER_REASON_MAX_CHARS)
        raise DomainError(message, field="reason")
    shift, seat = await _staff_seat(session, shift_id=shift_id, user_id=user_id, staff=coordinator)
    found = await _existing(session, seat)
    if found is not None and found.waived_at is not None:
        return found
    starts = utc_start(shift.start_slot)
    if now < starts:
        raise Conflict(_("Nothing to waive before the shift starts."))
    no_show = found is not None and found.no_show_at is not None
    confirmed = found is not None and found.confirmed_at is not None
    if not no_show and (confirmed or seat.taken_at >= starts):
        raise Conflict(_("Nothing to waive: they confirmed and were not a no-show."))
    attendance = await _attendance_of(session, seat, found)
    _waive(attendance, by=coordinator, reason=reason, now=now)
    pending = await session.scalar(
        select(ReliabilityAppeal).where(
            ReliabilityAppeal.attendance_id == attendance.id, ReliabilityAppeal.status == AppealStatus.open
        )
    )
    if pending is not None:
        pending.status, pending.decided_by_id, pending.decided_at = AppealStatus.accepted, coordinator.id, now
    await session.flush()
    return attendance


async def decide_appeal(
    session: AsyncSession, *, appeal_id: int, coordinator: User, accept: bool, now: dt.datetime
) -> ReliabilityAppeal:
    """Accept (the no-show is waived) or reject an appeal of the coordinator's site; a repeat decision is a no-op."""
    _ensure_staff(coordinator)
    row = (
        await session.execute(
            select(ReliabilityAppeal, Attendance)
            .join(Attendance, Attendance.id == ReliabilityAppeal.attendance_id)
            .join(ShiftSeat, ShiftSeat.id == Attendance.seat_id)
            .join(Shift, Shift.id == ShiftSeat.shift_id)
            .where(ReliabilityAppeal.id == appeal_id, Shift.site_id == coordinator.site_id)
            .with_for_update(of=ReliabilityAppeal)
        )
    ).first()
    if row is None:
        raise NotFound("appeal")
    made, attendance = row
    decision = AppealStatus.accepted if accept else AppealStatus.rejected
    if made.status is not AppealStatus.open:
        if made.status is decision:
            return made
        raise Conflict(_("This appeal was already decided."))
    made.status, made.decided_by_id, made.decided_at = decision, coordinator.id, now
    if accept and attendance.waived_at is None:
        _waive(attendance, by=coordinator, reason=APPEAL_ACCEPTED_REASON, now=now)
    await session.flush()
    return made


# Reading ------------------------------------------------------------------------------------


async def my_seat(session: AsyncSession, *, shift_id: int, agent: User) -> SeatState:
    """The agent's live seat on a shift, with its attendance; 404 when they do not hold it."""
    query = _state_query().where(
        Shift.id == shift_id,
        Shift.site_id == agent.site_id,
        ShiftSeat.user_id == agent.id,
        ShiftSeat.released_at.is_(None),
    )
    rows = [tuple(row) for row in await session.execute(query)]
    if not rows:
        raise NotFound("shift")
    return _seat_states(rows, await _settings_of(session, agent.site_id))[0]


async def my_upcoming_seats(session: AsyncSession, *, agent: User, now: dt.datetime) -> dict[int, SeatState]:
    """The agent's live seats on shifts not yet over that start within a week, by shift id (My schedule)."""
    query = _state_query().where(
        Shift.site_id == agent.site_id,
        ShiftSeat.user_id == agent.id,
        ShiftSeat.released_at.is_(None),
        Shift.end_slot > slot_of(now),
        Shift.start_slot <= slot_of(now + dt.timedelta(days=SCHEDULE_DAYS)),
    )
    rows = [tuple(row) for row in await session.execute(query)]
    return {state.shift_id: state for state in _seat_states(rows, await _settings_of(session, agent.site_id))}


async def day_board(session: AsyncSession, *, site: Site, day: dt.date, skill_id: int | None = None) -> list[SeatState]:
    """Every seat on the site's shifts that start on a local day (of one skill, if given), by start then name,
    for the coordinator. One read of plain columns, no ORM objects: a busy centre's day is a thousand seats."""
    span = local_day_slots(day, site_zone(site))
    query = (
        _state_query(*_WORKING_COLUMNS)
        .where(Shift.site_id == site.id, Shift.start_slot >= span.start, Shift.start_slot < span.stop)
        .where(or_(ShiftSeat.released_at.is_(None), Attendance.no_show_at.is_not(None)))
        .order_by(Shift.start_slot, Shift.id, User.display_name)
    )
    if skill_id is not None:
        query = query.where(Shift.skill_id == skill_id)
    rows = (await session.execute(query)).all()
    settings = site_settings(site)
    names = person_labels(rows)  # namesakes on one page are told apart
    windows = {row.start_slot: Windows.of(row.start_slot, settings) for row in rows}
    skills = {(row.skill_name, row.skill_name_zh): "" for row in rows}
    skills = {skill: localized_skill_name(*skill) for skill in skills}
    return [
        SeatState(
            shift_id=row.shift_id,
            seat_id=row.seat_id,
            user_id=row.id,
            user_name=names[row.id],
            skill_name=skills[row.skill_name, row.skill_name_zh],
            start_slot=row.start_slot,
            end_slot=row.end_slot,
            windows=windows[row.start_slot],
            confirmed_at=row.confirmed_at,
            started_at=row.started_at,
            no_show_at=row.no_show_at,
            waived_at=row.waived_at,
            waiver_reason=row.waiver_reason,
            appeal_id=row.appeal_id,
            appeal_status=row.appeal_status,
            appeal_text=row.appeal_text,
            taken_at=row.taken_at,
        )
        for row in rows
    ]


@dataclass(frozen=True)
class WorkingSeat:
    """A seat at work during some of a span, with the slots it is worked: an accepted extension moves its end
    later, an accepted VTO earlier (``shifts.intraday``). ``held`` is False for a seat given up after a no-show."""

    state: SeatState
    skill_id: int
    work_start_slot: int
    work_end_slot: int
    held: bool


_WORKING_COLUMNS = (
    Shift.id.label("shift_id"),
    Shift.skill_id,
    Shift.start_slot,
    Shift.end_slot,
    ShiftSeat.id.label("seat_id"),
    ShiftSeat.user_id.label("id"),  # the row names its agent as ``person_labels`` reads a person
    ShiftSeat.taken_at,
    ShiftSeat.extended_to_slot,
    ShiftSeat.vto_from_slot,
    ShiftSeat.released_at,
    Attendance.confirmed_at,
    Attendance.started_at,
    Attendance.no_show_at,
    Attendance.waived_at,
    Attendance.waiver_reason,
    ReliabilityAppeal.id.label("appeal_id"),
    ReliabilityAppeal.status.label("appeal_status"),
    ReliabilityAppeal.text.label("appeal_text"),
    User.display_name,
    User.email,
    Skill.name.label("skill_name"),
    Skill.name_zh.label("skill_name_zh"),
)


async def seats_during(session: AsyncSession, *, site: Site, slots: range) -> list[WorkingSeat]:
    """Every seat worked (or due and not come) during ``slots`` on the site's live shifts, whenever the shift
    started: held seats and seats given up after a no-show, by start then name (the Today board). One read of
    plain columns, no ORM objects: a busy centre's day is a thousand seats and more."""
    earliest = slots.start - 2 * 48  # no shift, however extended, runs two days: keeps the start index useful
    query = (
        _state_query(*_WORKING_COLUMNS)
        .where(Shift.site_id == site.id, Shift.start_slot >= earliest, Shift.start_slot < slots.stop)
        .where(or_(Shift.end_slot > slots.start, ShiftSeat.extended_to_slot > slots.start))
        .where(or_(ShiftSeat.released_at.is_(None), Attendance.no_show_at.is_not(None)))
        .order_by(Shift.start_slot, Shift.id, User.display_name)
    )
    rows = (await session.execute(query)).all()
    settings = site_settings(site)
    names = person_labels(rows)  # namesakes on one page are told apart
    windows: dict[int, Windows] = {}
    skills: dict[tuple[str, str], str] = {}
    seats = []
    for row in rows:
        end = max(row.end_slot, row.extended_to_slot or row.end_slot)
        if row.vto_from_slot is not None:
            end = min(end, row.vto_from_slot)
        if end <= slots.start:
            continue
        if row.start_slot not in windows:
            windows[row.start_slot] = Windows.of(row.start_slot, settings)
        skill = (row.skill_name, row.skill_name_zh)
        if skill not in skills:
            skills[skill] = localized_skill_name(*skill)
        state = SeatState(
            shift_id=row.shift_id,
            seat_id=row.seat_id,
            user_id=row.id,
            user_name=names[row.id],
            skill_name=skills[skill],
            start_slot=row.start_slot,
            end_slot=row.end_slot,
            windows=windows[row.start_slot],
            confirmed_at=row.confirmed_at,
            started_at=row.started_at,
            no_show_at=row.no_show_at,
            waived_at=row.waived_at,
            waiver_reason=row.waiver_reason,
            appeal_id=row.appeal_id,
            appeal_status=row.appeal_status,
            appeal_text=row.appeal_text,
            taken_at=row.taken_at,
        )
        seats.append(WorkingSeat(state, row.skill_id, row.start_slot, end, row.released_at is None))
    return seats


async def open_appeals(session: AsyncSession, *, site: Site) -> list[SeatState]:
    """Appeals of the site waiting for a decision, oldest first."""
    query = (
        _state_query()
        .where(Shift.site_id == site.id, ReliabilityAppeal.status == AppealStatus.open)
        .order_by(ReliabilityAppeal.created_at, ReliabilityAppeal.id)
    )
    rows = [tuple(row) for row in await session.execute(query)]
    return _seat_states(rows, site_settings(site))


@dataclass(frozen=True)
class Reliability:
    """The score and what it was made of, so the agent can check it against the rule."""

    score: float
    counted: int
    no_shows: int
    unconfirmed: int
    waived: int
    window_days: int
    records: list[SeatState]  # no-shows, missed confirmations and waived shifts, latest first

    @property
    def percent(self) -> int:
        return round(self.score * 100)


def _history_query(user_ids: list[int], now: dt.datetime) -> Select[Any]:
    """Seats whose shift started in the window: held, or given up after a no-show; latest first."""
    since = slot_of(now - dt.timedelta(days=RELIABILITY_WINDOW_DAYS))
    return (
        _state_query()
        .where(ShiftSeat.user_id.in_(user_ids), Shift.start_slot >= since, Shift.start_slot <= slot_of(now))
        .where(or_(ShiftSeat.released_at.is_(None), Attendance.no_show_at.is_not(None)))
        .where(or_(ShiftSeat.vto_from_slot.is_(None), ShiftSeat.vto_from_slot > Shift.start_slot))  # VTO: all off
        .order_by(Shift.start_slot.desc(), Shift.id.desc())
    )


def _scored(states: list[SeatState], now: dt.datetime) -> Reliability:
    """The rule itself, on one agent's seats from ``_history_query``."""
    finished = slot_of(now)
    counted = no_shows = unconfirmed = waived = 0
    points = 0.0
    records: list[SeatState] = []
    for state in states:
        if state.end_slot > finished and state.no_show_at is None:
            continue  # under way: it counts once it is over
        if state.waived_at is not None:
            waived += 1
            records.append(state)
            continue
        counted += 1
        if state.no_show_at is not None:
            no_shows += 1
            records.append(state)
        elif state.missed_confirmation:
            unconfirmed += 1
            points += UNCONFIRMED_CREDIT
            records.append(state)
        else:
            points += 1
    score = points / counted if counted else NEUTRAL_RELIABILITY
    return Reliability(
        score=min(max(score, 0.0), 1.0),
        counted=counted,
        no_shows=no_shows,
        unconfirmed=unconfirmed,
        waived=waived,
        window_days=RELIABILITY_WINDOW_DAYS,
        records=records,
    )


async def reliability(session: AsyncSession, *, user_id: int, now: dt.datetime) -> Reliability:
    """The agent's reliability by the module's rule, with the shifts that lowered it or were waived."""
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user")
    rows = [tuple(row) for row in await session.execute(_history_query([user_id], now))]
    return _scored(_seat_states(rows, await _settings_of(session, user.site_id)), now)


async def reliability_score(session: AsyncSession, *, user_id: int, now: dt.datetime) -> float:
    """The agent's reliability between 0 and 1 (1 = always there); cover ranking and the lottery weigh by it."""
    return (await reliability(session, user_id=user_id, now=now)).score


async def reliability_scores(session: AsyncSession, *, user_ids: list[int], now: dt.datetime) -> dict[int, float]:
    """``reliability_score`` for many agents in one query (a cover wave or a lottery draw); unknown ids score 1.0.

    The score does not depend on the site's windows, so the default settings serve to build the seats.
    """
    if not user_ids:
        return {}
    states = _seat_states([tuple(row) for row in await session.execute(_history_query(user_ids, now))], SiteSettings())
    by_user: dict[int, list[SeatState]] = {user_id: [] for user_id in user_ids}
    for state in states:
        by_user[state.user_id].append(state)
    return {user_id: _scored(seats, now).score for user_id, seats in by_user.items()}


# Reminders ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    """An agent to remind to confirm a shift whose confirmation window is open."""

    user_id: int
    shift_id: int
    seat_id: int
    start_slot: int


async def due_reminders(session: AsyncSession, *, now: dt.datetime) -> list[Reminder]:
    """Held seats of active agents whose confirm window is open, not confirmed and not yet reminded."""
    due: list[Reminder] = []
    for site in await session.scalars(select(Site).order_by(Site.id)):
        horizon = now + dt.timedelta(hours=site_settings(site).confirm_opens_hours_before)
        query = (
            select(ShiftSeat.user_id, Shift.id, ShiftSeat.id, Shift.start_slot)
            .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
            .join(User, User.id == ShiftSeat.user_id)
            .outerjoin(Attendance, Attendance.seat_id == ShiftSeat.id)
            .where(Shift.site_id == site.id, Shift.cancelled_at.is_(None), ShiftSeat.released_at.is_(None))
            .where(Shift.start_slot > slot_of(now), Shift.start_slot <= slot_of(horizon))
            .where(User.role == Role.agent, User.status == UserStatus.active)
            .where(
                or_(Attendance.id.is_(None), (Attendance.confirmed_at.is_(None)) & (Attendance.reminded_at.is_(None)))
            )
            .order_by(Shift.start_slot, ShiftSeat.id)
        )
        due.extend(Reminder(*row) for row in await session.execute(query))
    return due


async def send_reminders(session: AsyncSession, *, now: dt.datetime) -> int:
    """Notify every due reminder (in the agent's language and time zone) and record it, so each goes once."""
    reminders = await due_reminders(session, now=now)
    for reminder in reminders:
        user = await session.get(User, reminder.user_id)
        seat = await session.get(ShiftSeat, reminder.seat_id)
        assert user is not None
        assert seat is not None
        await notify(
            session,
            user_id=user.id,
            kind=Kind.shift_reminder,
            message="shift_reminder",
            values={"start": moment_value(utc_start(reminder.start_slot))},
            url=f"{SCHEDULE_URL}#shift-{reminder.shift_id}",
            subject=f"shift:{reminder.shift_id}",
            expires_at=utc_start(reminder.start_slot),
        )
        (await _attendance_of(session, seat)).reminded_at = now
    await session.flush()
    return len(reminders)


async def seat_changed_hands(session: AsyncSession, *, seat_id: int) -> None:
    """A seat passed to another agent (a swap) starts afresh: the giver's confirmation is not theirs."""
    await session.execute(delete(Attendance).where(Attendance.seat_id == seat_id))


def worked_seats(*, site_id: int, until_slot: int) -> Select[Any]:
    """The seats that count as worked, for pay and for growth: held to the end (not released) on a shift of the
    site that was not cancelled and has ended by ``until_slot``, without a no-show.

    A waiver forgives a no-show's reliability, not its pay: a no-show earns nothing and is not worked time.
    Intraday (``shifts.intraday``): ``end_slot`` is where the seat's work ended, an accepted extension's end
    or the start of an accepted VTO's release; a seat released whole by a VTO is not worked at all.
    Columns: ``user_id``, ``shift_id``, ``start_slot``, ``end_slot``, ``skill_id``, ``bonus_minor``.
    """
    seat_end = func.coalesce(ShiftSeat.extended_to_slot, Shift.end_slot)
    worked_end = func.coalesce(ShiftSeat.vto_from_slot, seat_end)
    return (
        select(
            ShiftSeat.user_id,
            Shift.id.label("shift_id"),
            Shift.start_slot,
            worked_end.label("end_slot"),
            Shift.skill_id,
            Shift.bonus_minor,
        )
        .join(Shift, Shift.id == ShiftSeat.shift_id)
        .outerjoin(Attendance, Attendance.seat_id == ShiftSeat.id)
        .where(Shift.site_id == site_id, Shift.cancelled_at.is_(None), seat_end <= until_slot)
        .where(worked_end > Shift.start_slot)
        .where(ShiftSeat.released_at.is_(None), Attendance.no_show_at.is_(None))
    )
