"""The open-shift digest: one notification per agent per period, listing the new open shifts that fit them.

A shift fits an agent when they offered every half-hour of it and could claim
it now (the claim rules: ``allocation.Context.refusals``). It is new to the
agent when their priority window opened since their last digest, so a junior
hears of a shift when they may claim it, never before a senior could. At most
one digest per agent per ``open_shift_digest_minutes`` (site setting); its push
replaces a pending one (one subject per agent), so a busy evening is one buzz,
not a flood.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, Skill, User, UserStatus
from backend.accounts.site_settings import site_settings
from backend.availability.models import OfferedSlot
from backend.core.bounds import LATEST_SLOT
from backend.core.slots import slot_of, utc_start
from backend.notify.models import Notification
from backend.notify.service import Kind, moment_value, notify, skill_values
from backend.shifts.allocation import Context
from backend.shifts.models import Shift

LOOKBACK = dt.timedelta(hours=24)  # a first digest mentions shifts opened for the agent within this
LISTED = 3  # shifts named in the digest's body; the page has the rest
OPEN_SHIFTS_URL = "/app/shifts/open"


async def send_open_shift_digests(session: AsyncSession, *, now: dt.datetime) -> int:
    """Write every due digest (inbox row + push) in this transaction; answers how many agents were told."""
    told = 0
    for site in list(await session.scalars(select(Site).order_by(Site.id))):
        told += await _digest_site(session, site, now)
    return told


async def _digest_site(session: AsyncSession, site: Site, now: dt.datetime) -> int:
    open_shifts = (
        await session.execute(
            select(Shift, Skill)
            .join(Skill, Skill.id == Shift.skill_id)
            .where(Shift.site_id == site.id, Shift.cancelled_at.is_(None), Shift.opened_at.is_not(None))
            .where(Shift.opened_at > now - LOOKBACK, Shift.taken < Shift.seats, Shift.start_slot > slot_of(now))
            .where(Shift.start_slot < LATEST_SLOT)  # past it only by a direct insert: no local time to show
            .order_by(Shift.start_slot, Shift.id)
        )
    ).all()
    if not open_shifts:
        return 0
    settings = site_settings(site)
    period = dt.timedelta(minutes=settings.open_shift_digest_minutes)
    agents = list(
        await session.scalars(
            select(User).where(User.site_id == site.id, User.role == Role.agent, User.status == UserStatus.active)
        )
    )
    last = await _last_digests(session, [agent.id for agent in agents])
    offered = await _offered(session, agents, open_shifts)
    told = 0
    for agent in agents:
        since = last.get(agent.id)
        if since is not None and now - since < period:
            continue
        context = Context(session, agent, site, settings)
        fits = []
        for shift, skill in open_shifts:
            if not set(range(shift.start_slot, shift.end_slot)) <= offered[agent.id]:
                continue
            opens = await context.opens_at(shift)
            if not (since or now - LOOKBACK) < opens <= now:
                continue
            if not await context.refusals(shift, skill):
                fits.append((shift, skill))
        if fits:
            await _tell(session, agent, fits, now)
            told += 1
    return told


async def _last_digests(session: AsyncSession, user_ids: list[int]) -> dict[int, dt.datetime]:
    rows = await session.execute(
        select(Notification.user_id, func.max(Notification.created_at))
        .where(Notification.user_id.in_(user_ids), Notification.kind == Kind.open_shift)
        .group_by(Notification.user_id)
    )
    return {int(user_id): at for user_id, at in rows}


async def _offered(session: AsyncSession, agents: list[User], shifts: list[tuple[Shift, Skill]]) -> dict[int, set[int]]:
    """Each agent's offered slots over the span of the open shifts."""
    first = min(shift.start_slot for shift, _ in shifts)
    last = max(shift.end_slot for shift, _ in shifts)
    rows = await session.execute(
        select(OfferedSlot.user_id, OfferedSlot.slot)
        .where(OfferedSlot.user_id.in_([agent.id for agent in agents]))
        .where(OfferedSlot.slot >= first, OfferedSlot.slot < last)
    )
    offered: dict[int, set[int]] = defaultdict(set)
    for user_id, slot in rows:
        offered[int(user_id)].add(int(slot))
    return offered


def _line(shift: Shift, skill: Skill) -> dict[str, str]:
    """One listed shift (``Tue 18:00-21:00 · Billing`` once worded in the reader's language and zone)."""
    return {
        "start": moment_value(utc_start(shift.start_slot)),
        "end": moment_value(utc_start(shift.end_slot)),
        **skill_values(skill),
    }


async def _tell(session: AsyncSession, agent: User, fits: list[tuple[Shift, Skill]], now: dt.datetime) -> None:
    lines = [_line(shift, skill) for shift, skill in fits[:LISTED]]
    await notify(
        session,
        user_id=agent.id,
        kind=Kind.open_shift,
        message="open_shifts_digest",
        values={"count": len(fits), "lines": lines},
        url=OPEN_SHIFTS_URL,
        subject=f"open_shifts:{agent.id}",
        now=now,
    )
