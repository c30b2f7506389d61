"""The agent's "My schedule" and the private calendar feed: own held shifts only, local times, revocable."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, User, UserStatus
from backend.core.db import utcnow
from backend.core.slots import local_slot, slot_of, utc_start
from backend.shifts.models import Shift, ShiftSeat
from tests.conftest import BASE_URL, login, post_form
from tests.factories import Factory, a_held_shift, a_skill

LONDON = ZoneInfo("Europe/London")
HTMX = {"hx-request": "true"}
TIME_RANGE = re.compile(r'<time datetime="[^"]+">(\d\d:\d\d)</time>\u2013<time datetime="[^"]+">(\d\d:\d\d)</time>')


def london_day(days_ahead: int) -> dt.date:
    return (utcnow().astimezone(LONDON) + dt.timedelta(days=days_ahead)).date()


def upcoming_times(html: str) -> list[tuple[str, str]]:
    """The start-end pairs of the upcoming shifts, in page order (the past ones are folded below)."""
    return TIME_RANGE.findall(html.split('class="card schedule-past"', 1)[0])


async def signed_in_agent(client: httpx.AsyncClient, people: Factory, **fields: Any) -> User:
    agent = await people.make(Role.agent, **fields)
    assert (await login(client, agent.email)).status_code == 303
    return agent


@pytest.fixture
async def outsider(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client with no cookies at all, as a calendar app is."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        yield client


async def subscribe(client: httpx.AsyncClient) -> str:
    """Ask for a feed address and return the https one the page shows once, as a path."""
    response = await post_form(client, "/app/shifts/calendar", {})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    https = re.search(r'id="feed-https" type="text" readonly value="([^"]+)"', response.text)
    webcal = re.search(r'id="feed-webcal" type="text" readonly value="([^"]+)"', response.text)
    assert https
    assert webcal
    assert webcal.group(1) == "webcal://" + https.group(1).split("://", 1)[1]
    url = urlsplit(https.group(1))
    assert f"{url.scheme}://{url.netloc}" == BASE_URL
    assert url.path.startswith("/calendar/")
    assert url.path.endswith(".ics")
    return url.path


async def feed_events(outsider: httpx.AsyncClient, path: str) -> dict[str, tuple[dt.datetime, dt.datetime, str]]:
    response = await outsider.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert response.headers["cache-control"] == "private, max-age=300"
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"]).startswith("-//Weft//")
    assert "X-WR-CALNAME" in calendar
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H" in response.content
    assert b"X-PUBLISHED-TTL:PT1H" in response.content
    return {
        str(event["UID"]): (event.decoded("DTSTART"), event.decoded("DTEND"), str(event["SUMMARY"]))
        for event in calendar.walk("VEVENT")
    }


async def test_schedule_lists_my_held_shifts_soonest_first_in_my_own_time_zone(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    agent = await signed_in_agent(client, people, timezone="Europe/London")  # the site is in Shanghai
    other = await people.make(Role.agent)
    billing = await a_skill(db, site)
    general = await a_skill(db, site, "general")
    await a_held_shift(db, agent, utc_start(local_slot(london_day(3), 9, 0, LONDON)), slots=5, skill=billing)
    await a_held_shift(db, agent, utc_start(local_slot(london_day(1), 18, 0, LONDON)), skill=general)
    await a_held_shift(db, other, utc_start(local_slot(london_day(2), 6, 30, LONDON)), slots=2, skill=general)
    await a_held_shift(
        db, agent, utc_start(local_slot(london_day(4), 14, 0, LONDON)), skill=general, released_at=utcnow()
    )
    await a_held_shift(
        db, agent, utc_start(local_slot(london_day(5), 15, 30, LONDON)), skill=billing, cancelled_at=utcnow()
    )

    response = await client.get("/app/shifts")
    assert response.status_code == 200
    assert 'href="/app/shifts" class="tab active" aria-current="page"' in response.text
    assert "Times in Europe/London." in response.text
    assert upcoming_times(response.text) == [("18:00", "20:00"), ("09:00", "11:30")]
    assert "General enquiries · 2 h" in response.text
    assert "Billing · 2.5 h" in response.text
    assert "Tomorrow" in response.text
    assert response.text.count('class="shift-badge"') == 1
    assert re.search(r'shift-card next"[^>]*>\s*<p class="shift-time">\s*<time[^>]+>18:00', response.text)
    assert "Coming up: 4.5 h." in response.text


async def test_a_shift_under_way_is_now_and_the_following_one_next(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    agent = await signed_in_agent(client, people)
    skill = await a_skill(db, site)
    now_slot = slot_of(utcnow())
    await a_held_shift(db, agent, utc_start(now_slot - 1), slots=3, skill=skill)
    await a_held_shift(db, agent, utc_start(now_slot + 6), slots=2, skill=skill)

    text = (await client.get("/app/shifts")).text
    assert len(upcoming_times(text)) == 2
    badges = re.findall(r'<span class="shift-badge">(\w+)</span>', text)
    assert badges == ["Now", "Next"]
    assert 'class="shift-card now"' in text


async def test_empty_schedule_sends_the_agent_to_offer_availability(client: httpx.AsyncClient, people: Factory) -> None:
    await signed_in_agent(client, people)
    response = await client.get("/app/shifts")
    assert response.status_code == 200
    assert "No shifts coming up" in response.text
    assert 'class="button primary wide" href="/app/availability"' in response.text
    assert "No shifts in the past two weeks." in response.text


async def test_past_two_weeks_are_folded_below_latest_first(
    client: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    agent = await signed_in_agent(client, people, timezone="Europe/London")
    skill = await a_skill(db, site)
    await a_held_shift(db, agent, utc_start(local_slot(london_day(-3), 10, 0, LONDON)), slots=2, skill=skill)
    await a_held_shift(db, agent, utc_start(local_slot(london_day(-5), 12, 0, LONDON)), slots=2, skill=skill)
    await a_held_shift(db, agent, utc_start(local_slot(london_day(-20), 8, 0, LONDON)), slots=2, skill=skill)

    text = (await client.get("/app/shifts")).text
    assert upcoming_times(text) == []
    past = text.split('<details class="card schedule-past">', 1)[1].split("</details>", 1)[0]
    assert "Past two weeks: 2 h" in past
    assert TIME_RANGE.findall(past) == [("10:00", "11:00"), ("12:00", "13:00")]


@pytest.mark.parametrize("role", [Role.coordinator, Role.finance])
async def test_staff_may_not_open_an_agents_schedule(client: httpx.AsyncClient, people: Factory, role: Role) -> None:
    staff = await people.make(role)
    await login(client, staff.email)
    assert (await client.get("/app/shifts")).status_code == 403
    assert (await post_form(client, "/app/shifts/calendar", {})).status_code == 403


async def test_signed_out_visitors_are_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/app/shifts")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/app/shifts"


async def test_the_feed_lists_exactly_my_held_shifts_in_utc(
    client: httpx.AsyncClient, outsider: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    agent = await signed_in_agent(client, people, timezone="Europe/London")
    other = await people.make(Role.agent)
    skill = await a_skill(db, site)
    now_slot = slot_of(utcnow())
    recent = await a_held_shift(db, agent, utc_start(now_slot - 10 * 48), skill=skill)
    coming = await a_held_shift(db, agent, utc_start(now_slot + 30), slots=6, skill=skill)
    await a_held_shift(db, agent, utc_start(now_slot - 40 * 48), skill=skill)  # older than four weeks
    await a_held_shift(db, other, utc_start(now_slot + 40), skill=skill)
    await a_held_shift(db, agent, utc_start(now_slot + 50), skill=skill, released_at=utcnow())
    await a_held_shift(db, agent, utc_start(now_slot + 60), skill=skill, cancelled_at=utcnow())

    events = await feed_events(outsider, await subscribe(client))
    assert events == {
        f"shift-{recent.id}@weft": (utc_start(recent.start_slot), utc_start(recent.end_slot), "Billing shift"),
        f"shift-{coming.id}@weft": (utc_start(coming.start_slot), utc_start(coming.end_slot), "Billing shift"),
    }
    assert all(start.tzinfo is not None and start.utcoffset() == dt.timedelta(0) for start, _, _ in events.values())


async def test_released_and_cancelled_shifts_leave_the_feed(
    client: httpx.AsyncClient, outsider: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    agent = await signed_in_agent(client, people)
    skill = await a_skill(db, site)
    now_slot = slot_of(utcnow())
    released = await a_held_shift(db, agent, utc_start(now_slot + 10), skill=skill)
    cancelled = await a_held_shift(db, agent, utc_start(now_slot + 30), skill=skill)
    path = await subscribe(client)
    assert len(await feed_events(outsider, path)) == 2

    await db.execute(update(ShiftSeat).where(ShiftSeat.shift_id == released.id).values(released_at=utcnow()))
    await db.execute(update(Shift).where(Shift.id == cancelled.id).values(cancelled_at=utcnow()))
    await db.commit()

    assert await feed_events(outsider, path) == {}
    assert upcoming_times((await client.get("/app/shifts")).text) == []


async def test_a_new_address_ends_the_old_one(
    client: httpx.AsyncClient, outsider: httpx.AsyncClient, people: Factory
) -> None:
    await signed_in_agent(client, people)
    first = await subscribe(client)
    assert (await outsider.get(first)).status_code == 200
    second = await subscribe(client)
    assert second != first
    assert (await outsider.get(first)).status_code == 404
    assert (await outsider.get(second)).status_code == 200


async def test_revoking_ends_the_feed_with_and_without_htmx(
    client: httpx.AsyncClient, outsider: httpx.AsyncClient, people: Factory
) -> None:
    await signed_in_agent(client, people)
    path = await subscribe(client)
    page = await client.get("/app/shifts")
    assert "Stop sharing" in page.text
    assert path not in page.text  # shown once, never again

    revoked = await post_form(client, "/app/shifts/calendar/revoke", {})
    assert revoked.status_code == 303
    assert revoked.headers["location"] == "/app/shifts?revoked=1"
    assert "Calendar sharing stopped." in (await client.get(revoked.headers["location"])).text
    assert (await outsider.get(path)).status_code == 404

    again = await subscribe(client)
    token = client.cookies["weft_csrf"]
    fragment = await client.post("/app/shifts/calendar/revoke", data={"_csrf_token": token}, headers=HTMX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert 'id="calendar"' in fragment.text
    assert "Subscribe in my calendar" in fragment.text
    assert (await outsider.get(again)).status_code == 404


async def test_subscribing_needs_the_csrf_token(client: httpx.AsyncClient, people: Factory) -> None:
    await signed_in_agent(client, people)
    assert (await client.post("/app/shifts/calendar", data={})).status_code == 403


async def test_unknown_addresses_and_departed_agents_get_404(
    client: httpx.AsyncClient, outsider: httpx.AsyncClient, people: Factory, db: AsyncSession
) -> None:
    agent = await signed_in_agent(client, people)
    path = await subscribe(client)
    assert (await outsider.get("/calendar/not-a-real-secret.ics")).status_code == 404
    assert (await outsider.get(path.removesuffix(".ics"))).status_code == 404
    await db.execute(update(User).where(User.id == agent.id).values(status=UserStatus.left))
    await db.commit()
    assert (await outsider.get(path)).status_code == 404


async def test_chinese_agents_get_the_page_and_the_feed_in_chinese(
    client: httpx.AsyncClient, outsider: httpx.AsyncClient, people: Factory, db: AsyncSession, site: Site
) -> None:
    agent = await signed_in_agent(client, people, locale="zh-Hans")
    skill = await a_skill(db, site)
    shift = await a_held_shift(db, agent, utc_start(slot_of(utcnow()) + 50), skill=skill)

    page = await client.get("/app/shifts")
    assert page.status_code == 200
    assert '<html lang="zh-Hans">' in page.text
    assert "账单 · " in page.text

    events = await feed_events(outsider, await subscribe(client))
    assert "账单" in events[f"shift-{shift.id}@weft"][2]
