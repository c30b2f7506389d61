"""The marketplace as agents and coordinators meet it: the JSON API, the Open shifts page, release, the staff form."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, Tier
from backend.core.db import utcnow
from backend.core.slots import slot_of
from backend.shifts.models import CoverReason, CoverRequest, Shift, ShiftSeat
from tests.conftest import login, post_form
from tests.factories import Factory, a_skill, an_agent, an_open_shift, bearer

SHANGHAI = ZoneInfo("Asia/Shanghai")
HTMX = {"hx-request": "true"}


def at(days: int, clock: str) -> dt.datetime:
    hour, minute = (int(part) for part in clock.split(":"))
    day = utcnow().astimezone(SHANGHAI).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=SHANGHAI)


def new_shift_body(**changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "skill": "billing",
        "start": at(5, "18:00").isoformat(),
        "end": at(5, "22:00").isoformat(),
        "seats": 5,
        "bonus_minor": 0,
    }
    return {**body, **changes}


# The API -----------------------------------------------------------------------------


async def test_a_coordinator_makes_a_shift_and_an_agent_lists_and_claims_it(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    coordinator = await people.make(Role.coordinator)
    made = await client.post(
        "/api/v1/shifts", json=new_shift_body(bonus_minor=2000), headers=await bearer(db, coordinator)
    )
    assert made.status_code == 201, made.text
    shift_id = made.json()["id"]
    assert made.json()["start"] == at(5, "18:00").isoformat()
    assert made.json()["pay_by_tier_minor"] == dict.fromkeys(
        ("junior", "mid", "senior"), 4 * 3000 + 2000
    )  # no card yet

    agent = await an_agent(people, skills=[await a_skill(db, site)], tier=Tier.senior)
    headers = await bearer(db, agent)
    listed = await client.get("/api/v1/shifts?status=open", headers=headers)
    assert listed.status_code == 200
    mine = next(item for item in listed.json() if item["id"] == shift_id)
    assert mine["can_claim"] is True
    assert mine["reasons"] == []
    assert mine["seats_left"] == 5
    assert mine["currency"] == "CNY"

    claimed = await client.post(f"/api/v1/shifts/{shift_id}/claim", headers=headers)
    assert claimed.status_code == 201, claimed.text
    again = await client.post(f"/api/v1/shifts/{shift_id}/claim", headers=headers)
    assert again.status_code == 200
    assert again.json()["seat_id"] == claimed.json()["seat_id"]
    assert await db.scalar(select(func.count()).where(ShiftSeat.shift_id == shift_id)) == 1

    undone = await client.post(f"/api/v1/shifts/{shift_id}/undo", headers=headers)
    assert undone.status_code == 200
    assert undone.json() == {"shift_id": shift_id, "status": "undone"}


async def test_refused_claims_are_409_with_reasons(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    shift = await an_open_shift(db, site, start=at(5, "18:00"), seats=1, now=utcnow())
    holder = await an_agent(people, skills=[skill], tier=Tier.senior)
    assert (await client.post(f"/api/v1/shifts/{shift.id}/claim", headers=await bearer(db, holder))).status_code == 201

    uncertified = await an_agent(people, tier=Tier.senior)
    refused = await client.post(f"/api/v1/shifts/{shift.id}/claim", headers=await bearer(db, uncertified))
    assert refused.status_code == 409
    body = refused.json()
    assert [reason["code"] for reason in body["reasons"]] == ["not_certified", "full"]
    assert body["request_id"]
    assert "Needs the Billing certification." in body["message"]

    waiting = await an_agent(people, skills=[skill], tier=Tier.senior)
    joined = await client.post(f"/api/v1/shifts/{shift.id}/waitlist", headers=await bearer(db, waiting))
    assert joined.status_code == 201
    assert joined.json() == {"shift_id": shift.id, "position": 1}
    left = await client.delete(f"/api/v1/shifts/{shift.id}/waitlist", headers=await bearer(db, waiting))
    assert left.status_code == 204


async def test_a_junior_before_their_window_is_told_when_it_opens(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    coordinator = await people.make(Role.coordinator)
    made = await client.post("/api/v1/shifts", json=new_shift_body(), headers=await bearer(db, coordinator))
    junior = await an_agent(people, skills=[await a_skill(db, site)], tier=Tier.junior)
    refused = await client.post(f"/api/v1/shifts/{made.json()['id']}/claim", headers=await bearer(db, junior))
    assert refused.status_code == 409
    assert [reason["code"] for reason in refused.json()["reasons"]] == ["window"]
    assert re.search(r"Opens to you at \d\d:\d\d", refused.json()["message"])


async def test_bad_new_shifts_are_422_naming_the_field(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    headers = await bearer(db, await people.make(Role.coordinator))
    cases = [
        (new_shift_body(start=at(5, "18:15").isoformat()), "start"),
        (new_shift_body(end=at(5, "17:00").isoformat()), "end"),
        (new_shift_body(start=at(-2, "18:00").isoformat(), end=at(-2, "21:00").isoformat()), "start"),
        (new_shift_body(skill="astrology"), "skill"),
        (new_shift_body(seats=0), "seats"),
    ]
    for body, field in cases:
        response = await client.post("/api/v1/shifts", json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["field"] == field, response.json()


async def test_roles_and_sites_are_kept_apart(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    shift = await an_open_shift(db, site, start=at(5, "18:00"), now=utcnow())
    agent = await an_agent(people, skills=[skill], tier=Tier.senior)
    created = await client.post("/api/v1/shifts", json=new_shift_body(), headers=await bearer(db, agent))
    assert created.status_code == 403
    for role in (Role.finance, Role.coordinator):
        staff = await people.make(role)
        assert (
            await client.post(f"/api/v1/shifts/{shift.id}/claim", headers=await bearer(db, staff))
        ).status_code == 403
    elsewhere = await accounts.ensure_site(db, name="Elsewhere", timezone="Asia/Shanghai", country="CN")
    stranger = await people.make(Role.agent, site=elsewhere)
    foreign = await client.post(f"/api/v1/shifts/{shift.id}/claim", headers=await bearer(db, stranger))
    missing = await client.post("/api/v1/shifts/99999999/claim", headers=await bearer(db, stranger))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json()["message"] == missing.json()["message"]


async def test_release_after_the_cutoff_becomes_a_cover_request(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    # made tomorrow (today's 18:00 may have passed), then moved
    soon = await an_open_shift(db, site, start=at(1, "18:00"), now=utcnow())
    soon.start_slot = slot_of(utcnow()) + 4  # two hours ahead
    soon.end_slot = soon.start_slot + 6
    await db.commit()
    agent = await an_agent(people, skills=[skill], tier=Tier.senior)
    headers = await bearer(db, agent)
    assert (await client.post(f"/api/v1/shifts/{soon.id}/claim", headers=headers)).status_code == 201
    released = await client.post(f"/api/v1/shifts/{soon.id}/release", headers=headers)
    assert released.status_code == 200
    late = select(func.count()).where(CoverRequest.shift_id == soon.id, CoverRequest.reason == CoverReason.late_release)
    assert await db.scalar(late) == 1


# Pages ----------------------------------------------------------------------------------


async def test_the_open_shifts_page_claims_in_one_tap_and_offers_undo(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    skill = await a_skill(db, site)
    shift = await an_open_shift(db, site, start=at(5, "18:00"), now=utcnow())
    agent = await an_agent(people, skills=[skill], tier=Tier.senior)
    assert (await login(client, agent.email)).status_code == 303

    page = await client.get("/app/shifts/open")
    assert page.status_code == 200
    assert f'id="shift-{shift.id}"' in page.text
    assert "CNY 120.00" in page.text
    assert "5 seats left" in page.text
    assert "How open shifts are shared out" in page.text
    assert "Mid agents can claim it 10 minutes after it opens." in page.text  # the site's default rules
    assert "You can release a shift until 24 hours before it starts." in page.text
    assert 'href="/app/shifts"' in page.text

    token = client.cookies.get("weft_csrf")
    claimed = await client.post(f"/app/shifts/open/{shift.id}/claim", data={"_csrf_token": token}, headers=HTMX)
    assert claimed.status_code == 200
    assert claimed.text.lstrip().startswith(f'<li class="shift-card open-shift held" id="shift-{shift.id}"')
    assert re.search(r"Undo \(until \d\d:\d\d\)", claimed.text)
    assert claimed.headers["hx-trigger"] == "shift-claimed"

    schedule = await client.get("/app/shifts")
    assert "Billing · 4 h" in schedule.text
    assert f'action="/app/shifts/{shift.id}/release"' in schedule.text
    assert 'href="/app/shifts/open"' in schedule.text

    released = await post_form(client, f"/app/shifts/{shift.id}/release", {})
    assert released.status_code == 303
    assert released.headers["location"] == "/app/shifts?released=1"
    assert await db.scalar(select(Shift.taken).where(Shift.id == shift.id)) == 0


async def test_a_refused_claim_without_javascript_shows_the_page_with_the_reason(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    shift = await an_open_shift(db, site, start=at(5, "18:00"), now=utcnow())
    agent = await an_agent(people, tier=Tier.senior)
    await login(client, agent.email)
    page = await client.get("/app/shifts/open")
    assert "Needs the Billing certification." in page.text
    assert 'href="/app/learn"' in page.text

    refused = await post_form(client, f"/app/shifts/open/{shift.id}/claim", {})
    assert refused.status_code == 409
    assert 'class="alert" role="alert">Needs the Billing certification.' in refused.text
    htmx = await client.post(
        f"/app/shifts/open/{shift.id}/claim", data={"_csrf_token": client.cookies.get("weft_csrf")}, headers=HTMX
    )
    assert htmx.status_code == 200
    assert htmx.headers["hx-retarget"] == "#open-shifts"


async def test_a_coordinator_opens_a_shift_with_the_form_and_sees_field_errors(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    await a_skill(db, site)
    coordinator = await people.make(Role.coordinator)
    await login(client, coordinator.email)
    form = await client.get("/admin/shifts")
    assert form.status_code == 200
    assert 'href="/admin/shifts"' in form.text

    day = at(5, "00:00").date().isoformat()
    values = {"skill": "billing", "day": day, "start": "18:00", "end": "22:00", "seats": "3", "bonus": "0"}
    bad = await post_form(client, "/admin/shifts/", {**values, "start": "18:15"})
    assert bad.status_code == 422
    assert 'id="e-start"' in bad.text
    zero = await post_form(client, "/admin/shifts/", {**values, "seats": "0"})
    assert zero.status_code == 422
    assert 'id="e-seats"' in zero.text

    made = await post_form(client, "/admin/shifts/", values)
    assert made.status_code == 303
    assert made.headers["location"].startswith("/admin/shifts?created=")
    listed = await client.get(made.headers["location"])
    assert "is open for claims" in listed.text
    assert "0 / 3" in listed.text
