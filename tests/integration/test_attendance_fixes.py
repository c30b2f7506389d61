"""Attendance and cover fixes: yesterday's no-show can be marked until its pay period is locked, the agent is
told how to appeal, a running shift's rest is offered for cover, and new cover requests come first, 50 a page."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site
from backend.core.slots import slot_of
from backend.notify.models import Kind, Notification
from backend.pay import periods
from backend.pay.models import PeriodStatus
from backend.shifts import cover
from backend.shifts.models import (
    Attendance,
    CoverCandidate,
    CoverReason,
    CoverRequest,
    CoverStatus,
    Shift,
    ShiftSeat,
)
from tests.conftest import login, post_form
from tests.factories import Factory, a_held_shift, a_skill, an_agent, bearer

# Wednesday 2 December 2026, 10:00 in Shanghai.
NOW = dt.datetime(2026, 12, 2, 2, 0, tzinfo=dt.UTC)
YESTERDAY_9 = dt.datetime(2026, 12, 1, 1, 0, tzinfo=dt.UTC)  # Tuesday 09:00 Shanghai
TODAY_8 = dt.datetime(2026, 12, 2, 0, 0, tzinfo=dt.UTC)  # 08:00-12:00 Shanghai, under way at NOW


@pytest.fixture(autouse=True)
def wednesday_morning(time_machine: time_machine.TimeMachineFixture) -> None:
    time_machine.move_to(NOW, tick=False)


async def as_coordinator(client: httpx.AsyncClient, people: Factory) -> None:
    coordinator = await people.make(Role.coordinator)
    assert (await login(client, coordinator.email)).status_code == 303


async def attendance_of(db: AsyncSession, shift: Shift, user_id: int) -> Attendance | None:
    query = (
        select(Attendance)
        .join(ShiftSeat, ShiftSeat.id == Attendance.seat_id)
        .where(ShiftSeat.shift_id == shift.id, ShiftSeat.user_id == user_id)
    )
    return await db.scalar(query.execution_options(populate_existing=True))


async def test_yesterdays_no_show_is_marked_and_the_agent_is_told_how_to_appeal(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory
) -> None:
    agent = await an_agent(people, display_name="Mei")
    shift = await a_held_shift(db, agent, YESTERDAY_9)
    await as_coordinator(client, people)

    board = await client.get("/admin/attendance/?day=2026-12-01")
    assert f'action="/admin/attendance/{shift.id}/no-show"' in board.text
    assert "Ask for cover for the rest of the shift" not in board.text, "yesterday's shift is over"

    marked = await post_form(
        client, f"/admin/attendance/{shift.id}/no-show", {"user": str(agent.id), "day": "2026-12-01"}
    )
    assert marked.status_code == 303
    found = await attendance_of(db, shift, agent.id)
    assert found is not None
    assert found.no_show_at == NOW
    [note] = list(await db.scalars(select(Notification).where(Notification.user_id == agent.id)))
    assert note.kind is Kind.attendance
    assert note.url == "/app/reliability"
    assert note.title == "You were marked a no-show for your shift yesterday at 09:00."
    assert "appeal it on your Reliability page" in note.body


async def test_a_no_show_in_a_locked_pay_period_is_refused_and_nothing_changes(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await an_agent(people)
    shift = await a_held_shift(db, agent, YESTERDAY_9)
    period = await periods.period_for(db, site=site, day=dt.date(2026, 12, 1))
    period.status = PeriodStatus.locked
    await db.commit()
    await as_coordinator(client, people)

    refused = await post_form(
        client, f"/admin/attendance/{shift.id}/no-show", {"user": str(agent.id), "day": "2026-12-01"}
    )
    assert refused.status_code == 409
    assert "The pay period of this shift is locked" in refused.text
    assert await attendance_of(db, shift, agent.id) is None
    assert list(await db.scalars(select(Notification).where(Notification.user_id == agent.id))) == []

    coordinator = await people.make(Role.coordinator)
    api = await client.post(
        f"/api/v1/shifts/{shift.id}/no-show", json={"user": agent.id}, headers=await bearer(db, coordinator)
    )
    assert api.status_code == 409
    assert await attendance_of(db, shift, agent.id) is None


async def test_marking_a_running_shifts_no_show_asks_for_cover_for_the_rest_of_it(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    billing = await a_skill(db, site)
    absent = await an_agent(people, skills=[billing], display_name="Absent")
    spare = await an_agent(people, skills=[billing], display_name="Spare")
    shift = await a_held_shift(db, absent, TODAY_8, slots=8, skill=billing)
    await as_coordinator(client, people)

    board = await client.get("/admin/attendance/")
    assert "Ask for cover for the rest of the shift" in board.text
    marked = await post_form(
        client, f"/admin/attendance/{shift.id}/no-show", {"user": str(absent.id), "day": "", "cover": "on"}
    )
    assert marked.status_code == 303

    [request] = list(await db.scalars(select(CoverRequest).where(CoverRequest.shift_id == shift.id)))
    assert (request.reason, request.absent_user_id, request.status) == (
        CoverReason.no_show,
        absent.id,
        CoverStatus.open,
    )
    asked = list(await db.scalars(select(CoverCandidate.user_id).where(CoverCandidate.request_id == request.id)))
    assert asked == [spare.id]
    await db.refresh(shift)
    assert (shift.seats, shift.taken) == (1, 0), "the no-show's seat is free for cover"
    found = await attendance_of(db, shift, absent.id)
    assert found is not None
    assert found.no_show_at == NOW
    offer = await db.scalar(select(Notification).where(Notification.user_id == spare.id))
    assert offer is not None
    assert offer.kind is Kind.cover_request


async def test_the_cover_list_puts_open_and_newest_first_50_a_page(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    agent = await an_agent(people)
    shift = await a_held_shift(db, agent, NOW + dt.timedelta(hours=4))
    made = []
    for minutes in range(52):  # one a minute from three hours ago; the oldest is covered
        request = CoverRequest(
            site_id=site.id,
            shift_id=shift.id,
            reason=CoverReason.emergency,
            status=CoverStatus.covered if minutes == 0 else CoverStatus.open,
            created_at=NOW - dt.timedelta(hours=3) + dt.timedelta(minutes=minutes),
            wave=1,
        )
        db.add(request)
        made.append(request)
    closed_new = CoverRequest(
        site_id=site.id,
        shift_id=shift.id,
        reason=CoverReason.emergency,
        status=CoverStatus.cancelled,
        created_at=NOW - dt.timedelta(minutes=1),
        wave=1,
    )
    db.add(closed_new)
    await db.commit()

    first = await cover.site_requests(db, site_id=site.id, now=NOW, page=1)
    assert len(first) == 50
    assert first[0].request.id == made[-1].id, "the newest open request is at the top"
    second = await cover.site_requests(db, site_id=site.id, now=NOW, page=2)
    assert [view.request.id for view in second] == [made[1].id, closed_new.id, made[0].id]
    assert await cover.site_request_count(db, site_id=site.id, now=NOW) == 53

    await as_coordinator(client, people)
    page = await client.get("/admin/cover/")
    assert page.text.index(f'id="cover-{made[-1].id}"') < page.text.index(f'id="cover-{made[-2].id}"')
    assert f'id="cover-{made[1].id}"' not in page.text
    assert "Page 1 of 2" in page.text
    page2 = await client.get("/admin/cover/?page=2")
    assert f'id="cover-{made[1].id}"' in page2.text
    assert slot_of(NOW)  # the clock is pinned
