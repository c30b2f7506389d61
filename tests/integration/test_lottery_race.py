"""Two workers drawing the same closed request window at once, each in its own session: the seats are drawn once.

Like ``test_claim_race``, this migrates an empty database of each kind so the
two draws run in real, concurrent transactions rather than one test's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
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
from backend.core.migrate import migrate
from backend.notify.models import Notification
from backend.shifts import jobs, lottery, market
from backend.shifts.models import ClaimRequest, Shift, ShiftSeat

REQUESTERS = 8
SEATS = 3


@dataclass
class Window:
    database: Database
    shift_id: int
    agent_ids: list[int]
    closes: dt.datetime


@pytest.fixture
async def window(empty_database_url: str) -> AsyncIterator[Window]:
    """A migrated database with a 3-seat shift whose request window holds 8 requests."""
    await asyncio.to_thread(migrate, empty_database_url, "head")
    database = Database(create_engine(empty_database_url))
    now = utcnow()
    async with database.session(write=True) as session:
        site = await accounts.ensure_site(session, name="Draw Centre", timezone="Asia/Shanghai", country="CN")
        await update_site_settings(session, site, request_window_minutes=10)
        skill = await accounts.ensure_skill(session, site=site, code="billing", name="Billing")
        agents = [
            User(
                email=f"requester{n}@example.com",
                display_name=f"Requester {n}",
                role=Role.agent,
                tier=Tier.senior,
                timezone=site.timezone,
                site_id=site.id,
                onboarded_at=now,
            )
            for n in range(REQUESTERS)
        ]
        session.add_all(agents)
        await session.flush()
        for agent in agents:
            await grant_certification(session, user=agent, skill=skill, source="test")
        zone = site_zone(site)
        start = dt.datetime.combine(now.astimezone(zone).date() + dt.timedelta(days=3), dt.time(18), tzinfo=zone)
        shift = await market.create_open_shift(
            session, site=site, skill="billing", start=start, end=start + dt.timedelta(hours=4), seats=SEATS, now=now
        )
        for agent in agents:
            assert isinstance(
                await market.claim_shift(session, shift_id=shift.id, agent=agent, now=now), lottery.Requested
            )
        assert shift.requests_close_at is not None
        closes, shift_id, agent_ids = shift.requests_close_at, shift.id, [agent.id for agent in agents]
    try:
        yield Window(database, shift_id, agent_ids, closes)
    finally:
        await database.dispose()


async def _run_due(database: Database, now: dt.datetime) -> int:
    async with database.session(write=True) as session:
        return (await jobs.run_due(session, now=now, digests=False))["request windows drawn"]


async def test_two_workers_drawing_at_once_draw_once(window: Window) -> None:
    after = window.closes + dt.timedelta(seconds=1)

    drawn = await asyncio.gather(_run_due(window.database, after), _run_due(window.database, after))

    assert sorted(drawn) == [0, 1]
    async with window.database.session() as session:
        assert await session.scalar(select(Shift.taken).where(Shift.id == window.shift_id)) == SEATS
        held = select(func.count()).where(ShiftSeat.shift_id == window.shift_id, ShiftSeat.released_at.is_(None))
        assert await session.scalar(held) == SEATS
        requests = list(await session.scalars(select(ClaimRequest).where(ClaimRequest.shift_id == window.shift_id)))
        assert len(requests) == REQUESTERS
        assert sum(bool(r.won) for r in requests) == SEATS
        assert all(r.drawn_at == after for r in requests)
        told = select(Notification.user_id, func.count()).group_by(Notification.user_id)
        assert dict((await session.execute(told)).all()) == dict.fromkeys(window.agent_ids, 1)
