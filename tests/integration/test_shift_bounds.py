"""Hand-made shifts keep to the site's rules and horizon, and every date entering through the edge is bounded.

A date far outside any business (year 9999) is refused where it enters; one that got into the
database some other way (a direct insert) must not take the agents' pages down with it.
"""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, Skill, Tier
from backend.core import bounds
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.slots import slot_of
from backend.shifts.digest import send_open_shift_digests
from backend.shifts.models import Shift, ShiftOrigin
from backend.shifts.schemas import NewShiftBody
from tests.conftest import login, post_form
from tests.factories import Factory, a_skill, an_agent, bearer
from tests.integration.test_market_pages import at, new_shift_body

FAR_FUTURE = dt.datetime(9999, 12, 31, 20, 0, tzinfo=dt.UTC)  # the last hours of the last day datetime can hold


async def shifts_made(db: AsyncSession, site: Site) -> int:
    return int(await db.scalar(select(func.count()).select_from(Shift).where(Shift.site_id == site.id)) or 0)


async def test_a_hand_made_shift_outside_the_sites_rules_or_horizon_is_422_naming_the_field(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    headers = await bearer(db, await people.make(Role.coordinator))
    six_weeks = 6 * 7
    cases = [
        (new_shift_body(start="9999-12-31T08:00:00+08:00", end="9999-12-31T12:00:00+08:00"), "start"),
        (new_shift_body(start="1900-01-01T08:00:00+08:00"), "start"),
        (new_shift_body(end=(at(5, "18:00") + dt.timedelta(hours=48)).isoformat()), "end"),  # longest is 8 h
        (new_shift_body(end=at(5, "20:00").isoformat()), "end"),  # shortest is 4 h
        (
            new_shift_body(start=at(six_weeks, "18:00").isoformat(), end=at(six_weeks, "22:00").isoformat()),
            "start",
        ),  # the site plans four weeks ahead
    ]
    for body, field in cases:
        response = await client.post("/api/v1/shifts", json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["field"] == field, (body, response.json())
    assert await shifts_made(db, site) == 0

    made = await client.post("/api/v1/shifts", json=new_shift_body(), headers=headers)
    assert made.status_code == 201, made.text


async def test_the_coordinators_form_refuses_a_far_day_and_a_too_long_shift_beside_the_field(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    form = {"skill": "billing", "day": at(5, "00:00").date().isoformat(), "start": "18:00", "end": "22:00"}
    form |= {"seats": "2", "bonus": "0"}

    far = await post_form(client, "/admin/shifts/", {**form, "day": "9999-12-31"})
    assert far.status_code == 422
    assert 'id="e-day"' in far.text
    assert 'value="9999-12-31"' in far.text  # the form comes back as typed

    all_day = await post_form(client, "/admin/shifts/", {**form, "start": "08:00", "end": "07:30"})
    assert all_day.status_code == 422
    assert 'id="e-end"' in all_day.text
    assert await shifts_made(db, site) == 0

    made = await post_form(client, "/admin/shifts/", form)
    assert made.status_code == 303


async def test_a_day_outside_the_bounds_in_a_query_is_422(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await an_agent(people, skills=[await a_skill(db, site)], tier=Tier.junior)
    listed = await client.get("/api/v1/shifts?day=9999-12-31", headers=await bearer(db, agent))
    assert listed.status_code == 422
    assert listed.json()["field"] == "day"


def test_every_date_entering_a_body_is_bounded() -> None:
    start = dt.datetime(9999, 12, 31, 8, tzinfo=dt.UTC)
    with pytest.raises(DomainError) as refused:
        NewShiftBody(skill="billing", start=start, end=start + dt.timedelta(hours=4), seats=1)
    assert refused.value.field == "start"
    assert refused.value.status_code == 422
    today = utcnow()
    assert NewShiftBody(skill="billing", start=today, end=today, seats=1).start == today
    assert bounds.EARLIEST <= today.date() <= bounds.LATEST


async def a_stored_shift_in_year_9999(db: AsyncSession, site: Site, skill: Skill) -> Shift:
    """What a direct insert (or an old bug) leaves behind: no edge ever saw it."""
    now = utcnow()
    shift = Shift(
        site_id=site.id,
        skill_id=skill.id,
        start_slot=slot_of(FAR_FUTURE),
        end_slot=slot_of(FAR_FUTURE) + 6,
        seats=2,
        taken=0,
        origin=ShiftOrigin.manual,
        opened_at=now - dt.timedelta(hours=1),
        created_at=now - dt.timedelta(hours=1),
    )
    db.add(shift)
    await db.commit()
    return shift


async def test_a_stored_shift_in_year_9999_leaves_every_agent_page_answering(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    far = await a_stored_shift_in_year_9999(db, site, skill)
    for tier in (Tier.junior, Tier.mid, Tier.senior):
        agent = await an_agent(people, skills=[skill], tier=tier)
        listed = await client.get("/api/v1/shifts", headers=await bearer(db, agent))
        assert listed.status_code == 200, (tier, listed.text)
        assert far.id not in [item["id"] for item in listed.json()]
        claimed = await client.post(f"/api/v1/shifts/{far.id}/claim", headers=await bearer(db, agent))
        assert claimed.status_code == 404, claimed.text
        await login(client, agent.email)
        for path in ("/app/shifts/open", "/app/learn", "/app/shifts"):
            page = await client.get(path)
            assert page.status_code == 200, (tier, path, page.text[-500:])
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    assert (await client.get("/admin/shifts/")).status_code == 200
    assert await send_open_shift_digests(db, now=utcnow()) == 0
