from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role
from backend.requests import timers
from tests.factories import Factory
from tests.integration.test_requests_clock import a_request, a_team, at


async def test_speed(db: AsyncSession, people: Factory) -> None:
    agent, owner, lead = await people.make(Role.agent), await people.make(Role.coordinator), await people.make(Role.coordinator)
    team = await a_team(db, people.site, lead=lead, members=(owner,))
    for _ in range(500):
        await a_request(db, agent, team=team, owner=owner)
    start = time.perf_counter()
    fired = await timers.fire_due_timers(db, now=at(4, 13), limit=1000)
    took = time.perf_counter() - start
    print("FIRED", fired, "in", took)
    assert fired == 1000
