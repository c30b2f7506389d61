"""VTO acceptances racing each other for real, each in its own unit of work against one fresh database (as in
``test_claim_race``): forty agents hold an offer for five places and all accept at once; one agent taps
accept ten times at once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, update

from backend.accounts import service as accounts
from backend.accounts.models import Role, Tier, User
from backend.accounts.zones import site_zone
from backend.core.db import Database, create_engine, utcnow
from backend.core.errors import Conflict
from backend.core.migrate import migrate
from backend.core.slots import slot_of
from backend.shifts import intraday
from backend.shifts.models import IntradayCall, IntradayOffer, OfferStatus, Shift, ShiftOrigin, ShiftSeat

AGENTS = 40
PLACES = 5


@dataclass
class Arena:
    database: Database
    dialect: str
    site_id: int
    skill_id: int
    coordinator_id: int
    agent_ids: list[int]
    start: dt.datetime  # the shifts' start: tomorrow 12:00 at the site

    async def call(self, *, wanted: int) -> tuple[int, dict[int, int]]:
        """A VTO call for the last two hours of everyone's shift, asked of all agents, then narrowed to
        ``wanted`` places; answers the call and each agent's offer."""
        now = self.start - dt.timedelta(hours=2)
        async with self.database.session(write=True) as session:
            site = await accounts.get_site(session, self.site_id)
            coordinator = await session.get(User, self.coordinator_id)
            assert coordinator is not None
            call = await intraday.start_vto(
                session,
                site=site,
                skill_id=self.skill_id,
                start_slot=slot_of(self.start) + 4,
                end_slot=slot_of(self.start) + 8,
                surplus=AGENTS // 2,  # two offers per place: every agent is asked at once
                standby=True,
                by=coordinator,
                now=now,
            )
            await session.execute(update(IntradayCall).where(IntradayCall.id == call.id).values(wanted=wanted))
            offers = await intraday.offers_of_call(session, call_id=call.id)
            return call.id, {offer.user_id: offer.id for offer in offers}

    async def accept(self, offer_id: int, agent_id: int) -> str:
        try:
            async with self.database.session(write=True) as session:
                agent = await session.get(User, agent_id)
                assert agent is not None
                await intraday.accept_offer(
                    session, offer_id=offer_id, agent=agent, now=self.start - dt.timedelta(minutes=110)
                )
                return "ok"
        except Conflict as refused:
            return "taken" if "Already taken" in refused.message else refused.message

    async def outcome(self, call_id: int) -> tuple[int, int, int]:
        """(the call's ``granted``, offers accepted, seats released) as the database has them."""
        async with self.database.session() as session:
            granted = await session.scalar(select(IntradayCall.granted).where(IntradayCall.id == call_id))
            accepted = await session.scalar(
                select(func.count()).where(
                    IntradayOffer.call_id == call_id, IntradayOffer.status == OfferStatus.accepted
                )
            )
            released = await session.scalar(select(func.count()).where(ShiftSeat.vto_from_slot.is_not(None)))
            return int(granted or 0), int(accepted or 0), int(released or 0)


@pytest.fixture
async def arena(empty_database_url: str) -> AsyncIterator[Arena]:
    await asyncio.to_thread(migrate, empty_database_url, "head")
    postgres = empty_database_url.startswith("postgresql")
    engine = create_engine(
        empty_database_url, pool_size=40 if postgres else 10, max_overflow=0 if postgres else 10, pool_timeout=120
    )
    database = Database(engine)
    async with database.session(write=True) as session:
        site = await accounts.ensure_site(session, name="Race Centre", timezone="Asia/Shanghai", country="CN")
        skill = await accounts.ensure_skill(session, site=site, code="billing", name="Billing")
        zone = site_zone(site)
        start = dt.datetime.combine(utcnow().astimezone(zone).date() + dt.timedelta(days=1), dt.time(12), tzinfo=zone)
        now = utcnow()
        people = [
            User(
                email=f"vto{n}@example.com",
                display_name=f"Racer {n}",
                role=Role.agent if n else Role.coordinator,
                tier=Tier.senior,
                timezone=site.timezone,
                site_id=site.id,
                onboarded_at=now,
            )
            for n in range(AGENTS + 1)
        ]
        session.add_all(people)
        await session.flush()
        for agent in people[1:]:
            shift = Shift(
                site_id=site.id,
                skill_id=skill.id,
                start_slot=slot_of(start),
                end_slot=slot_of(start) + 8,
                seats=1,
                taken=1,
                origin=ShiftOrigin.roster,
            )
            session.add(shift)
            await session.flush()
            session.add(ShiftSeat(shift_id=shift.id, user_id=agent.id))
        await session.flush()
        found = Arena(database, database.dialect, site.id, skill.id, people[0].id, [p.id for p in people[1:]], start)
    try:
        yield found
    finally:
        await database.dispose()


async def test_forty_agents_accepting_five_places_at_once_are_granted_exactly_five(arena: Arena) -> None:
    call_id, offers = await arena.call(wanted=PLACES)
    assert len(offers) == AGENTS
    outcomes = await asyncio.gather(*(arena.accept(offer_id, agent_id) for agent_id, offer_id in offers.items()))

    assert Counter(outcomes) == {"ok": PLACES, "taken": AGENTS - PLACES}, arena.dialect
    assert await arena.outcome(call_id) == (PLACES, PLACES, PLACES)


async def test_one_agent_tapping_accept_ten_times_at_once_is_granted_once(arena: Arena) -> None:
    call_id, offers = await arena.call(wanted=PLACES)
    agent_id = arena.agent_ids[0]
    outcomes = await asyncio.gather(*(arena.accept(offers[agent_id], agent_id) for _ in range(10)))

    assert Counter(outcomes) == {"ok": 10}
    assert await arena.outcome(call_id) == (1, 1, 1)
