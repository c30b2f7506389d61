"""Swaps racing for real: concurrent sessions on their own connections against one fresh database of each kind.

A swap accepted while its giver releases the same shift: exactly one of the two
is done, the seat is held by exactly one agent or released, and ``taken``
agrees with the seats. Many agents accepting one open swap: one gets it.
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
from backend.core.errors import DomainError
from backend.core.migrate import migrate
from backend.shifts import market, swaps
from backend.shifts.models import Shift, ShiftSeat, ShiftSwap, SwapStatus

AGENTS = 40
ROUNDS = 12
ACCEPTORS = 20


@dataclass
class Arena:
    database: Database
    dialect: str
    site_id: int
    agent_ids: list[int]

    async def held_shift(self, giver_id: int, *, days: int) -> int:
        """A one-seat shift ``days`` ahead at 18:00 site time, claimed by ``giver_id``."""
        async with self.database.session(write=True) as session:
            site = await accounts.get_site(session, self.site_id)
            zone = site_zone(site)
            day = utcnow().astimezone(zone).date() + dt.timedelta(days=days)
            start = dt.datetime.combine(day, dt.time(18, 0), tzinfo=zone)
            shift = await market.create_open_shift(
                session,
                site=site,
                skill="billing",
                start=start,
                end=start + dt.timedelta(hours=4),
                seats=1,
                now=utcnow() - dt.timedelta(hours=1),
            )
            giver = await session.get(User, giver_id)
            assert giver is not None
            await market.claim_shift(session, shift_id=shift.id, agent=giver, now=utcnow())
            return shift.id

    async def offer(self, shift_id: int, giver_id: int, to_user_id: int | None) -> int:
        async with self.database.session(write=True) as session:
            giver = await session.get(User, giver_id)
            assert giver is not None
            offer = await swaps.offer_swap(session, shift_id=shift_id, agent=giver, to_user_id=to_user_id, now=utcnow())
            return offer.swap.id

    async def _act(self, user_id: int, action: str, call: object) -> str:
        try:
            async with self.database.session(write=True) as session:
                user = await session.get(User, user_id)
                assert user is not None
                await call(session, user)  # type: ignore[operator]
                return action
        except DomainError as error:
            return str(error.status_code)

    async def release(self, shift_id: int, giver_id: int) -> str:
        async def call(session: AsyncSession, user: User) -> None:
            await market.release_shift(session, shift_id=shift_id, agent=user, now=utcnow())

        return await self._act(giver_id, "released", call)

    async def accept(self, swap_id: int, agent_id: int) -> str:
        async def call(session: AsyncSession, user: User) -> None:
            await swaps.accept_swap(session, swap_id=swap_id, agent=user, now=utcnow())

        return await self._act(agent_id, "swapped", call)

    async def state(self, shift_id: int) -> tuple[int, list[int]]:
        """(the shift's ``taken``, who holds an unreleased seat) as the database has them."""
        async with self.database.session() as session:
            taken = await session.scalar(select(Shift.taken).where(Shift.id == shift_id))
            holders = await session.scalars(
                select(ShiftSeat.user_id).where(ShiftSeat.shift_id == shift_id, ShiftSeat.released_at.is_(None))
            )
            return int(taken or 0), sorted(holders)

    async def accepted(self, swap_id: int) -> int:
        async with self.database.session() as session:
            return int(
                await session.scalar(
                    select(func.count()).where(ShiftSwap.id == swap_id, ShiftSwap.status == SwapStatus.accepted)
                )
                or 0
            )


async def _populate(session: AsyncSession) -> tuple[int, list[int]]:
    site = await accounts.ensure_site(session, name="Swap Centre", timezone="Asia/Shanghai", country="CN")
    skill = await accounts.ensure_skill(session, site=site, code="billing", name="Billing")
    now = utcnow()
    agents = [
        User(
            email=f"swapper{n}@example.com",
            display_name=f"Swapper {n}",
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
    engine = create_engine(
        empty_database_url, pool_size=30 if postgres else 10, max_overflow=0 if postgres else 10, pool_timeout=120
    )
    database = Database(engine)
    async with database.session(write=True) as session:
        site_id, agent_ids = await _populate(session)
    try:
        yield Arena(database, database.dialect, site_id, agent_ids)
    finally:
        await database.dispose()


async def test_a_swap_racing_a_release_of_the_same_shift_leaves_exactly_one_done(arena: Arena) -> None:
    outcomes: Counter[str] = Counter()
    for round_number in range(ROUNDS):
        giver, taker = arena.agent_ids[2 * round_number], arena.agent_ids[2 * round_number + 1]
        shift_id = await arena.held_shift(giver, days=3 + round_number % 4)
        swap_id = await arena.offer(shift_id, giver, taker if round_number % 2 else None)
        release, accept = await asyncio.gather(arena.release(shift_id, giver), arena.accept(swap_id, taker))

        assert sorted([release, accept]) == ["409", "released"] or sorted([release, accept]) == ["409", "swapped"], (
            arena.dialect,
            round_number,
            release,
            accept,
        )
        taken, holders = await arena.state(shift_id)
        if accept == "swapped":
            assert (taken, holders) == (1, [taker]), (arena.dialect, round_number)
            assert await arena.accepted(swap_id) == 1
        else:
            assert (taken, holders) == (0, []), (arena.dialect, round_number)
            assert await arena.accepted(swap_id) == 0
        outcomes[release if release != "409" else accept] += 1
    assert sum(outcomes.values()) == ROUNDS


async def test_many_agents_accepting_one_open_swap_at_once_leave_it_with_one(arena: Arena) -> None:
    giver = arena.agent_ids[0]
    shift_id = await arena.held_shift(giver, days=5)
    swap_id = await arena.offer(shift_id, giver, None)
    acceptors = arena.agent_ids[1 : 1 + ACCEPTORS]

    outcomes = await asyncio.gather(*(arena.accept(swap_id, agent_id) for agent_id in acceptors))

    assert Counter(outcomes) == {"swapped": 1, "409": ACCEPTORS - 1}, (arena.dialect, Counter(outcomes))
    winner = acceptors[outcomes.index("swapped")]
    assert await arena.state(shift_id) == (1, [winner])
