"""A coordinator edits or cancels an open shift: seats never below taken, times only while no seat is taken,
the bonus in major units, cancelled shifts leave the marketplace and their seat holders are told why."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site
from backend.core.db import utcnow
from backend.core.slots import slot_of
from backend.notify.models import Kind, Notification
from backend.shifts import market
from backend.shifts.models import Shift
from tests.conftest import login, post_form
from tests.factories import Factory, a_skill, an_agent, an_open_shift

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(days: int, clock: str) -> dt.datetime:
    """A Shanghai wall-clock time ``days`` from today (the test site's zone)."""
    hour, minute = (int(part) for part in clock.split(":"))
    day = utcnow().astimezone(SHANGHAI).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


def form(
    start: dt.datetime, *, start_clock: str = "", end_clock: str = "", seats: str = "2", bonus: str = "0"
) -> dict[str, str]:
    return {
        "day": start.date().isoformat(),
        "start": start_clock or start.strftime("%H:%M"),
        "end": end_clock or (start + dt.timedelta(hours=4)).strftime("%H:%M"),
        "seats": seats,
        "bonus": bonus,
    }


async def fresh(db: AsyncSession, shift: Shift) -> Shift:
    await db.refresh(shift)
    return shift


async def as_coordinator(client: httpx.AsyncClient, people: Factory) -> None:
    coordinator = await people.make(Role.coordinator)
    assert (await login(client, coordinator.email)).status_code == 303


async def test_seats_and_the_bonus_in_major_units_change_and_times_move_while_no_seat_is_taken(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    start = at(3, "09:00")
    shift = await an_open_shift(db, site, start=start, now=utcnow(), seats=2)
    await as_coordinator(client, people)

    page = await client.get(f"/admin/shifts/open/{shift.id}/edit")
    assert page.status_code == 200
    assert 'value="09:00"' in page.text
    assert 'value="0.00"' in page.text

    answer = await post_form(
        client,
        f"/admin/shifts/open/{shift.id}/edit",
        form(start, start_clock="10:00", end_clock="15:00", seats="3", bonus="12.50"),
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/admin/shifts?edited={shift.id}#shift-{shift.id}"
    shift = await fresh(db, shift)
    assert (shift.seats, shift.bonus_minor) == (3, 1250)
    assert shift.start_slot == slot_of(at(3, "10:00"))
    assert shift.end_slot - shift.start_slot == 10  # 10:00-15:00

    listing = await client.get("/admin/shifts/")
    assert f'href="/admin/shifts/open/{shift.id}/edit"' in listing.text


async def test_seats_never_go_below_taken_and_times_are_fixed_once_a_seat_is_taken(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    billing = await a_skill(db, site)
    agent = await an_agent(people, skills=[billing])
    start = at(3, "09:00")
    now = utcnow()
    shift = await an_open_shift(db, site, billing, start=start, now=now, seats=3, opened_minutes_ago=60 * 24 * 7)
    shift.requests_close_at = None
    await db.commit()
    await market.claim_shift(db, shift_id=shift.id, agent=agent, now=now)
    second = await an_agent(people, skills=[billing])
    await market.claim_shift(db, shift_id=shift.id, agent=second, now=now)
    await db.commit()
    await as_coordinator(client, people)

    below = await post_form(client, f"/admin/shifts/open/{shift.id}/edit", form(start, seats="1"))
    assert below.status_code == 422
    assert "2 seats are already taken: seats cannot go below that." in below.text
    moved = await post_form(
        client, f"/admin/shifts/open/{shift.id}/edit", form(start, start_clock="11:00", end_clock="15:00", seats="3")
    )
    assert moved.status_code == 422
    assert "The times can change only while nobody has taken a seat." in moved.text
    bad_bonus = await post_form(client, f"/admin/shifts/open/{shift.id}/edit", form(start, seats="3", bonus="-1"))
    assert bad_bonus.status_code == 422
    shift = await fresh(db, shift)
    assert (shift.seats, shift.bonus_minor, shift.start_slot) == (3, 0, slot_of(start)), "nothing half-written"

    ok = await post_form(client, f"/admin/shifts/open/{shift.id}/edit", form(start, seats="2", bonus="5"))
    assert ok.status_code == 303
    shift = await fresh(db, shift)
    assert (shift.seats, shift.bonus_minor) == (2, 500)


async def test_cancelling_tells_the_seat_holders_why_and_the_shift_leaves_the_marketplace(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    billing = await a_skill(db, site)
    agent = await an_agent(people, skills=[billing])
    start = at(3, "09:00")
    now = utcnow()
    shift = await an_open_shift(db, site, billing, start=start, now=now, seats=2, opened_minutes_ago=60 * 24 * 7)
    shift.requests_close_at = None
    await db.commit()
    await market.claim_shift(db, shift_id=shift.id, agent=agent, now=now)
    await db.commit()
    await as_coordinator(client, people)

    no_reason = await post_form(client, f"/admin/shifts/open/{shift.id}/cancel", {"reason": " "})
    assert no_reason.status_code == 422
    assert (await fresh(db, shift)).cancelled_at is None

    done = await post_form(client, f"/admin/shifts/open/{shift.id}/cancel", {"reason": "Client moved the launch"})
    assert done.status_code == 303
    assert (await fresh(db, shift)).cancelled_at is not None
    [note] = list(
        await db.scalars(
            select(Notification).where(Notification.user_id == agent.id, Notification.kind == Kind.shift_change)
        )
    )
    assert note.body == "Reason: Client moved the launch"
    assert note.title.startswith("Your shift ")
    assert note.title.endswith(" was cancelled. It is off your schedule.")
    upcoming = await market.upcoming_open_shifts(db, site_id=site.id, now=utcnow())
    assert shift.id not in [row[0].id for row in upcoming]
    again = await client.get(f"/admin/shifts/open/{shift.id}/edit")
    assert again.status_code == 409


async def test_another_sites_shift_is_404_and_agents_are_403(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    other = await accounts.ensure_site(db, name="Other", timezone="Asia/Shanghai", country="CN")
    foreign = await an_open_shift(db, other, start=at(3, "09:00"), now=utcnow())
    mine = await an_open_shift(db, site, start=at(3, "09:00"), now=utcnow())
    await as_coordinator(client, people)
    assert (await client.get(f"/admin/shifts/open/{foreign.id}/edit")).status_code == 404
    assert (await post_form(client, f"/admin/shifts/open/{foreign.id}/edit", form(at(3, "09:00")))).status_code == 404
    assert (await post_form(client, f"/admin/shifts/open/{foreign.id}/cancel", {"reason": "x"})).status_code == 404
    assert (await fresh(db, foreign)).cancelled_at is None

    client.cookies.clear()
    agent = await people.make(Role.agent)
    assert (await login(client, agent.email)).status_code == 303
    assert (await client.get(f"/admin/shifts/open/{mine.id}/edit")).status_code == 403
    assert (await post_form(client, f"/admin/shifts/open/{mine.id}/cancel", {"reason": "x"})).status_code == 403
    assert (await fresh(db, mine)).cancelled_at is None
