"""A claim window is shown as the first whole minute a claim is accepted, and the digest waits for the window."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, Tier
from backend.core.db import utcnow
from backend.shifts import market
from backend.shifts.allocation import ClaimRefused, Why
from backend.shifts.digest import send_open_shift_digests
from tests.factories import Factory, a_skill, an_agent, an_open_shift
from tests.integration.test_market_pages import SHANGHAI, at
from tests.integration.test_shift_jobs import digests_of, offers


async def test_opens_at_is_the_first_minute_a_claim_is_accepted_and_the_digest_waits_for_it(
    db: AsyncSession, site: Site, people: Factory, time_machine: time_machine.TimeMachineFixture
) -> None:
    opened = at(1, "15:37") + dt.timedelta(seconds=45)  # junior's window (20 min) opens at 15:57:45

    def that_day(clock: str) -> dt.datetime:
        return dt.datetime.combine(opened.date(), dt.time.fromisoformat(clock), tzinfo=SHANGHAI)

    time_machine.move_to(opened, tick=False)
    skill = await a_skill(db, site)
    shift = await an_open_shift(
        db, site, skill, start=that_day("09:00") + dt.timedelta(days=2), now=opened, opened_minutes_ago=0
    )
    junior = await an_agent(people, skills=[skill], tier=Tier.junior)
    await offers(db, junior, shift)

    shown = next(
        i for i in (await market.open_shifts_for(db, agent=junior, now=opened)).shifts if i.shift_id == shift.id
    )
    assert shown.opens_at.astimezone(SHANGHAI).strftime("%H:%M:%S") == "15:58:00"  # rounded up, not down
    assert "15:58" in " ".join(reason.message for reason in shown.reasons)

    for moment in (that_day("15:48"), that_day("15:57:30")):
        assert await send_open_shift_digests(db, now=moment) == 0, moment
        with pytest.raises(ClaimRefused) as refused:
            await market.claim_shift(db, shift_id=shift.id, agent=junior, now=moment)
        assert [reason.code for reason in refused.value.reasons] == [Why.window]
    assert await digests_of(db, junior) == []

    at_the_minute_shown = that_day("15:58")
    assert await send_open_shift_digests(db, now=at_the_minute_shown) == 1
    claim = await market.claim_shift(db, shift_id=shift.id, agent=junior, now=at_the_minute_shown)
    assert claim.created
    assert utcnow() == opened  # the clock stood still: every instant above was the test's own
