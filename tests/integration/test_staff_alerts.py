"""Staff alerts: who they reach, once, with the per-kind choice and quiet hours agents have, and where they link."""

from __future__ import annotations

import datetime as dt

import httpx
import time_machine
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import PAY_ADJUSTERS, Role, Site, UserStatus
from backend.accounts.site_settings import update_site_settings
from backend.notify import service as notify
from backend.notify.models import Kind, Notification, PushMessage, PushSubscription
from backend.ops import alerts
from backend.ops.models import Duty, Handover
from backend.shifts import attendance, cover, jobs
from backend.shifts.models import CoverReason, ShiftSeat
from tests.conftest import login
from tests.factories import Factory, a_held_shift, a_skill, an_agent
from tests.integration.test_disputes import an_open_dispute

# 2026-12-01 14:00 in Shanghai.
NOW = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)


async def inbox_of(db: AsyncSession, user_id: int) -> list[Notification]:
    query = select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
    return list(await db.scalars(query))


async def inbox_shift_of(db: AsyncSession, user_id: int) -> int:
    """The one shift ``user_id`` holds a seat on."""
    return int(await db.scalar(select(ShiftSeat.shift_id).where(ShiftSeat.user_id == user_id)) or 0)


async def a_device(db: AsyncSession, user_id: int, name: str = "phone") -> PushSubscription:
    row = PushSubscription(user_id=user_id, endpoint=f"https://push.example.net/{user_id}/{name}", p256dh="k", auth="a")
    db.add(row)
    await db.flush()
    return row


async def test_staff_of_site_is_the_active_coordinators_and_admins_of_that_site(
    db: AsyncSession, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator, display_name="Cora")
    admin = await people.make(Role.admin, display_name="Ada")
    finance = await people.make(Role.finance, display_name="Fin")
    await people.make(Role.agent)
    gone = await people.make(Role.coordinator, display_name="Gone")
    gone.status = UserStatus.left
    other = await accounts.ensure_site(db, name="Other", timezone="UTC", country="GB")
    await people.make(Role.coordinator, site=other)
    await db.flush()

    staff = await accounts.staff_of_site(db, site_id=people.site.id)
    assert [user.id for user in staff] == [admin.id, coordinator.id]
    adjusters = await accounts.staff_of_site(db, site_id=people.site.id, roles=PAY_ADJUSTERS)
    assert [user.id for user in adjusters] == [admin.id, coordinator.id, finance.id]


async def test_notify_staff_tells_each_staff_member_once_per_subject(db: AsyncSession, people: Factory) -> None:
    coordinator = await people.make(Role.coordinator)
    admin = await people.make(Role.admin)
    agent = await people.make(Role.agent)
    values = {"names": ["Agent 9"], "count": 1, "start": "2026-12-01T06:00:00+00:00"}

    told = await notify.notify_staff(
        db, site_id=people.site.id, kind=Kind.staff_late, values=values, link="/admin/today", now=NOW, subject="late:1"
    )
    again = await notify.notify_staff(
        db, site_id=people.site.id, kind=Kind.staff_late, values=values, link="/admin/today", now=NOW, subject="late:1"
    )

    assert (told, again) == (2, 0)
    for user in (coordinator, admin):
        [note] = await inbox_of(db, user.id)
        assert note.kind is Kind.staff_late
        assert note.url == "/admin/today"
        assert note.title == "1 agent has not started their 14:00 shift."
        assert note.body == "Agent 9"
    assert await inbox_of(db, agent.id) == []


async def test_only_user_ids_reaches_just_them_whatever_their_role(db: AsyncSession, people: Factory) -> None:
    await people.make(Role.coordinator)
    lead = await people.make(Role.agent)
    told = await notify.notify_staff(
        db,
        site_id=people.site.id,
        kind=Kind.staff_late,
        values={"names": ["X"], "count": 1, "start": "2026-12-01T06:00:00+00:00"},
        link="/admin/today",
        now=NOW,
        only_user_ids=[lead.id],
    )
    assert told == 1
    assert len(await inbox_of(db, lead.id)) == 1


