"""What intraday offers do to pay, on hand-computed numbers: base 30.00/h (the site's fallback, junior).

- A 12:00-16:00 shift with a VTO from 14:00 on standby at 50 %: 2 h worked = 60.00, 2 h standby at
  50 % of 30.00 = 30.00.
- The same on release: 60.00 and no standby line.
- An extension of two half-hours on a 4 h shift: 5 h = 150.00.
- A VOT half-hour with a 15.00 bonus: 0.5 h = 15.00 and a ``vot_bonus`` line of 15.00 (not ``urgent_bonus``).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, Skill, User
from backend.core.db import utcnow
from backend.core.slots import slot_of
from backend.pay import gather, periods
from backend.pay.earnings import why
from backend.pay.models import LineKind
from backend.pay.settlement import Line, settle_lines, totals
from backend.shifts import intraday, market
from backend.shifts.models import IntradayCall, IntradayOffer
from tests.factories import Factory, a_held_shift, a_skill, an_agent

SHANGHAI = ZoneInfo("Asia/Shanghai")


def tomorrow(clock: str) -> dt.datetime:
    hour, minute = (int(part) for part in clock.split(":"))
    day = utcnow().astimezone(SHANGHAI).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


NOW = tomorrow("10:00")
AFTER = tomorrow("23:00")


@pytest.fixture
async def billing(db: AsyncSession, site: Site) -> Skill:
    return await a_skill(db, site, "billing")


@pytest.fixture
async def coordinator(people: Factory) -> User:
    return await people.make(Role.coordinator)


async def lines_of(db: AsyncSession, site: Site, agent: User) -> list[Line]:
    period = await periods.period_for(db, site=site, day=tomorrow("12:00").date())
    work = await gather.agent_work(db, period=period, user_id=agent.id, now=AFTER)
    return settle_lines(work, await gather.period_rates(db, period=period, site=site))


async def accept_vto(
    db: AsyncSession, site: Site, billing: Skill, coordinator: User, agent: User, *, standby: bool
) -> None:
    call: IntradayCall = await intraday.start_vto(
        db,
        site=site,
        skill_id=billing.id,
        start_slot=slot_of(tomorrow("14:00")),
        end_slot=slot_of(tomorrow("16:00")),
        surplus=1,
        standby=standby,
        by=coordinator,
        now=NOW,
    )
    (offer,) = await intraday.offers_of_call(db, call_id=call.id)
    assert isinstance(offer, IntradayOffer)
    assert offer.user_id == agent.id
    await intraday.accept_offer(db, offer_id=offer.id, agent=agent, now=NOW)


async def test_standby_pays_half_the_base_for_the_time_released(
    db: AsyncSession, site: Site, people: Factory, billing: Skill, coordinator: User
) -> None:
    agent = await an_agent(people, skills=[billing])
    await a_held_shift(db, agent, tomorrow("12:00"), slots=8, skill=billing)
    await accept_vto(db, site, billing, coordinator, agent, standby=True)
    lines = await lines_of(db, site, agent)
    assert [(line.kind, line.quantity, line.rate_minor, line.amount_minor) for line in lines] == [
        (LineKind.base, 120, 3000, 6000),
        (LineKind.standby, 120, 50, 3000),
    ]
    assert totals(lines)["base_minor"] == 9000


async def test_release_pays_nothing_for_the_time_released(
    db: AsyncSession, site: Site, people: Factory, billing: Skill, coordinator: User
) -> None:
    agent = await an_agent(people, skills=[billing])
    await a_held_shift(db, agent, tomorrow("12:00"), slots=8, skill=billing)
    await accept_vto(db, site, billing, coordinator, agent, standby=False)
    lines = await lines_of(db, site, agent)
    assert [(line.kind, line.quantity, line.amount_minor) for line in lines] == [(LineKind.base, 120, 6000)]


async def test_an_extension_pays_the_longer_shift(
    db: AsyncSession, site: Site, people: Factory, billing: Skill, coordinator: User
) -> None:
    agent = await an_agent(people, skills=[billing])
    shift = await a_held_shift(db, agent, tomorrow("12:00"), slots=8, skill=billing)
    offer = await intraday.offer_extension(
        db, shift_id=shift.id, user_id=agent.id, half_hours=2, by=coordinator, now=NOW
    )
    await intraday.accept_offer(db, offer_id=offer.id, agent=agent, now=NOW)
    lines = await lines_of(db, site, agent)
    assert [(line.kind, line.quantity, line.amount_minor) for line in lines] == [(LineKind.base, 300, 15000)]


async def test_a_vot_half_hour_pays_its_bonus_as_a_vot_line(
    db: AsyncSession, site: Site, people: Factory, billing: Skill, coordinator: User
) -> None:
    agent = await an_agent(people, skills=[billing])
    shift = await intraday.start_vot(
        db,
        site=site,
        skill_id=billing.id,
        start_slot=slot_of(tomorrow("16:00")),
        end_slot=slot_of(tomorrow("16:30")),
        wanted=1,
        bonus_minor=1500,
        by=coordinator,
        now=NOW - dt.timedelta(hours=2),  # open long enough for every tier's window
    )
    await market.claim_shift(db, shift_id=shift.id, agent=agent, now=NOW)
    lines = await lines_of(db, site, agent)
    assert [(line.kind, line.quantity, line.amount_minor) for line in lines] == [
        (LineKind.base, 30, 1500),
        (LineKind.vot_bonus, 1, 1500),
    ]
    assert totals(lines)["bonus_minor"] == 1500


def test_the_new_lines_say_why_they_pay_what_they_do() -> None:
    standby = why(
        kind="standby", quantity=120, rate_minor=50, amount_minor=3000, work_kind=None, note="", currency="CNY"
    )
    bonus = why(
        kind="vot_bonus", quantity=1, rate_minor=1500, amount_minor=1500, work_kind=None, note="", currency="CNY"
    )
    assert standby == "2 h of time off you volunteered for, on paid standby at 50% of your base = CNY 30.00"
    assert bonus == "Overtime bonus for the extra half-hours you took on the day: CNY 15.00"
