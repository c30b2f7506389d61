"""The waitlist of a full shift: join, leave, and the time-limited offer of a seat that comes back.

The first eligible agent waiting gets the offer; while it stands the seat is
theirs alone (``allocation.live_offers`` keeps it from everyone else). An
offer that lapses is dropped and passed on the next time anyone touches the
shift (a release, an undo, a claim, a join).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, Skill, User
from backend.accounts.site_settings import site_settings
from backend.core.errors import Conflict
from backend.core.i18n import gettext as _
from backend.core.slots import utc_start
from backend.notify.service import Kind, moment_value, notify
from backend.shifts.allocation import (
    ClaimRefused,
    Context,
    ensure_agent,
    ensure_not_started,
    lock_agent,
    market_shift,
    seat_of,
    waiting_entry,
)
from backend.shifts.models import Shift, ShiftWaitlist

OPEN_SHIFTS_URL = "/app/shifts/open"


async def join_waitlist(session: AsyncSession, *, shift_id: int, agent: User, now: dt.datetime) -> int:
    """Queue for a full shift the agent could otherwise take; answers their place (1 = next offered)."""
    ensure_agent(agent)
    shift, skill = await market_shift(session, shift_id=shift_id, site_id=agent.site_id)
    ensure_not_started(shift, now)
    await lock_agent(session, agent.id)
    seat = await seat_of(session, shift.id, agent.id)
    if seat is not None and seat.released_at is None:
        raise Conflict(_("You already hold this shift."))
    existing = await waiting_entry(session, shift.id, agent.id)
    if existing is None:
        if shift.taken < shift.seats:
            raise Conflict(_("A seat is free: claim it instead."))
        site = await session.get(Site, agent.site_id)
        assert site is not None
        reasons = await Context(session, agent, site, site_settings(site)).refusals(shift, skill)
        if reasons:
            raise ClaimRefused(reasons)
        existing = ShiftWaitlist(shift_id=shift.id, user_id=agent.id, joined_at=now)
        session.add(existing)
        await session.flush()
    ahead = await session.scalar(
        select(func.count())
        .select_from(ShiftWaitlist)
        .where(ShiftWaitlist.shift_id == shift.id, ShiftWaitlist.offered_at.is_(None))
        .where(
            (ShiftWaitlist.joined_at < existing.joined_at)
            | ((ShiftWaitlist.joined_at == existing.joined_at) & (ShiftWaitlist.id < existing.id))
        )
    )
    return int(ahead or 0) + 1


async def leave_waitlist(session: AsyncSession, *, shift_id: int, agent: User, now: dt.datetime) -> None:
    """Leave the queue (idempotent); an offer the agent held passes to the next in line."""
    ensure_agent(agent)
    shift, _skill = await market_shift(session, shift_id=shift_id, site_id=agent.site_id)
    wait = await waiting_entry(session, shift.id, agent.id)
    if wait is None:
        return
    had_offer = wait.offered_at is not None
    await session.delete(wait)
    await session.flush()
    if had_offer:
        site = await session.get(Site, agent.site_id)
        assert site is not None
        await offer_free_seats(session, shift=shift, site=site, now=now)


async def offer_free_seats(session: AsyncSession, *, shift: Shift, site: Site, now: dt.datetime) -> list[int]:
    """Offer each free, unreserved seat to the first eligible agent waiting; answers who was offered.

    Expired offers are dropped first (that agent's turn has passed). An agent who is no longer eligible
    (a clash since they joined, a lapsed certification) keeps their place but is passed over this time.
    """
    if shift.cancelled_at is not None or utc_start(shift.start_slot) <= now:
        return []
    await session.execute(
        delete(ShiftWaitlist).where(ShiftWaitlist.shift_id == shift.id, ShiftWaitlist.offer_expires_at <= now)
    )
    live = await session.scalar(
        select(func.count())
        .select_from(ShiftWaitlist)
        .where(ShiftWaitlist.shift_id == shift.id, ShiftWaitlist.offer_expires_at > now)
    )
    free = shift.seats - shift.taken - int(live or 0)
    if free <= 0:
        return []
    settings = site_settings(site)
    skill = await session.get(Skill, shift.skill_id)
    assert skill is not None
    waiting = await session.scalars(
        select(ShiftWaitlist)
        .where(ShiftWaitlist.shift_id == shift.id, ShiftWaitlist.offered_at.is_(None))
        .order_by(ShiftWaitlist.joined_at, ShiftWaitlist.id)
    )
    offered: list[int] = []
    for entry in list(waiting):
        if free <= 0:
            break
        user = await session.get(User, entry.user_id)
        if user is None or not user.is_active:
            continue
        if await Context(session, user, site, settings).refusals(shift, skill):
            continue
        entry.offered_at = now
        entry.offer_expires_at = now + dt.timedelta(minutes=settings.waitlist_offer_minutes)
        await _tell_offer(session, user=user, shift=shift, until=entry.offer_expires_at)
        offered.append(user.id)
        free -= 1
    await session.flush()
    return offered


async def _tell_offer(session: AsyncSession, *, user: User, shift: Shift, until: dt.datetime) -> None:
    """The offer's notification, worded in the agent's own language and time zone."""
    await notify(
        session,
        user_id=user.id,
        kind=Kind.waitlist_offer,
        message="waitlist_offer",
        values={"start": moment_value(utc_start(shift.start_slot)), "until": moment_value(until)},
        url=f"{OPEN_SHIFTS_URL}#shift-{shift.id}",
        subject=f"shift:{shift.id}",
    )


async def advance_waitlist(session: AsyncSession, *, shift_id: int, site_id: int, now: dt.datetime) -> list[int]:
    """Pass expired offers on to the next in line; called before a claim when an offer has lapsed.

    The shift row is locked first, so two requests cannot both hand out the same seat.
    """
    stale = await session.scalar(
        select(func.count())
        .select_from(ShiftWaitlist)
        .where(ShiftWaitlist.shift_id == shift_id, ShiftWaitlist.offer_expires_at <= now)
    )
    if not stale:
        return []
    shift, _skill = await market_shift(session, shift_id=shift_id, site_id=site_id)
    if session.get_bind().dialect.name != "sqlite":
        await session.execute(select(Shift.id).where(Shift.id == shift_id).with_for_update())
        await session.refresh(shift)
    site = await session.get(Site, site_id)
    assert site is not None
    return await offer_free_seats(session, shift=shift, site=site, now=now)
