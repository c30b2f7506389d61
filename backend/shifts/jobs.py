"""The shifts' timed work: what would otherwise wait until somebody next taps that shift.

The worker (``backend.worker``) runs ``EVERY_ROUND`` every round and ``EVERY_MINUTE`` about once a
minute, in its own transaction, so a waitlist offer that lapsed at 03:00 passes to the next agent
at 03:00 and not when the shift is next opened; a request window is drawn when it closes, the next
cover wave goes out on time, the day-before reminders are sent, and the open-shift digests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, User, UserStatus
from backend.accounts.zones import site_zone
from backend.core.slots import local_day_slots, slot_of
from backend.notify.service import Kind, notify_staff
from backend.shifts import attendance, cover, intraday
from backend.shifts.digest import send_open_shift_digests
from backend.shifts.lottery import due_draws
from backend.shifts.models import Attendance, Shift, ShiftSeat, ShiftWaitlist
from backend.shifts.waitlist import advance_waitlist

UNCONFIRMED_ALERT_HOUR = 18  # site-local: late enough for most to have confirmed, early enough to call round
UNCONFIRMED_NAMES_SHOWN = 20
Job = Callable[..., Awaitable[int]]  # job(session, *, now): do what is due at ``now``, answer how much


async def pass_lapsed_offers(session: AsyncSession, *, now: dt.datetime) -> int:
    """Hand every lapsed waitlist offer of a shift not yet started to the next eligible agent; answers how many."""
    shifts = await session.execute(
        select(Shift.id, Shift.site_id)
        .join(ShiftWaitlist, ShiftWaitlist.shift_id == Shift.id)
        .where(ShiftWaitlist.offer_expires_at <= now)
        .where(Shift.cancelled_at.is_(None), Shift.start_slot > slot_of(now))
        .distinct()
    )
    offered = 0
    for shift_id, site_id in list(shifts):
        offered += len(await advance_waitlist(session, shift_id=shift_id, site_id=site_id, now=now))
    return offered


async def send_cover_waves(session: AsyncSession, *, now: dt.datetime) -> int:
    """Send every cover wave that is due; answers how many cover requests it touched."""
    return len(await cover.due_waves(session, now=now))


async def alert_unconfirmed(session: AsyncSession, *, now: dt.datetime) -> int:
    """From ``UNCONFIRMED_ALERT_HOUR`` (site-local) each day: one alert to the site's staff naming tomorrow's
    seats not yet confirmed, once a day (its subject is the site and the day); answers how many were told."""
    told = 0
    for site in await session.scalars(select(Site).order_by(Site.id)):
        zone = site_zone(site)
        local = now.astimezone(zone)
        if local.hour < UNCONFIRMED_ALERT_HOUR:
            continue
        tomorrow = local.date() + dt.timedelta(days=1)
        span = local_day_slots(tomorrow, zone)
        names = list(
            await session.scalars(
                select(User.display_name)
                .join(ShiftSeat, ShiftSeat.user_id == User.id)
                .join(Shift, Shift.id == ShiftSeat.shift_id)
                .outerjoin(Attendance, Attendance.seat_id == ShiftSeat.id)
                .where(Shift.site_id == site.id, Shift.cancelled_at.is_(None), ShiftSeat.released_at.is_(None))
                .where(Shift.start_slot >= span.start, Shift.start_slot < span.stop)
                .where(User.status == UserStatus.active, Attendance.confirmed_at.is_(None))
                .order_by(Shift.start_slot, User.display_name)
            )
        )
        if not names:
            continue
        shown = names[:UNCONFIRMED_NAMES_SHOWN] + (["…"] if len(names) > UNCONFIRMED_NAMES_SHOWN else [])
        told += await notify_staff(
            session,
            site_id=site.id,
            kind=Kind.staff_unconfirmed,
            values={"day": tomorrow.isoformat(), "count": len(names), "names": shown},
            link=f"/admin/attendance?day={tomorrow.isoformat()}",
            now=now,
            subject=f"unconfirmed:{site.id}:{tomorrow.isoformat()}",
        )
    return told


# By name, for the worker's log. The once-a-minute scans read every agent's week; the rest is a few indexed queries.
EVERY_ROUND: list[tuple[str, Job]] = [
    ("waitlist offers passed on", pass_lapsed_offers),
    ("request windows drawn", due_draws),
    ("cover waves sent", send_cover_waves),
    ("shift reminders sent", attendance.send_reminders),
    ("intraday offers lapsed", intraday.lapse_intraday_offers),
]
EVERY_MINUTE: list[tuple[str, Job]] = [
    ("open-shift digests", send_open_shift_digests),
    ("unfilled cover alerts sent", cover.alert_unfilled),
    ("unconfirmed-shift alerts sent", alert_unconfirmed),
]


async def run_due(session: AsyncSession, *, now: dt.datetime, digests: bool = True) -> dict[str, int]:
    """The shifts' jobs due at ``now``, by name, with how much each did; ``digests`` adds the once-a-minute ones."""
    jobs = [*EVERY_ROUND, *(EVERY_MINUTE if digests else [])]
    return {name: await job(session, now=now) for name, job in jobs}
