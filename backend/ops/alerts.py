"""Staff alerts only ops knows about: agents late for their shift, and duties that ended without a handover.

Each runs about once a minute (``ops.jobs.EVERY_MINUTE``) and tells each event once, whoever was told:

- **Late.** Seats of a shift under way whose agent has not pressed "Start shift" ``late_after_minutes``
  (site setting) after the start, and is not marked a no-show. One alert per site and start time names
  everyone late for it (a 09:00 start with three late agents is one alert, not three). It goes to the
  lead on duty (``ops.duty.on_duty``), else to the site's coordinators and admins.
- **Missing handover.** A duty that ended ``handover_due_minutes`` ago (site setting) with no handover
  submitted, within the last day: one alert to the site's coordinators and admins.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, User
from backend.accounts.site_settings import site_settings
from backend.core.slots import slot_of, utc_start
from backend.notify.models import Notification
from backend.notify.service import Kind, moment_value, notify_staff
from backend.ops.duty import on_duty
from backend.ops.models import Duty, Handover
from backend.shifts.models import Attendance, Shift, ShiftSeat

TODAY_BOARD = "/admin/today"
DUTY_ROSTER = "/admin/duty"
HANDOVER_LOOKBACK = dt.timedelta(days=1)
NAMES_SHOWN = 20


async def _already_told(session: AsyncSession, kind: Kind, subjects: list[str]) -> set[str]:
    """Which of ``subjects`` anyone was already alerted about (an event is told once, whoever got it)."""
    if not subjects:
        return set()
    query = select(Notification.subject).where(Notification.kind == kind, Notification.subject.in_(subjects))
    return set(await session.scalars(query.distinct()))


async def alert_late_agents(session: AsyncSession, *, now: dt.datetime) -> int:
    """Alert each site's lead on duty (else its staff) once per start time about agents not started yet."""
    told = 0
    for site in await session.scalars(select(Site).order_by(Site.id)):
        late_after = dt.timedelta(minutes=site_settings(site).late_after_minutes)
        rows = (
            await session.execute(
                select(Shift.start_slot, User.display_name)
                .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
                .join(User, User.id == ShiftSeat.user_id)
                .outerjoin(Attendance, Attendance.seat_id == ShiftSeat.id)
                .where(Shift.site_id == site.id, Shift.cancelled_at.is_(None), ShiftSeat.released_at.is_(None))
                .where(Shift.start_slot <= slot_of(now - late_after), Shift.end_slot > slot_of(now))
                .where(Attendance.started_at.is_(None), Attendance.no_show_at.is_(None))
                .order_by(Shift.start_slot, User.display_name)
            )
        ).all()
        late: dict[int, list[str]] = {}
        for start_slot, name in rows:
            late.setdefault(start_slot, []).append(name)
        subjects = {start_slot: f"late:{site.id}:{start_slot}" for start_slot in late}
        done = await _already_told(session, Kind.staff_late, list(subjects.values()))
        fresh = [start_slot for start_slot in late if subjects[start_slot] not in done]
        if not fresh:
            continue
        duty = (await on_duty(session, site_id=site.id, now=now)).current
        for start_slot in fresh:
            names = late[start_slot]
            told += await notify_staff(
                session,
                site_id=site.id,
                kind=Kind.staff_late,
                values={
                    "start": moment_value(utc_start(start_slot)),
                    "count": len(names),
                    "names": names[:NAMES_SHOWN] + (["…"] if len(names) > NAMES_SHOWN else []),
                },
                link=TODAY_BOARD,
                now=now,
                only_user_ids=[duty.user_id] if duty is not None else None,
                subject=subjects[start_slot],
            )
    return told


async def alert_missing_handovers(session: AsyncSession, *, now: dt.datetime) -> int:
    """Alert each site's staff once about every duty of the last day whose handover is overdue."""
    told = 0
    for site in await session.scalars(select(Site).order_by(Site.id)):
        due = dt.timedelta(minutes=site_settings(site).handover_due_minutes)
        rows = (
            await session.execute(
                select(Duty, User.display_name)
                .join(User, User.id == Duty.user_id)
                .outerjoin(Handover, Handover.duty_id == Duty.id)
                .where(Duty.site_id == site.id, Duty.cancelled_at.is_(None), Handover.id.is_(None))
                .where(Duty.ends_at <= now - due, Duty.ends_at > now - HANDOVER_LOOKBACK)
                .order_by(Duty.ends_at, Duty.id)
            )
        ).all()
        subjects = [f"handover:{duty.id}" for duty, _name in rows]
        done = await _already_told(session, Kind.staff_handover, subjects)
        for duty, name in rows:
            if f"handover:{duty.id}" in done:
                continue
            told += await notify_staff(
                session,
                site_id=site.id,
                kind=Kind.staff_handover,
                values={"name": name, "end": moment_value(duty.ends_at)},
                link=DUTY_ROSTER,
                now=now,
                subject=f"handover:{duty.id}",
            )
    return told
