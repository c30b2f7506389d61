"""Open shifts and cover offers show each agent what the settlement will pay them, not a flat site rate."""

from __future__ import annotations

import datetime as dt

import httpx
import time_machine
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, Tier, User
from backend.core.db import utcnow
from backend.core.money import format_money
from backend.core.slots import local_start, utc_start
from backend.pay import gather, periods
from backend.pay.settlement import settle_lines
from backend.shifts import market
from backend.shifts.models import Shift
from tests.conftest import login
from tests.factories import Factory, a_rate_card, a_skill, an_agent, an_open_shift, bearer
from tests.integration.test_market_pages import SHANGHAI, at

# The probe's card: junior 28, mid 32, senior 38 an hour (the site's flat base is 30).
CARD = {"base_hourly_minor": {"junior": 2800, "mid": 3200, "senior": 3800}, "urgent_bonus_minor": 1000}


async def settled_pay(db: AsyncSession, site: Site, shift: Shift, agent: User) -> int:
    """What the settlement pays ``agent`` for ``shift`` once worked: that shift's lines in its pay period."""
    period = await periods.period_for(db, site=site, day=local_start(shift.start_slot, SHANGHAI).date())
    work = await gather.agent_work(db, period=period, user_id=agent.id, now=utcnow())
    lines = settle_lines(work, await gather.period_rates(db, period=period, site=site))
    return sum(line.amount_minor for line in lines if line.shift_id == shift.id)


async def listed_pay(client: httpx.AsyncClient, db: AsyncSession, agent: User, shift: Shift) -> int:
    listed = await client.get("/api/v1/shifts", headers=await bearer(db, agent))
    assert listed.status_code == 200, listed.text
    return next(item["pay_minor"] for item in listed.json() if item["id"] == shift.id)


async def test_each_tier_sees_its_own_rate_and_the_settlement_pays_that_number(
    client: httpx.AsyncClient,
    db: AsyncSession,
    site: Site,
    people: Factory,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    await a_rate_card(db, site, CARD, effective_from=at(-60, "00:00").date())
    skill = await a_skill(db, site)
    shift = await an_open_shift(db, site, skill, start=at(5, "09:00"), hours=7, now=utcnow())
    mid = await an_agent(people, skills=[skill], tier=Tier.mid)
    junior = await an_agent(people, skills=[skill], tier=Tier.junior)

    assert await listed_pay(client, db, mid, shift) == 7 * 3200
    assert await listed_pay(client, db, junior, shift) == 7 * 2800
    await login(client, mid.email)
    assert format_money(7 * 3200, "CNY") in (await client.get("/app/shifts/open")).text
    coordinator = await people.make(Role.coordinator)
    made = await client.post(
        "/api/v1/shifts",
        json={"skill": skill.code, "start": at(6, "09:00").isoformat(), "end": at(6, "16:00").isoformat(), "seats": 1},
        headers=await bearer(db, coordinator),
    )
    assert made.json()["pay_by_tier_minor"] == {"junior": 7 * 2800, "mid": 7 * 3200, "senior": 7 * 3800}

    shown = await listed_pay(client, db, mid, shift)
    await market.claim_shift(db, shift_id=shift.id, agent=mid, now=utcnow())
    time_machine.move_to(utc_start(shift.end_slot) + dt.timedelta(hours=1), tick=True)
    assert await settled_pay(db, site, shift, mid) == shown


async def test_a_cover_offer_shows_the_bonus_the_settlement_adds_for_covering(
    client: httpx.AsyncClient,
    db: AsyncSession,
    site: Site,
    people: Factory,
    time_machine: time_machine.TimeMachineFixture,
) -> None:
    await a_rate_card(db, site, CARD, effective_from=at(-60, "00:00").date())
    skill = await a_skill(db, site)
    shift = await an_open_shift(db, site, skill, start=at(5, "09:00"), hours=7, seats=1, now=utcnow())
    holder = await an_agent(people, skills=[skill], tier=Tier.senior)
    await market.claim_shift(db, shift_id=shift.id, agent=holder, now=utcnow())
    mid = await an_agent(people, skills=[skill], tier=Tier.mid)
    coordinator = await people.make(Role.coordinator)
    raised = await client.post(
        f"/api/v1/shifts/{shift.id}/cover",
        json={"absent_user": holder.id, "reason": "no_show", "bonus_minor": 0},
        headers=await bearer(db, coordinator),
    )
    assert raised.status_code == 201, raised.text
    assert raised.json()["pay_minor"] is None  # staff are not paid for it

    offered = await client.get("/api/v1/cover-requests", headers=await bearer(db, mid))
    shown = offered.json()[0]["pay_minor"]
    assert shown == 7 * 3200 + CARD["urgent_bonus_minor"]  # no bonus of its own: the card's urgent bonus
    await login(client, mid.email)
    assert format_money(shown, "CNY") in (await client.get("/app/shifts/cover")).text

    accepted = await client.post(f"/api/v1/cover-requests/{raised.json()['id']}/accept", headers=await bearer(db, mid))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["pay_minor"] == shown
    time_machine.move_to(utc_start(shift.end_slot) + dt.timedelta(hours=1), tick=True)
    assert await settled_pay(db, site, shift, mid) == shown
