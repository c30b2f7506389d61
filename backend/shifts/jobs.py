"""The shifts' timed work: what would otherwise wait until somebody next taps that shift.

The worker (``backend.worker``) runs ``run_due`` every round, in its own
transaction, so a waitlist offer that lapsed at 03:00 passes to the next agent
at 03:00 and not when the shift is next opened; a request window is drawn when
it closes, the next cover wave goes out on time, the day-before reminders are
sent, certifications about to lapse are reminded of, and the open-shift digests
(about once a minute, see ``worker``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.core.slots import slot_of
from backend.learning import growth
from backend.learning.jobs import remind_expiring_certifications
from backend.shifts import attendance, cover
from backend.shifts.digest import send_open_shift_digests
from backend.shifts.lottery import due_draws
from backend.shifts.models import Shift, ShiftWaitlist
from backend.shifts.waitlist import advance_waitlist


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


async def run_due(session: AsyncSession, *, now: dt.datetime, digests: bool = True) -> dict[str, int]:
    """Everything due at ``now``, by name, with how much each did (for the worker's log).

    ``digests`` scans for open-shift digests and tier promotions too; the worker asks for it about
    once a minute (those scans read every agent's week, the rest is a few indexed queries).
    """
    done = {"waitlist offers passed on": await pass_lapsed_offers(session, now=now)}
    done["request windows drawn"] = await due_draws(session, now=now)
    done["cover waves sent"] = len(await cover.due_waves(session, now=now))
    done["shift reminders sent"] = await attendance.send_reminders(session, now=now)
    done["certification reminders sent"] = await remind_expiring_certifications(session, now=now)
    if digests:
        done["open-shift digests"] = await send_open_shift_digests(session, now=now)
        done["promotion suggestions open"] = await growth.refresh_all_promotions(session, now=now)
    return done
