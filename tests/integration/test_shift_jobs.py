"""The marketplace's timed work, as the worker runs it: nothing waits for somebody's next tap."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, Tier, User
from backend.availability.models import OfferedSlot, Preference
from backend.core.db import utcnow
from backend.notify.models import Kind, Notification
from backend.shifts import jobs, market, waitlist
from backend.shifts.digest import send_open_shift_digests
from backend.shifts.models import Shift, ShiftWaitlist
from tests.conftest import Factory
from tests.factories import a_skill, an_agent, an_open_shift
from tests.integration.test_market_claims import NOW, at


async def test_a_lapsed_waitlist_offer_passes_to_the_next_agent_without_anyone_tapping(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    holder, first, second = [await an_agent(people, skills=[skill], tier=Tier.senior) for _ in range(3)]
    shift = await an_open_shift(db, site, skill, start=at(6, "18:00"), seats=1, now=NOW)
    await market.claim_shift(db, shift_id=shift.id, agent=holder, now=NOW)
    await waitlist.join_waitlist(db, shift_id=shift.id, agent=first, now=NOW)
    await waitlist.join_waitlist(db, shift_id=shift.id, agent=second, now=NOW + dt.timedelta(seconds=1))
    released = NOW + dt.timedelta(minutes=1)
    await market.release_shift(db, shift_id=shift.id, agent=holder, now=released)

    assert (await jobs.run_due(db, now=released + dt.timedelta(minutes=29), digests=False))[
        "waitlist offers passed on"
    ] == 0
    lapsed = released + dt.timedelta(minutes=31)
    assert (await jobs.run_due(db, now=lapsed, digests=False))["waitlist offers passed on"] == 1

    entries = {e.user_id: e for e in await db.scalars(select(ShiftWaitlist).where(ShiftWaitlist.shift_id == shift.id))}
    assert set(entries) == {second.id}, "the first agent's turn has passed"
    assert entries[second.id].offer_expires_at == lapsed + dt.timedelta(minutes=30)
    told = await db.scalars(
        select(Notification.user_id).where(Notification.kind == Kind.waitlist_offer).order_by(Notification.id)
    )
    assert list(told) == [first.id, second.id]
    assert (await jobs.run_due(db, now=lapsed + dt.timedelta(minutes=1), digests=False))[
        "waitlist offers passed on"
    ] == 0


async def offers(db: AsyncSession, agent: User, shift: Shift) -> None:
    """The agent offered every half-hour of the shift."""
    for slot in range(shift.start_slot, shift.end_slot):
        db.add(OfferedSlot(user_id=agent.id, slot=slot, preference=Preference.preferred))
    await db.flush()


async def digests_of(db: AsyncSession, agent: User) -> list[Notification]:
    return list(
        await db.scalars(
            select(Notification)
            .where(Notification.user_id == agent.id, Notification.kind == Kind.open_shift)
            .order_by(Notification.id)
        )
    )


async def test_agents_hear_of_open_shifts_that_fit_them_once_their_window_opens_and_not_too_often(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    senior = await an_agent(people, skills=[skill], tier=Tier.senior)
    junior = await an_agent(people, skills=[skill], tier=Tier.junior)
    elsewhere = await an_agent(people, skills=[skill], tier=Tier.senior)  # offered other hours
    uncertified = await an_agent(people, tier=Tier.senior)
    senior.locale = "zh-Hans"
    now = utcnow()  # digests are stamped with the clock, so the story runs from now
    shift = await an_open_shift(db, site, skill, start=at(6, "18:00"), now=NOW)
    shift.opened_at = now - dt.timedelta(minutes=10)
    for agent in (senior, junior, uncertified):
        await offers(db, agent, shift)

    assert await send_open_shift_digests(db, now=now) == 1
    [news] = await digests_of(db, senior)
    assert news.title == "1 个新的开放班次适合你这周。"
    assert news.url == "/app/shifts/open"
    assert "18:00-22:00" in news.body
    assert await digests_of(db, junior) == [], "a junior hears of it when their window opens, 20 minutes in"
    assert await digests_of(db, elsewhere) == await digests_of(db, uncertified) == []

    assert await send_open_shift_digests(db, now=now + dt.timedelta(minutes=11)) == 1
    assert len(await digests_of(db, junior)) == 1
    later = await an_open_shift(db, site, skill, start=at(6, "08:00"), now=NOW)
    later.opened_at = now + dt.timedelta(minutes=1)
    await offers(db, senior, later)
    assert await send_open_shift_digests(db, now=now + dt.timedelta(minutes=12)) == 0, "one digest per 30 minutes"
    assert await send_open_shift_digests(db, now=now + dt.timedelta(minutes=31)) == 1
    _, second = await digests_of(db, senior)
    assert "08:00-12:00" in second.body
    assert "18:00" not in second.body, "a shift already told is not told again"
