"""The agent's page shows what a coordinator opens it for: shifts around today, hours this week against the
cap, reliability, certifications with expiry, and contact; hand-checked on a small fixed week."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site
from backend.accounts.site_settings import update_site_settings
from backend.certifications.service import grant_certification
from backend.core.slots import utc_start
from backend.shifts.models import Attendance, Shift, ShiftSeat
from tests.conftest import login
from tests.factories import Factory, a_held_shift, a_skill, an_agent

# Wednesday 2 December 2026, 10:00 in Shanghai; the site's week runs Monday 30 November to Sunday 6 December.
NOW = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)


def local_9(day: int, month: int = 12) -> dt.datetime:
    """09:00 in Shanghai on ``day`` of ``month`` 2026."""
    return dt.datetime(2026, month, day, 1, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def wednesday_morning(time_machine: time_machine.TimeMachineFixture) -> None:
    time_machine.move_to(NOW, tick=False)


async def attended(db: AsyncSession, shift: Shift, *, started: bool) -> None:
    seat = await db.scalar(select(ShiftSeat).where(ShiftSeat.shift_id == shift.id))
    assert seat is not None
    from_start = utc_start(shift.start_slot)
    db.add(
        Attendance(
            seat_id=seat.id,
            confirmed_at=from_start - dt.timedelta(hours=12),
            started_at=from_start if started else None,
        )
    )
    await db.commit()


def text_of(html: str, element_id: str, closing: str = "dd") -> str:
    """The words inside the element ``element_id`` (up to its ``closing`` tag), tags taken out."""
    found = re.search(rf'id="{element_id}"[^>]*>(.*?)</{closing}>', html, re.S)
    assert found, element_id
    return " ".join(re.sub(r"<[^>]+>", " ", found.group(1)).split())


async def test_the_person_page_shows_the_five_things_with_hand_checked_values(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await update_site_settings(db, site, max_weekly_hours=30)
    billing = await a_skill(db, site)
    tech = await a_skill(db, site, "tech")
    agent = await an_agent(people, display_name="Mei", email="mei@example.com")
    await grant_certification(
        db, user=agent, skill=billing, source="test", expires_at=local_9(1, 3).replace(year=2027), now=local_9(1, 10)
    )
    await grant_certification(db, user=agent, skill=tech, source="test", expires_at=local_9(20, 11), now=local_9(1, 9))
    last_week = await a_held_shift(db, agent, local_9(25, 11), skill=billing)  # Wed 25 Nov, 2 h, started
    monday = await a_held_shift(db, agent, local_9(30, 11), skill=billing)  # Mon 30 Nov, 2 h, started
    await a_held_shift(db, agent, local_9(1), skill=billing, no_show_at=local_9(1) + dt.timedelta(minutes=20))
    await a_held_shift(db, agent, local_9(3), slots=12, skill=billing)  # Thu 3 Dec, 6 h
    await attended(db, last_week, started=True)
    await attended(db, monday, started=True)
    coordinator = await people.make(Role.coordinator)
    assert (await login(client, coordinator.email)).status_code == 303

    person = await client.get(f"/admin/users/{agent.id}")
    assert f'hx-get="/admin/users/{agent.id}/work"' in person.text
    answer = await client.get(f"/admin/users/{agent.id}/work", headers={"hx-request": "true"})
    assert answer.status_code == 200
    html = answer.text

    # Held this week: Monday 2 h + Tuesday 2 h (the no-show still holds its seat) + Thursday 6 h = 10 of 30.
    assert text_of(html, "week-hours") == "10 of 30 h (weekly cap)"
    # Three shifts counted in 60 days: two confirmed and started (1 each), one no-show (0): 2/3 = 67%.
    assert text_of(html, "reliability") == "67% over 3 shifts in 60 days: 1 no-shows, 0 not confirmed"
    assert text_of(html, "contact").startswith("mei@example.com")
    certifications = text_of(html, "certifications", "tbody")
    # Billing granted 1 Oct 2026 until 1 Mar 2027; tech granted 1 Sep 2026 and expired on 20 Nov 2026.
    assert certifications == ("Billing 1 Oct 2026 1 Mar 2027 Technical support 1 Sept 2026 Expired on 20 Nov 2026")
    upcoming = text_of(html, "upcoming-shifts", "tbody")
    assert upcoming == "2026-12-03 09:00\u201315:00 Billing 6 Not confirmed"
    recent = text_of(html, "recent-shifts", "tbody")
    assert recent == (
        "2026-12-01 09:00\u201311:00 Billing 2 No-show "
        "2026-11-30 09:00\u201311:00 Billing 2 Started "
        "2026-11-25 09:00\u201311:00 Billing 2 Started"
    )


async def test_another_sites_agent_and_a_coordinator_are_404_and_agents_are_403(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    other = await accounts.ensure_site(db, name="Other", timezone="Asia/Shanghai", country="CN")
    foreign = await people.make(Role.agent, site=other)
    colleague = await people.make(Role.coordinator)
    coordinator = await people.make(Role.coordinator)
    assert (await login(client, coordinator.email)).status_code == 303
    assert (await client.get(f"/admin/users/{foreign.id}/work")).status_code == 404
    assert (await client.get(f"/admin/users/{colleague.id}/work")).status_code == 404

    client.cookies.clear()
    agent = await an_agent(people)
    assert (await login(client, agent.email)).status_code == 303
    assert (await client.get(f"/admin/users/{agent.id}/work")).status_code == 403
