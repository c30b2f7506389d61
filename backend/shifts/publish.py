"""Publishing a roster version as shifts: one held seat per line, one open shift per gap.

Only what has not started is replaced: a republish mid-week leaves started
and past shifts alone, keeps open shifts someone has already claimed, and
cancels the previous version's unstarted shifts (cancelled, not deleted, so
an agent's history and the calendar feed can say what went away).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site
from backend.accounts.site_settings import site_settings
from backend.core.slots import first_unstarted_slot
from backend.shifts.models import Shift, ShiftOrigin, ShiftSeat

Placement = tuple[int, int, int, int]  # (user_id, skill_id, start_slot, end_slot)
Gap = tuple[int, int, int, int]  # (skill_id, start_slot, end_slot, seats)


async def publish_week_shifts(
    session: AsyncSession,
    *,
    site_id: int,
    slots: range,
    version_id: int,
    lines: list[Placement],
    gaps: list[Gap],
    now: dt.datetime,
) -> int:
    """Replace the week's unstarted rostered and unclaimed open shifts; answers how many shifts were made."""
    first = max(slots.start, first_unstarted_slot(now))
    await session.execute(
        update(Shift)
        .where(Shift.site_id == site_id, Shift.start_slot >= first, Shift.start_slot < slots.stop)
        .where(Shift.cancelled_at.is_(None), Shift.roster_version_id.is_not(None))
        .where((Shift.origin == ShiftOrigin.roster) | ((Shift.origin == ShiftOrigin.gap) & (Shift.taken == 0)))
        .values(cancelled_at=now)
    )
    made = 0
    for user_id, skill_id, start, end in lines:
        if start < first:
            continue
        shift = Shift(
            site_id=site_id,
            skill_id=skill_id,
            start_slot=start,
            end_slot=end,
            seats=1,
            taken=1,
            origin=ShiftOrigin.roster,
            roster_version_id=version_id,
        )
        session.add(shift)
        await session.flush()
        session.add(ShiftSeat(shift_id=shift.id, user_id=user_id, taken_at=now))
        made += 1
    site = await session.get(Site, site_id)
    requests_close_at = site_settings(site).requests_close_at(now) if site is not None else None
    for skill_id, start, end, seats in gaps:
        if start < first:
            continue
        session.add(
            Shift(
                site_id=site_id,
                skill_id=skill_id,
                start_slot=start,
                end_slot=end,
                seats=seats,
                taken=0,
                origin=ShiftOrigin.gap,
                roster_version_id=version_id,
                opened_at=now,
                requests_close_at=requests_close_at,
            )
        )
        made += 1
    await session.flush()
    return made


async def claimed_seats(session: AsyncSession, *, site_id: int, slots: range) -> list[Placement]:
    """Seats agents hold on shifts that are not the roster's own (claimed open shifts, hand-made shifts)."""
    rows = await session.execute(
        select(ShiftSeat.user_id, Shift.skill_id, Shift.start_slot, Shift.end_slot)
        .join(Shift, Shift.id == ShiftSeat.shift_id)
        .where(Shift.site_id == site_id, Shift.origin != ShiftOrigin.roster, Shift.cancelled_at.is_(None))
        .where(ShiftSeat.released_at.is_(None))
        .where(Shift.start_slot < slots.stop, Shift.end_slot > slots.start)
    )
    return [(int(u), int(k), int(s), int(e)) for u, k, s, e in rows]
