"""The shifts an agent holds, their schedule page, and their private calendar-feed address.

An agent holds a shift while they have a seat on it that is not released and
the shift is not cancelled; everything here asks that one question
(``_held``), so the page and the calendar feed can never disagree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import groupby
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Skill, User, localized_skill_name
from backend.accounts.zones import user_zone
from backend.core.bounds import LATEST_SLOT
from backend.core.db import utcnow
from backend.core.errors import NotFound
from backend.core.security import hash_secret, new_secret
from backend.core.slots import Slot, hours, local_day_slots, local_start, slot_of, utc_start
from backend.shifts.models import CalendarFeed, Shift, ShiftSeat

PAST_DAYS = 14


@dataclass(frozen=True)
class HeldShift:
    """One shift an agent holds, with its skill: plain values, safe to use after the session closes."""

    shift_id: int
    start_slot: Slot
    end_slot: Slot
    skill_code: str
    skill_name: str
    skill_name_zh: str

    def skill_label(self, locale: str) -> str:
        """The skill's name in ``locale``, falling back to English when no Chinese name was given."""
        return localized_skill_name(self.skill_name, self.skill_name_zh, locale)

    @property
    def hours(self) -> float:
        return hours(self.end_slot - self.start_slot)


async def my_shifts(
    session: AsyncSession, *, user_id: int, since_slot: Slot, until_slot: Slot | None = None
) -> list[HeldShift]:
    """The shifts ``user_id`` holds that end after ``since_slot`` (and start before ``until_slot``), by start.

    A shift under way at ``since_slot`` is included: it has not finished. Without ``until_slot`` the
    list stops at ``bounds.LATEST``: a shift past it (only a direct insert makes one) has no local time.
    """
    end_slot = func.coalesce(ShiftSeat.extended_to_slot, Shift.end_slot)  # an accepted extension stays longer
    query = (
        select(Shift.id, Shift.start_slot, end_slot, Skill.code, Skill.name, Skill.name_zh)
        .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
        .join(Skill, Skill.id == Shift.skill_id)
        .where(
            ShiftSeat.user_id == user_id,
            ShiftSeat.released_at.is_(None),
            Shift.cancelled_at.is_(None),
            end_slot > since_slot,
        )
        .order_by(Shift.start_slot, Shift.id)
    )
    query = query.where(Shift.start_slot < (LATEST_SLOT if until_slot is None else min(until_slot, LATEST_SLOT)))
    return [HeldShift(*row) for row in await session.execute(query)]


@dataclass(frozen=True)
class ScheduledShift:
    """A held shift as the agent's schedule shows it, in the agent's own time zone."""

    held: HeldShift
    starts: dt.datetime
    ends: dt.datetime
    is_now: bool = False
    is_next: bool = False

    @property
    def ends_next_day(self) -> bool:
        return self.ends.date() > self.starts.date()


@dataclass(frozen=True)
class ScheduleDay:
    day: dt.date
    shifts: list[ScheduledShift]

    @property
    def hours(self) -> float:
        return sum(item.held.hours for item in self.shifts)


@dataclass(frozen=True)
class Schedule:
    """Upcoming days (soonest first, today included) and the past two weeks (latest first)."""

    zone: ZoneInfo
    today: dt.date
    upcoming: list[ScheduleDay]
    past: list[ScheduleDay]

    @property
    def upcoming_hours(self) -> float:
        return sum(day.hours for day in self.upcoming)

    @property
    def past_hours(self) -> float:
        return sum(day.hours for day in self.past)

    @property
    def past_count(self) -> int:
        return sum(len(day.shifts) for day in self.past)


def _by_local_day(items: list[ScheduledShift]) -> list[ScheduleDay]:
    return [ScheduleDay(day, list(group)) for day, group in groupby(items, key=lambda item: item.starts.date())]


async def upcoming_and_past(session: AsyncSession, *, user: User, now: dt.datetime) -> Schedule:
    """The agent's schedule: shifts not yet over grouped by local start day, then the last two weeks.

    The shift under way is marked ``is_now`` and the first one not yet begun ``is_next``. A shift
    that crosses midnight belongs to the day it starts on.
    """
    zone = user_zone(user)
    today = now.astimezone(zone).date()
    past_start = local_day_slots(today - dt.timedelta(days=PAST_DAYS), zone).start
    held = await my_shifts(session, user_id=user.id, since_slot=past_start)
    upcoming: list[ScheduledShift] = []
    past: list[ScheduledShift] = []
    next_marked = False
    for shift in held:
        starts, ends = local_start(shift.start_slot, zone), local_start(shift.end_slot, zone)
        if utc_start(shift.end_slot) <= now:
            past.append(ScheduledShift(shift, starts, ends))
            continue
        is_now = utc_start(shift.start_slot) <= now
        is_next = not is_now and not next_marked
        next_marked = next_marked or is_next
        upcoming.append(ScheduledShift(shift, starts, ends, is_now=is_now, is_next=is_next))
    past.reverse()
    return Schedule(zone=zone, today=today, upcoming=_by_local_day(upcoming), past=_by_local_day(past))


FEED_PAST_DAYS = 28


async def feed_shifts(session: AsyncSession, *, user_id: int, now: dt.datetime) -> list[HeldShift]:
    """What the calendar feed lists: held shifts from four weeks back onwards."""
    return await my_shifts(session, user_id=user_id, since_slot=slot_of(now - dt.timedelta(days=FEED_PAST_DAYS)))


async def calendar_feed_url_secret(session: AsyncSession, user: User) -> str:
    """Create the agent's feed address, or replace it (the old one stops working); return the secret once.

    Only its hash is stored, as for sessions and API tokens, so the address cannot be shown again.
    """
    secret = new_secret()
    feed = await session.get(CalendarFeed, user.id)
    if feed is None:
        session.add(CalendarFeed(user_id=user.id, secret_hash=hash_secret(secret)))
    else:
        feed.secret_hash = hash_secret(secret)
        feed.created_at = utcnow()
    await session.flush()
    return secret


async def calendar_feed_of(session: AsyncSession, *, user_id: int) -> CalendarFeed | None:
    return await session.get(CalendarFeed, user_id)


async def revoke_calendar_feed(session: AsyncSession, user: User) -> None:
    """Forget the feed address: calendar apps subscribed to it get 404 from now on."""
    feed = await session.get(CalendarFeed, user.id)
    if feed is not None:
        await session.delete(feed)
        await session.flush()


async def user_for_feed(session: AsyncSession, secret: str) -> User:
    """The owner of a live feed address; unknown and revoked secrets, and inactive owners, are not found."""
    user = await session.scalar(
        select(User)
        .join(CalendarFeed, CalendarFeed.user_id == User.id)
        .where(CalendarFeed.secret_hash == hash_secret(secret))
    )
    if user is None or not user.is_active:
        raise NotFound("calendar feed")
    return user
