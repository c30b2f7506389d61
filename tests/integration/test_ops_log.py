"""The duty log: the sweep writes each system item once, leads write items in their kind's template, updates
append, corrections are new items linked both ways; the pages keep agents out and foreign ids at 404."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, Tier, User
from backend.accounts.zones import site_zone
from backend.core.db import Database, create_engine, utcnow
from backend.core.errors import DomainError
from backend.core.migrate import migrate
from backend.core.slots import slot_of, utc_start
from backend.ops import log
from backend.ops.models import DutyLogItem, DutyLogUpdate, LogKind, LogStatus
from backend.requests.models import Priority, Request, RequestKind, RequestStatus
from backend.shifts.models import Attendance, CallKind, CoverReason, CoverRequest, IntradayCall, ShiftSeat
from tests.conftest import login, post_form
from tests.factories import Factory, a_duty, a_held_shift, a_lead, a_skill, an_agent


def local(site: Site, day: dt.date, clock: str) -> dt.datetime:
    hour, minute = (int(part) for part in clock.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=site_zone(site)).astimezone(dt.UTC)


def yesterday(site: Site) -> dt.date:
    """A whole local day in the past, so every time the tests build there is before the real clock."""
    return utcnow().astimezone(site_zone(site)).date() - dt.timedelta(days=1)


@dataclass
class Floor:
    """10:00 yesterday: Ann late (not started at 09:10), Bob a no-show (marked 09:20) with a cover request
    raised at 09:21, Cy started on time, Di not due until 11:00; a coordinator on duty 08:00-12:00."""

    site: Site
    day: dt.date
    now: dt.datetime
    ann: User
    bob: User
    duty_id: int
    no_show_id: int
    cover_id: int
    bob_seat_id: int
    ann_seat_id: int


async def a_floor(db: AsyncSession, site: Site, people: Factory) -> Floor:
    day = yesterday(site)
    ann = await an_agent(people, display_name="Ann")
    bob = await an_agent(people, display_name="Bob")
    cy = await an_agent(people, display_name="Cy")
    di = await an_agent(people, display_name="Di")
    coordinator = await people.make(Role.coordinator, display_name="Coco")
    duty = await a_duty(db, site, coordinator, start=local(site, day, "08:00"), hours=4)
    ann_shift = await a_held_shift(db, ann, local(site, day, "09:00"), slots=8)
    bob_shift = await a_held_shift(db, bob, local(site, day, "09:00"), slots=8, no_show_at=local(site, day, "09:20"))
    cy_shift = await a_held_shift(db, cy, local(site, day, "09:00"), slots=8)
    await a_held_shift(db, di, local(site, day, "11:00"), slots=4)
    cy_seat = await db.scalar(select(ShiftSeat).where(ShiftSeat.shift_id == cy_shift.id))
    db.add(Attendance(seat_id=cy_seat.id, started_at=local(site, day, "09:02")))
    bob_seat = await db.scalar(select(ShiftSeat).where(ShiftSeat.shift_id == bob_shift.id))
    ann_seat = await db.scalar(select(ShiftSeat).where(ShiftSeat.shift_id == ann_shift.id))
    no_show = await db.scalar(select(Attendance).where(Attendance.seat_id == bob_seat.id))
    request = CoverRequest(
        site_id=site.id,
        shift_id=bob_shift.id,
        absent_user_id=bob.id,
        reason=CoverReason.no_show,
        created_at=local(site, day, "09:21"),
    )
    db.add(request)
    await db.commit()
    return Floor(
        site=site,
        day=day,
        now=local(site, day, "10:00"),
        ann=ann,
        bob=bob,
        duty_id=duty.id,
        no_show_id=no_show.id,
        cover_id=request.id,
        bob_seat_id=bob_seat.id,
        ann_seat_id=ann_seat.id,
    )


async def test_sweep_logs_no_show_late_start_and_cover_once(db: AsyncSession, site: Site, people: Factory) -> None:
    floor = await a_floor(db, site, people)

    assert await log.sweep_system_items(db, now=floor.now) == 3
    assert await log.sweep_system_items(db, now=floor.now + dt.timedelta(minutes=1)) == 0

    items = await log.day_items(
        db, site_id=site.id, start=local(site, floor.day, "00:00"), end=local(site, floor.day, "23:30")
    )
    assert [(item.kind, item.started_at, item.subject) for item in items] == [
        (LogKind.late_start, local(site, floor.day, "09:10"), "Ann"),
        (LogKind.no_show, local(site, floor.day, "09:20"), "Bob"),
        (LogKind.cover_request, local(site, floor.day, "09:21"), "Bob"),
    ]
    assert {item.duty_id for item in items} == {floor.duty_id}
    assert all(item.system and item.status is LogStatus.open for item in items)
    assert items[0].summary == "Ann · 09:00\u201313:00"
    assert (items[1].link or "").startswith(f"/admin/attendance?day={floor.day.isoformat()}&shift=")
    assert items[2].link == f"/admin/cover#cover-{floor.cover_id}"


async def test_sweep_logs_an_intraday_call(db: AsyncSession, site: Site, people: Factory) -> None:
    floor = await a_floor(db, site, people)
    skill = await a_skill(db, site)
    start = slot_of(local(site, floor.day, "14:00"))
    db.add(
        IntradayCall(
            site_id=site.id,
            kind=CallKind.vto,
            skill_id=skill.id,
            start_slot=start,
            end_slot=start + 4,
            wanted=2,
            created_at=local(site, floor.day, "09:50"),
            expires_at=local(site, floor.day, "10:10"),
        )
    )
    await db.commit()

    assert await log.sweep_system_items(db, now=floor.now) == 4

    items = await log.day_items(
        db, site_id=site.id, start=local(site, floor.day, "09:50"), end=local(site, floor.day, "09:51")
    )
    assert [(item.kind, item.summary, item.link) for item in items] == [
        (LogKind.intraday_offer, "VTO · Billing · 14:00\u201316:00 · \u00d72", "/admin/today")
    ]


async def test_sweep_logs_a_request_past_its_deadline_with_a_link_to_it(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    floor = await a_floor(db, site, people)
    breached = local(site, floor.day, "09:40")
    request = Request(
        site_id=site.id,
        kind=RequestKind.system,
        asker_id=floor.ann.id,
        title="Headset app crashes",
        details="Every call.",
        status=RequestStatus.queued,
        priority=Priority.high,
        created_at=local(site, floor.day, "08:00"),
        response_breached_at=breached,
    )
    db.add(request)
    await db.commit()

    assert await log.sweep_system_items(db, now=floor.now) == 4
    assert await log.sweep_system_items(db, now=floor.now) == 0  # logged once

    items = await log.day_items(db, site_id=site.id, start=breached, end=breached + dt.timedelta(minutes=1))
    assert [(item.kind, item.summary, item.link) for item in items] == [
        (LogKind.request_breach, "Headset app crashes", f"/admin/requests/{request.id}")
    ]


async def test_late_start_waits_for_the_sites_minutes(db: AsyncSession, site: Site, people: Factory) -> None:
    floor = await a_floor(db, site, people)

    # At 09:09 Ann is not late yet (10 minutes by default) and Bob's no-show is not marked yet.
    assert await log.sweep_system_items(db, now=local(site, floor.day, "09:09")) == 0
    assert await log.sweep_system_items(db, now=local(site, floor.day, "09:10")) == 1


async def test_board_action_and_sweep_write_the_item_once(db: AsyncSession, site: Site, people: Factory) -> None:
    floor = await a_floor(db, site, people)

    first = await log.record_system_item(
        db,
        site_id=site.id,
        kind=LogKind.no_show,
        source_key=f"no_show:{floor.no_show_id}",
        started_at=local(site, floor.day, "09:20"),
        summary="Bob",
        subject_user_id=floor.bob.id,
        now=local(site, floor.day, "09:20"),
    )
    again = await log.record_system_item(
        db,
        site_id=site.id,
        kind=LogKind.no_show,
        source_key=f"no_show:{floor.no_show_id}",
        started_at=local(site, floor.day, "09:20"),
        summary="Bob again",
        now=local(site, floor.day, "09:21"),
    )

    assert first is not None
    assert first.duty_id == floor.duty_id
    assert again is None
    assert await log.sweep_system_items(db, now=floor.now) == 2  # the late start and the cover request
    count = await db.scalar(select(func.count()).where(DutyLogItem.site_id == site.id))
    assert count == 3


async def test_sweep_looks_back_36_hours_only(db: AsyncSession, site: Site, people: Factory) -> None:
    floor = await a_floor(db, site, people)

    assert (
        await log.sweep_system_items(db, now=floor.now + dt.timedelta(hours=48)) == 0
    )  # Di was late at 11:10, 46 h 50 ago


async def test_lead_item_update_and_correction(db: AsyncSession, site: Site, people: Factory) -> None:
    day = yesterday(site)
    lead = await an_agent(people, display_name="Lena", tier=Tier.senior)
    await a_lead(db, site, lead)
    duty = await a_duty(db, site, lead, start=local(site, day, "08:00"), hours=4)
    entry = log.LeadEntry(
        kind=LogKind.system_problem,
        started_at=local(site, day, "09:40"),
        summary="Phones drop calls",
        details={"system": "Telephony", "symptom": "Calls drop after 30 s", "affected": "12"},
        action="Called the vendor",
        told="IT on call",
        status=LogStatus.in_progress,
    )

    item = await log.record_item(db, site=site, entry=entry, author=lead, now=local(site, day, "09:50"))
    await log.add_update(
        db,
        site_id=site.id,
        item_id=item.id,
        author=lead,
        action="Vendor fixed the trunk",
        told="Agents on shift",
        status=LogStatus.closed,
        now=local(site, day, "10:30"),
    )
    fix = await log.record_item(
        db,
        site=site,
        entry=log.LeadEntry(
            kind=LogKind.system_problem,
            started_at=local(site, day, "09:35"),
            summary="Phones drop calls (started 09:35, not 09:40)",
            details={"system": "Telephony", "symptom": "Calls drop after 30 s", "affected": "14"},
            corrects_id=item.id,
        ),
        author=lead,
        now=local(site, day, "10:40"),
    )

    view = await log.item_view(db, site_id=site.id, item_id=item.id)
    assert view.duty_id == duty.id
    assert view.lead == "Lena"
    assert view.status is LogStatus.closed
    assert view.first_action_at == local(site, day, "09:50")
    assert view.closed_at == local(site, day, "10:30")
    assert [(u.action, u.status) for u in view.updates] == [
        ("Called the vendor", LogStatus.in_progress),
        ("Vendor fixed the trunk", LogStatus.closed),
    ]
    assert view.corrected_by == [fix.id]
    corrected = await log.item_view(db, site_id=site.id, item_id=fix.id)
    assert corrected.corrects_id == item.id
    assert corrected.details["affected"] == "14"
    assert view.details["affected"] == "12"  # the original stays as written
    assert await db.scalar(select(func.count()).where(DutyLogUpdate.item_id == item.id)) == 2


@pytest.mark.parametrize(
    ("kind", "details", "field"),
    [
        (LogKind.system_problem, {"system": "CRM", "symptom": "slow"}, "affected"),
        (LogKind.queue_spike, {"queue": "billing", "size": "many", "wait": "5"}, "size"),
        (LogKind.staffing_gap, {"skill": "tech", "from_time": "9am", "to_time": "10:00", "short_by": "2"}, "from_time"),
    ],
)
async def test_an_incomplete_template_is_refused_naming_the_field(
    db: AsyncSession, site: Site, people: Factory, kind: LogKind, details: dict[str, str], field: str
) -> None:
    lead = await people.make(Role.coordinator)
    entry = log.LeadEntry(kind=kind, started_at=utcnow(), summary="x", details=details)

    with pytest.raises(DomainError) as refused:
        await log.record_item(db, site=site, entry=entry, author=lead, now=utcnow())

    assert refused.value.field == field
    assert await db.scalar(select(func.count()).where(DutyLogItem.site_id == site.id)) == 0


# The sweep racing itself, each run in its own unit of work on a fresh database ------------------------


@pytest.fixture
async def fresh(empty_database_url: str) -> AsyncIterator[Database]:
    await asyncio.to_thread(migrate, empty_database_url, "head")
    engine = create_engine(empty_database_url, pool_size=6, max_overflow=0, pool_timeout=60)
    yield Database(engine)
    await engine.dispose()


async def test_concurrent_sweeps_write_each_item_once(fresh: Database) -> None:
    async with fresh.session(write=True) as session:
        site = await accounts.ensure_site(session, name="Race Centre", timezone="Asia/Shanghai", country="CN")
        floor = await a_floor(session, site, Factory(db=session, site=site))

    async def sweep() -> int:
        async with fresh.session(write=True) as session:
            return await log.sweep_system_items(session, now=floor.now)

    written = await asyncio.gather(*(sweep() for _ in range(4)))

    assert sum(written) == 3
    async with fresh.session() as session:
        keys = set(await session.scalars(select(DutyLogItem.source_key)))
    assert keys == {f"late:{floor.ann_seat_id}", f"no_show:{floor.no_show_id}", f"cover:{floor.cover_id}"}


# The pages ---------------------------------------------------------------------------------------------


def on_the_half_hour(moment: dt.datetime) -> dt.datetime:
    return utc_start(slot_of(moment))


async def test_a_lead_on_duty_logs_an_item_and_updates_it(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    lena = await an_agent(people, display_name="Lena", tier=Tier.senior)
    await a_lead(db, site, lena)
    await a_duty(db, site, lena, start=on_the_half_hour(utcnow()) - dt.timedelta(hours=1), hours=4)
    started = (utcnow() - dt.timedelta(minutes=5)).astimezone(site_zone(site))
    assert (await login(client, lena.email)).status_code == 303

    form = await client.get("/admin/duty/log/?kind=queue_spike")
    logged = await post_form(
        client,
        "/admin/duty/log/",
        {
            "kind": "queue_spike",
            "day": started.date().isoformat(),
            "started": started.strftime("%H:%M"),
            "summary": "Billing queue at 40",
            "queue": "Billing",
            "size": "40",
            "wait": "12",
            "action": "Asked two agents to switch",
            "told": "Coordinator",
            "status": "in_progress",
        },
    )
    item = await db.scalar(select(DutyLogItem).where(DutyLogItem.site_id == site.id))
    page = await client.get(f"/admin/duty/log/?day={started.date().isoformat()}")
    updated = await post_form(
        client, f"/admin/duty/log/{item.id}/updates", {"action": "Queue back to 5", "status": "closed"}
    )
    shown = await client.get(f"/admin/duty/log/{item.id}")
    badge = await client.get("/app/duty-badge/")

    assert form.status_code == 200
    assert 'name="size"' in form.text
    assert logged.status_code == 303
    assert item.details == {"queue": "Billing", "size": "40", "wait": "12"}
    assert item.author_id == lena.id
    assert "Billing queue at 40" in page.text
    assert updated.status_code == 303
    assert "Queue back to 5" in shown.text
    assert "Asked two agents to switch" in shown.text
    assert "On duty until" in badge.text


async def test_a_template_field_left_blank_is_refused_on_the_page(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    coco = await people.make(Role.coordinator)
    assert (await login(client, coco.email)).status_code == 303
    now = utcnow().astimezone(site_zone(site))

    refused = await post_form(
        client,
        "/admin/duty/log/",
        {"kind": "customer_complaint", "day": now.date().isoformat(), "started": "00:00", "summary": "Angry caller"},
    )

    assert refused.status_code == 422
    assert 'aria-describedby="e-channel"' in refused.text
    assert 'value="Angry caller"' in refused.text
    assert await db.scalar(select(func.count()).where(DutyLogItem.site_id == site.id)) == 0


async def test_who_may_use_the_log(client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory) -> None:
    agent = await an_agent(people)
    idle_lead = await an_agent(people, tier=Tier.senior)
    await a_lead(db, site, idle_lead)
    finance = await people.make(Role.finance)
    coco = await people.make(Role.coordinator)
    other_site = await accounts.ensure_site(db, name="Other Centre", timezone="Europe/Berlin", country="DE")
    foreign = await log.record_system_item(
        db,
        site_id=other_site.id,
        kind=LogKind.no_show,
        source_key="no_show:1",
        started_at=utcnow(),
        summary="x",
        now=utcnow(),
    )
    await db.commit()
    post = {"action": "Done", "status": "closed"}

    await login(client, agent.email)
    assert (await client.get("/admin/duty/log/")).status_code == 403
    assert (await client.get("/admin/duty/handover/")).status_code == 403
    assert (await client.get("/app/duty-badge/")).text.strip() == ""
    await login(client, idle_lead.email)  # named, but not on duty
    assert (await client.get("/admin/duty/log/")).status_code == 403
    await login(client, finance.email)
    assert (await client.get("/admin/duty/log/")).status_code == 200
    assert (await client.get("/admin/duty/handover/")).status_code == 200
    assert (await post_form(client, "/admin/duty/log/", {"kind": "other"})).status_code == 403
    await login(client, coco.email)
    assert (await client.get(f"/admin/duty/log/{foreign.id}")).status_code == 404
    assert (await post_form(client, f"/admin/duty/log/{foreign.id}/updates", post)).status_code == 404
    assert (await client.get(f"/admin/duty/log/?corrects={foreign.id}")).status_code == 404
