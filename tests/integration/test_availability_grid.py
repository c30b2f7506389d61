"""The agent's grid and the coordinator's view of it: every edit saves with htmx and without JavaScript."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, User
from backend.accounts.site_settings import update_site_settings
from backend.availability import service
from backend.availability.models import AvailabilityWeek, OfferedSlot, Preference
from backend.core.db import utcnow
from backend.core.slots import IsoWeek, local_slot
from tests.conftest import Factory, login, post_form

SHANGHAI = ZoneInfo("Asia/Shanghai")
HTMX = {"hx-request": "true"}


def open_week(offset: int = 2) -> IsoWeek:
    return IsoWeek.containing(utcnow(), SHANGHAI).shifted(offset)


async def offers(db: AsyncSession, user: User) -> dict[int, Preference]:
    rows = await db.execute(select(OfferedSlot.slot, OfferedSlot.preference).where(OfferedSlot.user_id == user.id))
    return {slot: preference for slot, preference in rows}


async def signed_in_agent(client: httpx.AsyncClient, people: Factory) -> User:
    agent = await people.make(Role.agent)
    assert (await login(client, agent.email)).status_code == 303
    return agent


def edit(week: IsoWeek, action: str, day: int = 1, **fields: str) -> dict[str, str]:
    return {"action": action, "week": str(week), "day": str(day), **fields}


async def test_the_availability_tab_shows_a_week_of_half_hours(client: httpx.AsyncClient, people: Factory) -> None:
    await signed_in_agent(client, people)
    week = open_week()
    response = await client.get(f"/app/availability?week={week}&day=1")
    assert response.status_code == 200
    assert 'href="/app/availability" class="tab active" aria-current="page"' in response.text
    assert response.text.count('name="slot"') == 48
    assert "Evening 18:00-22:00" in response.text
    assert "Open until" in response.text


async def test_a_tap_cycles_a_half_hour_and_returns_the_grid_fragment(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await signed_in_agent(client, people)
    week = open_week()
    slot = local_slot(week.days()[1], 18, 0, SHANGHAI)

    first = await post_form(client, "/app/availability", edit(week, "tap", slot=str(slot)))
    assert first.status_code == 303
    assert first.headers["location"].startswith(f"/app/availability?week={week}&day=1")
    assert await offers(db, agent) == {slot: Preference.preferred}

    token = client.cookies["weft_csrf"]
    second = await client.post(
        "/app/availability", data={**edit(week, "tap", slot=str(slot)), "_csrf_token": token}, headers=HTMX
    )
    assert second.status_code == 200
    assert "<html" not in second.text
    assert 'id="availability"' in second.text
    assert re.search(rf'value="{slot}" class="slot if_needed"', second.text)
    assert await offers(db, agent) == {slot: Preference.if_needed}

    await post_form(client, "/app/availability", edit(week, "tap", slot=str(slot)))
    assert await offers(db, agent) == {}
    assert await db.scalar(select(AvailabilityWeek.week).where(AvailabilityWeek.user_id == agent.id)) == str(week)


async def test_painting_a_range_takes_a_first_and_a_last_tap(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await signed_in_agent(client, people)
    week = open_week()
    day = week.days()[3]
    nine, eleven = local_slot(day, 9, 0, SHANGHAI), local_slot(day, 11, 0, SHANGHAI)
    token = client.cookies.get("weft_csrf") or ""
    paint = edit(week, "paint", day=3, mode="paint", brush="if_needed", _csrf_token=token)

    first = await client.post("/app/availability", data={**paint, "slot": str(eleven)}, headers=HTMX)
    assert first.status_code == 200
    assert f'name="anchor" value="{eleven}"' in first.text
    assert "Now tap where the range ends." in first.text
    assert await offers(db, agent) == {}

    await client.post("/app/availability", data={**paint, "slot": str(nine), "anchor": str(eleven)}, headers=HTMX)
    assert await offers(db, agent) == dict.fromkeys(range(nine, eleven + 1), Preference.if_needed)

    erase = {**paint, "brush": "off", "slot": str(nine + 1), "anchor": str(nine + 2)}
    plain = await client.post("/app/availability", data=erase)
    assert plain.status_code == 303
    assert "anchor" not in plain.headers["location"]
    assert set(await offers(db, agent)) == {nine, nine + 3, nine + 4}


async def test_a_preset_fills_its_window_and_clear_empties_the_day(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await signed_in_agent(client, people)
    week = open_week()
    day = week.days()[2]
    await post_form(client, "/app/availability", edit(week, "preset", day=2, preset="evening"))
    await post_form(client, "/app/availability", edit(week, "preset", day=2, preset="school"))
    evening = range(local_slot(day, 18, 0, SHANGHAI), local_slot(day, 22, 0, SHANGHAI))
    school = range(local_slot(day, 9, 0, SHANGHAI), local_slot(day, 15, 0, SHANGHAI))
    assert await offers(db, agent) == dict.fromkeys([*school, *evening], Preference.preferred)

    await post_form(client, "/app/availability", edit(week, "preset", day=2, preset="clear"))
    assert await offers(db, agent) == {}


async def test_copy_last_week_and_the_repeating_week(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    agent = await signed_in_agent(client, people)
    week = open_week(2)
    for weekday in (0, 4):
        await post_form(client, "/app/availability", edit(week, "preset", day=weekday, preset="morning"))
    await post_form(client, "/app/availability", edit(week, "cap", max_hours="9.5"))

    copied = await post_form(client, "/app/availability", edit(week.shifted(1), "copy"))
    assert copied.status_code == 303
    answer = await service.read_week(db, user=agent, week=week.shifted(1))
    assert len(answer.offers) == 16
    assert answer.max_hours == 9.5

    await post_form(client, "/app/availability", edit(week, "template-save"))
    page = await client.get(f"/app/availability?week={week.shifted(2)}")
    assert "Apply repeating week" in page.text
    await post_form(client, "/app/availability", edit(week.shifted(2), "template-apply"))
    applied = await service.read_week(db, user=agent, week=week.shifted(2))
    assert len(applied.offers) == 16
    assert local_slot(week.shifted(2).days()[4], 8, 0, SHANGHAI) in applied.offers


async def test_a_refused_edit_is_shown_on_the_grid_and_stores_nothing(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await signed_in_agent(client, people)
    week = open_week()
    token = client.cookies.get("weft_csrf") or ""
    response = await client.post(
        "/app/availability", data={**edit(week, "cap", max_hours="0"), "_csrf_token": token}, headers=HTMX
    )
    assert response.status_code == 200  # htmx swaps only 2xx answers
    assert "The weekly cap must be more than 0" in response.text
    plain = await post_form(client, "/app/availability", edit(week, "copy"))
    assert plain.status_code == 422
    assert "You offered nothing in" in plain.text
    assert await db.scalar(select(AvailabilityWeek).where(AvailabilityWeek.user_id == agent.id)) is None


async def test_the_current_week_is_read_only_for_the_agent_with_the_reason(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await signed_in_agent(client, people)
    week = open_week(0)
    page = await client.get(f"/app/availability?week={week}")
    assert "ask your coordinator" in page.text
    assert page.text.count("disabled") == 48
    slot = local_slot(week.days()[6], 23, 30, SHANGHAI)
    refused = await post_form(client, "/app/availability", edit(week, "tap", day=6, slot=str(slot)))
    assert refused.status_code == 422
    assert "ask your coordinator" in refused.text
    assert await offers(db, agent) == {}


async def test_a_coordinator_edits_an_agents_closed_week_from_the_admin(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    await update_site_settings(db, site, availability_deadline_weekday=0, availability_deadline_time="00:00")
    await db.commit()
    agent = await people.make(Role.agent)
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    week = open_week(1)

    profile = await client.get(f"/admin/users/{agent.id}")
    assert f'href="/admin/availability/{agent.id}"' in profile.text
    page = await client.get(f"/admin/availability/{agent.id}?week={week}&day=2")
    assert page.status_code == 200
    assert f"Availability of {agent.display_name}" in page.text
    assert "Past the agents' deadline" in page.text
    saved = await post_form(client, f"/admin/availability/{agent.id}", edit(week, "preset", day=2, preset="evening"))
    assert saved.status_code == 303
    assert saved.headers["location"].startswith(f"/admin/availability/{agent.id}?week={week}")
    assert len(await offers(db, agent)) == 8
    record = await db.scalar(select(AvailabilityWeek).where(AvailabilityWeek.user_id == agent.id))
    assert record is not None
    assert record.updated_by_id == coordinator.id
    assert record.updated_at > utcnow() - dt.timedelta(minutes=1)
    other = await people.make(Role.coordinator)
    assert (await client.get(f"/admin/availability/{other.id}")).status_code == 404
