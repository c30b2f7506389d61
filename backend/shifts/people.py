"""What a coordinator opens an agent's page for: their shifts around today, hours this week against their
cap, reliability, certifications with expiry, and how to reach them.

The person page (``certifications``, below shifts in the layers) loads this as a fragment by URL
(``shifts/people_routes.py``), as a lower page does when a higher domain must show up in it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, Skill, User, skill_label
from backend.accounts.site_settings import site_settings
from backend.certifications.models import Certification
from backend.core.slots import slot_of, utc_start
from backend.shifts.allocation import Context
from backend.shifts.attendance import Reliability, reliability
from backend.shifts.models import Attendance, Shift, ShiftSeat

SPAN_DAYS = 14  # upcoming and recent shifts: two weeks either side of now
MAX_LISTED = 20


@dataclass(frozen=True)
class PersonShift:
    shift_id: int
    start_slot: int
    end_slot: int
    skill: str
    state: str  # no_show, waived, started, ended (not started, not marked), not_started, confirmed, unconfirmed

    @property
    def hours(self) -> float:
        return (self.end_slot - self.start_slot) / 2


@dataclass(frozen=True)
class PersonCertification:
    skill: str
    granted_at: dt.datetime
    expires_at: dt.datetime | None
    expired: bool


@dataclass(frozen=True)
class PersonWork:
    upcoming: list[PersonShift]
    recent: list[PersonShift]
    week_hours: float
    cap_hours: float | None  # the lower of the agent's own cap for the week and the site's; None: no cap
    reliability: Reliability
    certifications: list[PersonCertification]
    email: str


def _state(shift: Shift, attendance: Attendance | None, now: dt.datetime) -> str:
    if attendance is not None and attendance.no_show_at is not None:
        return "waived" if attendance.waived_at is not None else "no_show"
    if attendance is not None and attendance.started_at is not None:
        return "started"
    if slot_of(now) >= shift.end_slot:
        return "ended"
    if utc_start(shift.start_slot) <= now:
        return "not_started"
    return "confirmed" if attendance is not None and attendance.confirmed_at is not None else "unconfirmed"


async def person_work(session: AsyncSession, *, agent: User, site: Site, now: dt.datetime) -> PersonWork:
    """The agent's page facts at ``now`` (see the module); read only."""
    span = dt.timedelta(days=SPAN_DAYS)
    rows = (
        await session.execute(
            select(Shift, Attendance, Skill)
            .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
            .join(Skill, Skill.id == Shift.skill_id)
            .outerjoin(Attendance, Attendance.seat_id == ShiftSeat.id)
            .where(ShiftSeat.user_id == agent.id, Shift.site_id == site.id, Shift.cancelled_at.is_(None))
            .where(or_(ShiftSeat.released_at.is_(None), Attendance.no_show_at.is_not(None)))
            .where(Shift.start_slot >= slot_of(now - span), Shift.start_slot < slot_of(now + span))
            .order_by(Shift.start_slot, Shift.id)
        )
    ).all()
    shifts = [
        PersonShift(shift.id, shift.start_slot, shift.end_slot, skill_label(skill), _state(shift, attendance, now))
        for shift, attendance, skill in rows
    ]
    current = slot_of(now)
    upcoming = [shift for shift in shifts if shift.end_slot > current][:MAX_LISTED]
    recent = [shift for shift in shifts if shift.end_slot <= current][::-1][:MAX_LISTED]
    context = Context(session, agent, site, site_settings(site))
    week = await context.week_of(current)
    caps = [cap for cap in (week.facts.weekly_cap_slots, context.rules.weekly_cap_slots) if cap is not None]
    held = sum(held.end_slot - held.start_slot for held in week.held)
    certifications = [
        PersonCertification(
            skill_label(skill), cert.granted_at, cert.expires_at, cert.expires_at is not None and cert.expires_at <= now
        )
        for cert, skill in (
            await session.execute(
                select(Certification, Skill)
                .join(Skill, Skill.id == Certification.skill_id)
                .where(Certification.user_id == agent.id)
                .order_by(Skill.name, Certification.granted_at.desc())
            )
        ).all()
    ]
    return PersonWork(
        upcoming=upcoming,
        recent=recent,
        week_hours=held / 2,
        cap_hours=min(caps) / 2 if caps else None,
        reliability=await reliability(session, user_id=agent.id, now=now),
        certifications=certifications,
        email=agent.email,
    )
