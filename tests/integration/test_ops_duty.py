"""The duty roster: one lead on duty at a time (an overlap is refused naming the other duty), who is on
duty now and next, cancelling, naming shift leads; the pages keep agents out and finance read-only."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, Tier, User
from backend.accounts.zones import site_zone
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.slots import IsoWeek
from backend.ops import duty
from backend.ops.models import Duty
from tests.conftest import login, post_form
from tests.factories import Factory, a_duty, a_lead, an_agent


def local(site: Site, day: dt.date, clock: str) -> dt.datetime:
    hour, minute = (int(part) for part in clock.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=site_zone(site)).astimezone(dt.UTC)


def tomorrow(site: Site) -> dt.date:
    return utcnow().astimezone(site_zone(site)).date() + dt.timedelta(days=1)


async def test_on_duty_names_the_current_and_the_next_lead(db: AsyncSession, site: Site, people: Factory) -> None:
    day = tomorrow(site)
    coco = await people.make(Role.coordinator, display_name="Coco")
    lena = await an_agent(people, display_name="Lena", tier=Tier.senior)
    await a_lead(db, site, lena)
    first = await a_duty(db, site, coco, start=local(site, day, "08:00"), hours=4)
    second = await a_duty(db, site, lena, start=local(site, day, "12:00"), hours=6)

    at_nine = await duty.on_duty(db, site_id=site.id, now=local(site, day, "09:00"))
    at_noon = await duty.on_duty(db, site_id=site.id, now=local(site, day, "12:00"))
    at_night = await duty.on_duty(db, site_id=site.id, now=local(site, day, "19:00"))

    assert at_nine.current is not None
    assert at_nine.current.id == first.id
    assert at_nine.current.name == "Coco"
    assert not at_nine.current.lead
    assert at_nine.next is not None
    assert at_nine.next.id == second.id
    assert at_nine.next.lead
    assert at_noon.current is not None
    assert at_noon.current.name == "Lena"
    assert at_noon.next is None
    assert at_night.current is None
    assert at_night.next is None


async def test_an_overlapping_duty_is_refused_naming_the_other(db: AsyncSession, site: Site, people: Factory) -> None:
    day = tomorrow(site)
    coco = await people.make(Role.coordinator, display_name="Coco")
    dora = await people.make(Role.coordinator, display_name="Dora")
    await duty.add_duty(
        db, site=site, user_id=coco.id, day=day, start=dt.time(8), end=dt.time(12), by=coco, now=utcnow()
    )

    with pytest.raises(DomainError) as refused:
        await duty.add_duty(
            db, site=site, user_id=dora.id, day=day, start=dt.time(11, 30), end=dt.time(16), by=coco, now=utcnow()
        )

    assert refused.value.field == "start"
    assert "Coco" in refused.value.message
    assert "08:00" in refused.value.message
    # Back to back is fine: 12:00 is when Coco's duty ends.
    await duty.add_duty(
        db, site=site, user_id=dora.id, day=day, start=dt.time(12), end=dt.time(16), by=coco, now=utcnow()
    )
    assert await db.scalar(select(func.count()).where(Duty.site_id == site.id)) == 2


async def test_a_duty_runs_past_midnight_and_must_be_on_the_half_hour(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    day = tomorrow(site)
    coco = await people.make(Role.coordinator)

    night = await duty.add_duty(
        db, site=site, user_id=coco.id, day=day, start=dt.time(22), end=dt.time(6), by=coco, now=utcnow()
    )
    with pytest.raises(DomainError) as refused:
        await duty.add_duty(
            db, site=site, user_id=coco.id, day=day, start=dt.time(8, 15), end=dt.time(9), by=coco, now=utcnow()
        )

    assert night.ends_at - night.starts_at == dt.timedelta(hours=8)
    assert refused.value.field == "start"


async def test_only_staff_and_named_leads_go_on_duty(db: AsyncSession, site: Site, people: Factory) -> None:
    day = tomorrow(site)
    coco = await people.make(Role.coordinator)
    sam = await an_agent(people, tier=Tier.senior)

    with pytest.raises(DomainError) as refused:
        await duty.add_duty(
            db, site=site, user_id=sam.id, day=day, start=dt.time(8), end=dt.time(12), by=coco, now=utcnow()
        )
    await duty.name_lead(db, site_id=site.id, user_id=sam.id, by=coco, now=utcnow())
    made = await duty.add_duty(
        db, site=site, user_id=sam.id, day=day, start=dt.time(8), end=dt.time(12), by=coco, now=utcnow()
    )

    assert refused.value.field == "user_id"
    assert made.user_id == sam.id
    assert [lead.user_id for lead in await duty.leads_page(db, site_id=site.id) if lead.named] == [sam.id]


async def test_a_cancelled_duty_stays_but_frees_its_time(db: AsyncSession, site: Site, people: Factory) -> None:
    day = tomorrow(site)
    coco = await people.make(Role.coordinator)
    first = await duty.add_duty(
        db, site=site, user_id=coco.id, day=day, start=dt.time(8), end=dt.time(12), by=coco, now=utcnow()
    )

    await duty.cancel_duty(db, site_id=site.id, duty_id=first.id, now=utcnow())
    again = await duty.add_duty(
        db, site=site, user_id=coco.id, day=day, start=dt.time(9), end=dt.time(12), by=coco, now=utcnow()
    )

    state = await duty.on_duty(db, site_id=site.id, now=local(site, day, "10:00"))
    assert state.current is not None
    assert state.current.id == again.id
    assert await db.get(Duty, first.id) is not None


# The pages ---------------------------------------------------------------------------------------------


async def signed_in(client: httpx.AsyncClient, user: User) -> None:
    assert (await login(client, user.email)).status_code == 303


async def test_coordinator_puts_a_lead_on_duty_and_an_overlap_is_refused_on_the_page(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    day = tomorrow(site)
    coco = await people.make(Role.coordinator, display_name="Coco")
    sam = await an_agent(people, display_name="Sam", tier=Tier.senior)
    await signed_in(client, coco)

    named = await post_form(client, "/admin/duty/leads", {"user_id": str(sam.id), "action": "name"})
    added = await post_form(
        client, "/admin/duty/", {"user_id": str(sam.id), "day": day.isoformat(), "start": "08:00", "end": "12:00"}
    )
    clash = await post_form(
        client, "/admin/duty/", {"user_id": str(coco.id), "day": day.isoformat(), "start": "11:00", "end": "15:00"}
    )
    week = await client.get(f"/admin/duty/?week={IsoWeek.of(day)}")

    assert named.status_code == 303
    assert added.status_code == 303
    assert clash.status_code == 422
    assert "overlaps Sam" in clash.text
    assert 'id="f-start"' in clash.text
    assert week.status_code == 200
    assert "Sam" in week.text
    assert "08:00\u201312:00" in week.text
    assert await db.scalar(select(func.count()).where(Duty.site_id == site.id)) == 1


async def test_a_bad_time_is_refused_naming_the_field(client: httpx.AsyncClient, site: Site, people: Factory) -> None:
    coco = await people.make(Role.coordinator)
    await signed_in(client, coco)

    refused = await post_form(
        client,
        "/admin/duty/",
        {"user_id": str(coco.id), "day": tomorrow(site).isoformat(), "start": "9", "end": "12:00"},
    )

    assert refused.status_code == 422
    assert 'aria-describedby="e-start"' in refused.text


async def test_roles_on_the_roster(client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory) -> None:
    coco = await people.make(Role.coordinator)
    finance = await people.make(Role.finance)
    agent = await an_agent(people)
    other_site = await accounts.ensure_site(db, name="Other Centre", timezone="Europe/Berlin", country="DE")
    stranger = await people.make(Role.coordinator, site=other_site)
    foreign = await a_duty(db, other_site, stranger, start=local(site, tomorrow(site), "08:00"))

    await signed_in(client, agent)
    assert (await client.get("/admin/duty/")).status_code == 403
    assert (await client.get("/admin/duty/leads")).status_code == 403
    await signed_in(client, finance)
    assert (await client.get("/admin/duty/")).status_code == 200
    assert (await client.get("/admin/duty/leads")).status_code == 200
    assert (await post_form(client, "/admin/duty/leads", {"user_id": str(agent.id)})).status_code == 403
    await signed_in(client, coco)
    assert (await post_form(client, f"/admin/duty/{foreign.id}/cancel", {})).status_code == 404
    assert (await post_form(client, "/admin/duty/leads", {"user_id": str(stranger.id)})).status_code == 404
    assert (await db.get(Duty, foreign.id)).cancelled_at is None
