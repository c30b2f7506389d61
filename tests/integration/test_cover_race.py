"""Agents racing to accept one cover request, for real: each acceptance in its own unit of work on a fresh database.

As in ``test_claim_race``, the per-test transaction would serialise everything,
so this migrates an empty database of each kind and lets every acceptance run
on its own connection, as concurrent requests do.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from backend.accounts import service as accounts
from backend.accounts.models import Role, Tier, User
from backend.accounts.site_settings import update_site_settings
from backend.accounts.zones import site_zone
from backend.certifications.service import grant_certification
from backend.core.db import Database, create_engine, utcnow
from backend.core.errors import Conflict
from backend.core.migrate import migrate
from backend.shifts import cover, market
from backend.shifts.models import CoverReason, CoverRequest, CoverStatus, Shift, ShiftSeat

AGENTS = 30
ROUNDS = 3


@dataclass
class Arena:
    database: Database
    site_id: int
    agent_ids: list[int]

    async def cover_request(self, *, days: int) -> tuple[int, int]:
        """A one-seat shift whose holder did not come, and the request that asked every agent at once."""
        async with self.database.session(write=True) as session:
            site = await accounts.get_site(session, self.site_id)
            zone = site_zone(site)
            start = dt.datetime.combine(utcnow().astimezone(zone).date() + dt.timedelta(days=days), dt.time(18), zone)
            shift = await market.create_open_shift(
                session,
                site=site,
                skill="billing",
                start=start,
                end=start + dt.timedelta(hours=4),
                seats=1,
                now=utcnow() - dt.timedelta(hours=1),
            )
            holder = await session.get(User, self.agent_ids[0])
            assert holder is not None
            await market.claim_shift(session, shift_id=shift.id, agent=holder, now=utcnow())
            request = await cover.request_cover(
                session,
                site=site,
                shift_id=shift.id,
                absent_user_id=holder.id,
                reason=CoverReason.no_show,
                bonus_minor=2000,
                by=None,
                now=utcnow(),
            )
            return shift.id, request.id

    async def accept(self, request_id: int, agent_id: int) -> str:
        try:
            async with self.database.session(write=True) as session:
                agent = await session.get(User, agent_id)
                assert agent is not None
                await cover.accept_cover(session, request_id=request_id, agent=agent, now=utcnow())
                return "ok"
        except Conflict as refused:
            return str(refused.status_code)

    async def outcome(self, shift_id: int, request_id: int) -> tuple[int, int, int, CoverStatus, int | None]:
        """(taken, seats held, bonus, the request's status, who covered) as the database has them."""
        async with self.database.session() as session:
            shift = await session.get(Shift, shift_id)
            request = await session.get(CoverRequest, request_id)
            assert shift is not None
            assert request is not None
            held = await session.scalar(
                select(func.count()).where(ShiftSeat.shift_id == shift_id, ShiftSeat.released_at.is_(None))
            )
            return shift.taken, int(held or 0), shift.bonus_minor, request.status, request.covered_by_id


@pytest.fixture
async def arena(empty_database_url: str) -> AsyncIterator[Arena]:
    await asyncio.to_thread(migrate, empty_database_url, "head")
    postgres = empty_database_url.startswith("postgresql")
    engine = create_engine(
        empty_database_url, pool_size=AGENTS if postgres else 10, max_overflow=0 if postgres else 10, pool_timeout=120
    )
    database = Database(engine)
    async with database.session(write=True) as session:
        site = await accounts.ensure_site(session, name="Race Centre", timezone="Asia/Shanghai", country="CN")
        await update_site_settings(session, site, cover_wave_size=AGENTS)
        skill = await accounts.ensure_skill(session, site=site, code="billing", name="Billing")
        agents = [
            User(
                email=f"cover{n}@example.com",
                display_name=f"Cover {n}",
                role=Role.agent,
                tier=Tier.senior,
                timezone=site.timezone,
                site_id=site.id,
                onboarded_at=utcnow(),
            )
            for n in range(AGENTS + 1)
        ]
        session.add_all(agents)
        await session.flush()
        for agent in agents:
            await grant_certification(session, user=agent, skill=skill, source="test")
        site_id, agent_ids = site.id, [agent.id for agent in agents]
    try:
        yield Arena(database, site_id, agent_ids)
    finally:
        await database.dispose()


async def test_many_agents_accepting_one_cover_request_at_once_leave_exactly_one_covering(arena: Arena) -> None:
    for round_number in range(ROUNDS):
        shift_id, request_id = await arena.cover_request(days=3 + round_number)
        racers = arena.agent_ids[1:]
        outcomes = await asyncio.gather(*(arena.accept(request_id, agent_id) for agent_id in racers))

        assert Counter(outcomes) == {"ok": 1, "409": AGENTS - 1}, (arena.database.dialect, round_number)
        winner = racers[outcomes.index("ok")]
        assert await arena.outcome(shift_id, request_id) == (1, 1, 2000, CoverStatus.covered, winner)
