"""Claims racing each other for real: many sessions on their own connections against one fresh database.

The per-test transaction of the other tests would serialise everything, so
these tests migrate an empty database of each kind (SQLite and PostgreSQL)
and let every claim run in its own unit of work, as concurrent requests do.
A naive read-then-insert claim run through the same harness overbooks on
PostgreSQL: that shows the harness can catch overbooking at all.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Tier, User
from backend.accounts.zones import site_zone
from backend.certifications.service import grant_certification
from backend.core.db import Database, create_engine, utcnow
from backend.core.migrate import migrate
from backend.shifts import allocation, market
from backend.shifts.models import Shift, ShiftSeat

AGENTS = 200
SEATS = 5
ROUNDS = 3


@dataclass
class Arena:
    database: Database
    dialect: str
    site_id: int
    agent_ids: list[int]

    async def open_shift(self, *, days: int, clock: str = "18:00", hours: int = 4, seats: int = SEATS) -> int:
        async with self.database.session(write=True) as session:
            site = await accounts.get_site(session, self.site_id)
            zone = site_zone(site)
            day = utcnow().astimezone(zone).date() + dt.timedelta(days=days)
            hour, minute = (int(part) for part in clock.split(":"))
            start = dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)
            shift = await market.create_open_shift(
                session,
                site=site,
                skill="billing",
                start=start,
                end=start + dt.timedelta(hours=hours),
                seats=seats,
                now=utcnow() - dt.timedelta(hours=1),
            )
            return shift.id

    async def claim(self, shift_id: int, agent_id: int) -> str:
        """One request's claim: "ok", "again" for a seat already held, or the refusal's codes."""
        try:
            async with self.database.session(write=True) as session:
                agent = await session.get(User, agent_id)
                assert agent is not None
                claim = await market.claim_shift(session, shift_id=shift_id, agent=agent, now=utcnow())
                return "ok" if claim.created else "again"
        except allocation.ClaimRefused as refused:
            return ",".join(reason.code.value for reason in refused.reasons)

    async def naive_claim(self, shift_id: int, agent_id: int) -> str:
        """The mistake the marketplace must not make: read the seat count, then insert."""
        async with self.database.session(write=True) as session:
            shift = await session.get(Shift, shift_id)
            assert shift is not None
            if shift.taken >= shift.seats:
                return "full"
            session.add(ShiftSeat(shift_id=shift_id, user_id=agent_id))
            shift.taken = shift.taken + 1
            return "ok"

    async def held(self, shift_id: int) -> tuple[int, int]:
        """(the shift's ``taken``, the seats actually held) as the database has them."""
        async with self.database.session() as session:
            taken = await session.scalar(select(Shift.taken).where(Shift.id == shift_id))
            seats = await session.scalar(
                select(func.count()).where(ShiftSeat.shift_id == shift_id, ShiftSeat.released_at.is_(None))
            )
            return int(taken or 0), int(seats or 0)


async def _populate(session: AsyncSession) -> tuple[int, list[int]]:
    site = await accounts.ensure_site(session, name="Race Centre", timezone="Asia/Shanghai", country="CN")
    skill = await accounts.ensure_skill(session, site=site, code="billing", name="Billing")
    now = utcnow()
    agents = [
        User(
            email=f"racer{n}@example.com",
            display_name=f"Racer {n}",
            role=Role.agent,
            tier=Tier.senior,
            timezone=site.timezone,
            site_id=site.id,
            onboarded_at=now,
        )
        for n in range(AGENTS)
    ]
    session.add_all(agents)
    await session.flush()
    for agent in agents:
        await grant_certification(session, user=agent, skill=skill, source="test")
    return site.id, [agent.id for agent in agents]


@pytest.fixture
async def arena(empty_database_url: str) -> AsyncIterator[Arena]:
    await asyncio.to_thread(migrate, empty_database_url, "head")
    postgres = empty_database_url.startswith("postgresql")
    # Enough connections that dozens of claims are truly in flight at once (PostgreSQL allows 100).
    engine = create_engine(
        empty_database_url, pool_size=40 if postgres else 10, max_overflow=0 if postgres else 10, pool_timeout=120
    )
    database = Database(engine)
    async with database.session(write=True) as session:
        site_id, agent_ids = await _populate(session)
    try:
        yield Arena(database, database.dialect, site_id, agent_ids)
    finally:
        await database.dispose()


async def test_two_hundred_agents_racing_for_five_seats_leave_exactly_five_holding_it(arena: Arena) -> None:
    for round_number in range(ROUNDS):
        shift_id = await arena.open_shift(days=3 + round_number)
        outcomes = await asyncio.gather(*(arena.claim(shift_id, agent_id) for agent_id in arena.agent_ids))

        assert Counter(outcomes) == {"ok": SEATS, "full": AGENTS - SEATS}, (arena.dialect, round_number)
        assert await arena.held(shift_id) == (SEATS, SEATS)


async def test_a_naive_read_then_insert_claim_overbooks_under_the_same_harness(arena: Arena) -> None:
    shift_id = await arena.open_shift(days=3)
    outcomes = await asyncio.gather(*(arena.naive_claim(shift_id, agent_id) for agent_id in arena.agent_ids))

    taken, held = await arena.held(shift_id)
    if arena.dialect == "sqlite":  # BEGIN IMMEDIATE runs write transactions one at a time: even this cannot overbook
        assert (taken, held) == (SEATS, SEATS)
        return
    assert held > SEATS, "the harness must be able to see overbooking"
    assert Counter(outcomes)["ok"] == held
    assert taken < held, "and the seat count no longer agrees with the seats"


async def test_one_agent_tapping_claim_ten_times_at_once_holds_one_seat(arena: Arena) -> None:
    shift_id = await arena.open_shift(days=3)
    agent_id = arena.agent_ids[0]
    outcomes = await asyncio.gather(*(arena.claim(shift_id, agent_id) for _ in range(10)))

    assert Counter(outcomes) == {"ok": 1, "again": 9}
    assert await arena.held(shift_id) == (1, 1)


async def test_one_agent_claiming_two_overlapping_shifts_at_once_gets_one(arena: Arena) -> None:
    morning = await arena.open_shift(days=4, clock="09:00", seats=20)
    overlapping = await arena.open_shift(days=4, clock="11:00", seats=20)
    for agent_id in arena.agent_ids[:10]:
        outcomes = await asyncio.gather(arena.claim(morning, agent_id), arena.claim(overlapping, agent_id))
        assert sorted(outcomes) == ["ok", "overlap"], outcomes
    assert (await arena.held(morning))[1] + (await arena.held(overlapping))[1] == 10
