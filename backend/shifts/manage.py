"""A coordinator changes or cancels an open shift once it is on the marketplace.

- **Edit.** Seats may go up or down, never below the seats already taken; the urgent bonus may change (typed
  in major units on the form); the times may change only while nobody has taken a seat, under the same rules
  as a new shift (half-hour boundaries, the site's shortest and longest shift, its planning horizon). A shift
  that has started, or was cancelled, no longer changes. New seats go first to the agents on the waitlist.
- **Cancel.** With a reason, which every seat holder is told; the shift leaves the marketplace at once, its
  open cover requests close, and nothing of it is worked or paid.

Every refusal names its field (422) or says why the shift no longer changes (409); another site's shift is 404.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, Skill, User
from backend.core.errors import Conflict, DomainError
from backend.core.i18n import gettext as _
from backend.core.slots import is_on_boundary, slot_of, utc_start
from backend.notify.service import Kind, moment_value, notify
from backend.shifts.allocation import market_shift
from backend.shifts.market import MAX_SEATS, _within_site_rules
from backend.shifts.models import CoverRequest, CoverStatus, Shift, ShiftSeat
from backend.shifts.waitlist import offer_free_seats

REASON_MAX_CHARS = 200
SCHEDULE_URL = "/app/shifts"


async def editable_shift(
    session: AsyncSession, *, site_id: int, shift_id: int, now: dt.datetime
) -> tuple[Shift, Skill]:
    """An open shift of the site that has not started and was not cancelled (409 otherwise; 404 if not the site's)."""
    shift, skill = await market_shift(session, shift_id=shift_id, site_id=site_id)
    if shift.opened_at is None:
        raise Conflict(_("This shift is not on the marketplace."))
    if shift.cancelled_at is not None:
        raise Conflict(_("This shift was cancelled."))
    if utc_start(shift.start_slot) <= now:
        raise Conflict(_("This shift has started: it can no longer change."))
    return shift, skill


async def edit_open_shift(
    session: AsyncSession,
    *,
    site: Site,
    shift_id: int,
    seats: int,
    bonus_minor: int,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
) -> Shift:
    """Change an open shift's seats, bonus and (while no seat is taken) times; see the module's rules."""
    shift, _skill = await editable_shift(session, site_id=site.id, shift_id=shift_id, now=now)
    moved = (slot_of(start), slot_of(end)) != (shift.start_slot, shift.end_slot)
    if moved:
        if shift.taken > 0:
            raise DomainError(_("The times can change only while nobody has taken a seat."), field="start")
        for name, moment in (("start", start), ("end", end)):
            if not is_on_boundary(moment):
                raise DomainError(_("Times must be on the hour or half past (:00 or :30)."), field=name)
        if end <= start:
            raise DomainError(_("The end must be after the start."), field="end")
        if start <= now:
            raise DomainError(_("The start is in the past."), field="start")
        _within_site_rules(site, start=start, end=end, now=now)
    if not 1 <= seats <= MAX_SEATS:
        raise DomainError(_("Seats must be between 1 and %(most)s.", most=MAX_SEATS), field="seats")
    if seats < shift.taken:
        raise DomainError(
            _("%(taken)s seats are already taken: seats cannot go below that.", taken=shift.taken), field="seats"
        )
    if bonus_minor < 0:
        raise DomainError(_("The bonus cannot be negative."), field="bonus")
    more = seats > shift.seats
    shift.seats, shift.bonus_minor = seats, bonus_minor
    if moved:
        shift.start_slot, shift.end_slot = slot_of(start), slot_of(end)
    await session.flush()
    if more:
        await offer_free_seats(session, shift=shift, site=site, now=now)
    return shift


def _reason(text: str) -> str:
    reason = " ".join(text.split())
    if not reason or len(reason) > REASON_MAX_CHARS:
        message = _("Say why it is cancelled, in up to %(count)s characters.", count=REASON_MAX_CHARS)
        raise DomainError(message, field="reason")
    return reason


async def cancel_open_shift(
    session: AsyncSession, *, site: Site, shift_id: int, reason: str, by: User, now: dt.datetime
) -> Shift:
    """Take an open shift off the marketplace; every seat holder is told why. Returns the cancelled shift."""
    text = _reason(reason)
    shift, _skill = await editable_shift(session, site_id=site.id, shift_id=shift_id, now=now)
    shift.cancelled_at = now
    await session.execute(
        update(CoverRequest)
        .where(CoverRequest.shift_id == shift.id, CoverRequest.status == CoverStatus.open)
        .values(status=CoverStatus.cancelled, closed_at=now, next_wave_at=None)
        .execution_options(synchronize_session=False)
    )
    holders = await session.scalars(
        select(ShiftSeat.user_id)
        .where(ShiftSeat.shift_id == shift.id, ShiftSeat.released_at.is_(None))
        .order_by(ShiftSeat.user_id)
    )
    for user_id in list(holders):
        await notify(
            session,
            user_id=user_id,
            kind=Kind.shift_change,
            message="shift_cancelled",
            values={"start": moment_value(utc_start(shift.start_slot)), "reason": text},
            url=SCHEDULE_URL,
            subject=f"shift:{shift.id}",
            now=now,
        )
    await session.flush()
    return shift