async def test_muted_kind_and_quiet_hours_hold_the_push_but_not_the_inbox(db: AsyncSession, people: Factory) -> None:
    muted = await people.make(Role.coordinator)
    quiet = await people.make(Role.coordinator)
    for user in (muted, quiet):
        await a_device(db, user.id)
    all_kinds = set(Kind)
    await notify.save_preferences(
        db, user_id=muted.id, push_kinds=all_kinds - {Kind.staff_dispute}, quiet_start=None, quiet_end=None
    )
    # 13:00-15:00 Shanghai: NOW (14:00) is quiet; the push waits until 15:00 (07:00 UTC).
    await notify.save_preferences(db, user_id=quiet.id, push_kinds=all_kinds, quiet_start="13:00", quiet_end="15:00")

    await notify.notify_staff(
        db,
        site_id=people.site.id,
        kind=Kind.staff_dispute,
        values={"name": "Agent 1", "first": "2026-11-30", "last": "2026-12-06", "text": "Sunday missing"},
        link="/admin/pay/disputes",
        now=NOW,
    )

    assert len(await inbox_of(db, muted.id)) == 1
    assert len(await inbox_of(db, quiet.id)) == 1
    pushes = list(await db.scalars(select(PushMessage)))
    assert len(pushes) == 1
    assert pushes[0].next_attempt_at == dt.datetime(2026, 12, 1, 7, 0, tzinfo=dt.UTC)


async def test_the_settings_page_lists_staff_kinds_to_staff_and_agent_kinds_to_agents(
    client: httpx.AsyncClient, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    agent = await people.make(Role.agent)

    await login(client, coordinator.email)
    staff_page = (await client.get("/app/inbox/settings")).text
    assert "Agents late for their shift" in staff_page
    assert "Cover requests that found nobody" in staff_page
    assert "Urgent cover requests" not in staff_page

    client.cookies.clear()
    await login(client, agent.email)
    agent_page = (await client.get("/app/inbox/settings")).text
    assert "Urgent cover requests" in agent_page
    assert "Agents late for their shift" not in agent_page


# The sources ------------------------------------------------------------------------------------


async def test_a_new_pay_dispute_alerts_the_pay_adjusters_once_with_a_link(
    db: AsyncSession, site: Site, people: Factory, time_machine: time_machine.TimeMachineFixture
) -> None:
    time_machine.move_to(dt.datetime(2026, 11, 10, 4, 0, tzinfo=dt.UTC), tick=True)
    coordinator = await people.make(Role.coordinator)
    finance = await people.make(Role.finance)
    agent = await people.make(Role.agent, display_name="Mei")

    await an_open_dispute(db, site, agent, comment="I took 14 calls")

    for user in (coordinator, finance):
        [note] = await inbox_of(db, user.id)
        assert note.kind is Kind.staff_dispute
        assert note.url == "/admin/pay/disputes"
        assert note.title.startswith("Mei asked a pay question about ")
        assert note.body == "I took 14 calls"
    assert await inbox_of(db, agent.id) == []


async def test_cover_that_found_nobody_alerts_staff_once_after_the_last_wave_had_its_time(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    billing = await a_skill(db, site)
    holder = await an_agent(people, skills=[billing])
    asked = await an_agent(people, skills=[billing])
    start = NOW + dt.timedelta(hours=2)  # 16:00-18:00 in Shanghai
    shift = await a_held_shift(db, holder, start, slots=4, skill=billing)
    raised = await cover.request_cover(
        db,
        site=site,
        shift_id=shift.id,
        absent_user_id=holder.id,
        reason=CoverReason.emergency,
        bonus_minor=0,
        by=coordinator.id,
        now=NOW,
    )
    assert raised.next_wave_at is None, "one wave asked everyone eligible"
    assert [n.user_id for n in await inbox_of(db, asked.id)] == [asked.id]

    wave_minutes = dt.timedelta(minutes=10)
    assert await cover.alert_unfilled(db, now=NOW + wave_minutes - dt.timedelta(seconds=1)) == 0
    assert await cover.alert_unfilled(db, now=NOW + wave_minutes) == 1
    assert await cover.alert_unfilled(db, now=NOW + wave_minutes + dt.timedelta(minutes=1)) == 0

    [note] = await inbox_of(db, coordinator.id)
    assert note.kind is Kind.staff_cover_unfilled
    assert note.url == f"/admin/cover#cover-{raised.id}"
    assert note.title == "Cover found nobody: Today 16:00-18:00, Billing. Every wave was asked."


async def test_tomorrows_unconfirmed_shifts_are_one_summary_at_18_local(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    coordinator = await people.make(Role.coordinator)
    ann = await an_agent(people, display_name="Ann")
    bo = await an_agent(people, display_name="Bo")
    cy = await an_agent(people, display_name="Cy")
    tomorrow_9 = dt.datetime(2026, 12, 2, 1, 0, tzinfo=dt.UTC)  # 09:00 Shanghai on 2 December
    for agent in (ann, bo, cy):
        await a_held_shift(db, agent, tomorrow_9)
    confirmed = await a_held_shift(db, cy, tomorrow_9 + dt.timedelta(hours=6))
    await attendance.confirm_shift(db, shift_id=confirmed.id, agent=cy, now=NOW)
    before = dt.datetime(2026, 12, 1, 9, 59, tzinfo=dt.UTC)  # 17:59 Shanghai
    at_six = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)

    assert await jobs.alert_unconfirmed(db, now=before) == 0
    assert await jobs.alert_unconfirmed(db, now=at_six) == 1
    assert await jobs.alert_unconfirmed(db, now=at_six + dt.timedelta(hours=1)) == 0

    [note] = await inbox_of(db, coordinator.id)
    assert note.kind is Kind.staff_unconfirmed
    assert note.title == "3 shifts on 2 Dec 2026 are not confirmed yet."
    assert note.body == "Ann, Bo, Cy"
    assert note.url == "/admin/attendance?day=2026-12-02"


async def test_late_agents_go_to_the_lead_on_duty_else_to_the_coordinators_once_per_start(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    await update_site_settings(db, site, late_after_minutes=10)
    coordinator = await people.make(Role.coordinator)
    lead = await an_agent(people, display_name="Lead")
    ann = await an_agent(people, display_name="Ann")
    bo = await an_agent(people, display_name="Bo")
    started = await an_agent(people, display_name="Started")
    start = NOW  # 14:00 Shanghai
    for agent in (ann, bo, started):
        await a_held_shift(db, agent, start)
    shift = await a_held_shift(db, lead, start - dt.timedelta(hours=2))
    started_shift = await inbox_shift_of(db, started.id)
    await attendance.start_shift(db, shift_id=started_shift, agent=started, now=start)
    assert shift.id

    assert await alerts.alert_late_agents(db, now=start + dt.timedelta(minutes=9)) == 0
    assert await alerts.alert_late_agents(db, now=start + dt.timedelta(minutes=10)) == 1
    [note] = await inbox_of(db, coordinator.id)
    assert note.title == "2 agents have not started their 14:00 shift."
    assert note.body == "Ann, Bo"
    assert note.url == "/admin/today"
    assert await alerts.alert_late_agents(db, now=start + dt.timedelta(minutes=30)) == 0

    # A later start, with a lead on duty: only the lead hears of it.
    db.add(Duty(site_id=site.id, user_id=lead.id, starts_at=NOW, ends_at=NOW + dt.timedelta(hours=8)))
    late_start = NOW + dt.timedelta(hours=1)
    await a_held_shift(db, ann, late_start + dt.timedelta(hours=3))
    await a_held_shift(db, bo, late_start)
    assert await alerts.alert_late_agents(db, now=late_start + dt.timedelta(minutes=10)) == 1
    assert len(await inbox_of(db, coordinator.id)) == 1
    [lead_note] = [n for n in await inbox_of(db, lead.id) if n.kind is Kind.staff_late]
    assert lead_note.title == "1 agent has not started their 15:00 shift."


async def test_a_duty_without_its_handover_alerts_the_coordinators_once(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    await update_site_settings(db, site, handover_due_minutes=30)
    coordinator = await people.make(Role.coordinator)
    lead = await people.make(Role.coordinator, display_name="Lena")
    ended = NOW - dt.timedelta(hours=1)
    missing = Duty(site_id=site.id, user_id=lead.id, starts_at=ended - dt.timedelta(hours=8), ends_at=ended)
    handed = Duty(
        site_id=site.id,
        user_id=lead.id,
        starts_at=ended - dt.timedelta(hours=16),
        ends_at=ended - dt.timedelta(hours=8),
    )
    db.add_all([missing, handed])
    await db.flush()
    db.add(Handover(site_id=site.id, duty_id=handed.id, from_user_id=lead.id, submitted_at=handed.ends_at))
    await db.flush()

    assert await alerts.alert_missing_handovers(db, now=ended + dt.timedelta(minutes=29)) == 0
    assert await alerts.alert_missing_handovers(db, now=ended + dt.timedelta(minutes=30)) == 2
    assert await alerts.alert_missing_handovers(db, now=ended + dt.timedelta(minutes=31)) == 0
    [note] = await inbox_of(db, coordinator.id)
    assert note.kind is Kind.staff_handover
    assert note.title == "Lena's duty ended today at 13:00 without a handover."
    assert note.url == "/admin/duty"
