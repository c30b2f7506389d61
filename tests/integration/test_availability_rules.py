"""The availability rules at fixed moments: deadlines, daylight-saving weeks, templates, and the counts demand reads."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.demo import demo_agents
from backend.accounts.models import Role, Site, User, UserStatus
from backend.availability import edits, service
from backend.availability.demo import load_demo_availability
from backend.availability.models import AvailabilityWeek, OfferedSlot, Preference
from backend.certifications.service import grant_certification
from backend.core.errors import DomainError
from backend.core.slots import IsoWeek, local_slot, local_start
from tests.conftest import Factory
from tests.factories import a_skill

BERLIN = ZoneInfo("Europe/Berlin")
SHANGHAI = ZoneInfo("Asia/Shanghai")
AGENT = edits.Editor(id=None, role="agent")
COORDINATOR = edits.Editor(id=None, role="coordinator")


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, zone: ZoneInfo = SHANGHAI) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=zone)


async def offer(
    db: AsyncSession,
    user: User,
    site: Site,
    week: str,
    blocks: list[tuple[dt.datetime, dt.datetime, str]],
    now: dt.datetime,
    editor: edits.Editor = AGENT,
    max_hours: float | None = None,
) -> service.WeekAnswer:
    return await service.offer_week(
        db,
        user=user,
        site=site,
        week=week,
        max_hours=max_hours,
        blocks=blocks,
        now=now,
        editor_id=editor.id,
        editor_role=editor.role,
    )


@pytest.mark.parametrize(
    ("week", "now", "slots"),
    [
        ("2027-W12", local(2027, 3, 15, 9, zone=BERLIN), 334),  # clocks go forward on Sunday 28 March 2027
        ("2027-W43", local(2027, 10, 18, 9, zone=BERLIN), 338),  # and back on Sunday 31 October 2027
    ],
)
async def test_a_daylight_saving_week_holds_the_right_number_of_slots(
    db: AsyncSession, people: Factory, site: Site, week: str, now: dt.datetime, slots: int
) -> None:
    agent = await people.make(Role.agent, timezone="Europe/Berlin")
    monday = IsoWeek.parse(week).monday
    whole_week = (
        dt.datetime.combine(monday, dt.time(0), tzinfo=BERLIN),
        dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(0), tzinfo=BERLIN),
        "preferred",
    )
    answer = await offer(db, agent, site, week, [whole_week], now)
    assert len(answer.offers) == slots
    assert await db.scalar(select(func.count()).where(OfferedSlot.user_id == agent.id)) == slots
    [(start, end, _preference)] = service.blocks_of(answer.offers)
    assert local_start(start, BERLIN).isoformat() == whole_week[0].isoformat()
    assert local_start(end, BERLIN) == whole_week[1]


async def test_evenings_copied_across_the_clock_change_stay_at_the_same_local_time(
    db: AsyncSession, people: Factory, site: Site
) -> None:
    agent = await people.make(Role.agent, timezone="Europe/Berlin")
    now = local(2027, 3, 8, 9, zone=BERLIN)
    week, before = IsoWeek.parse("2027-W12"), IsoWeek.parse("2027-W11")
    evenings = [
        (
            dt.datetime.combine(day, dt.time(18), tzinfo=BERLIN),
            dt.datetime.combine(day, dt.time(22), tzinfo=BERLIN),
            "preferred",
        )
        for day in before.days()
    ]
    await offer(db, agent, site, str(before), evenings, now)
    copied = await edits.copy_last_week(db, user=agent, site=site, week=week, now=now, editor=AGENT)
    assert len(copied.offers) == 7 * 8
    sunday = week.days()[6]
    assert local_slot(sunday, 18, 0, BERLIN) in copied.offers
    assert {local_start(slot, BERLIN).hour for slot in copied.offers} == {18, 19, 20, 21}


async def test_next_week_closes_at_the_site_deadline_for_agents_but_not_for_coordinators(
    db: AsyncSession, people: Factory, site: Site
) -> None:
    agent = await people.make(Role.agent)
    week = "2026-W49"  # 30 Nov - 6 Dec 2026; its deadline is Thursday 26 Nov 18:00 Shanghai time
    evening = [(local(2026, 12, 1, 18), local(2026, 12, 1, 22), "preferred")]
    before, after = local(2026, 11, 26, 17, 59), local(2026, 11, 26, 18, 0)

    assert len((await offer(db, agent, site, week, evening, before)).offers) == 8
    with pytest.raises(DomainError) as refused:
        await offer(db, agent, site, week, [], after)
    assert refused.value.field == "week"
    assert "ask your coordinator" in refused.value.message
    answer = await offer(db, agent, site, week, [], after, editor=COORDINATOR)
    assert answer.offers == {}


async def test_the_deadline_is_in_the_sites_zone_not_the_agents(db: AsyncSession, people: Factory, site: Site) -> None:
    agent = await people.make(Role.agent, timezone="Europe/Berlin")
    # Thursday 26 Nov 18:00 in Shanghai is 11:00 in Berlin.
    rules = service.week_rules(
        user=agent,
        site=site,
        week=IsoWeek.parse("2026-W49"),
        now=local(2026, 11, 26, 11, 0, zone=BERLIN),
        editor_role="agent",
    )
    assert rules.locked_reason is not None
    rules = service.week_rules(
        user=agent,
        site=site,
        week=IsoWeek.parse("2026-W49"),
        now=local(2026, 11, 26, 10, 59, zone=BERLIN),
        editor_role="agent",
    )
    assert rules.locked_reason is None


async def test_a_put_keeps_half_hours_that_have_begun(db: AsyncSession, people: Factory, site: Site) -> None:
    """A coordinator's replacement mid-week changes only what is still ahead."""
    agent = await people.make(Role.agent)
    week = "2026-W49"
    early = local(2026, 11, 25, 9)
    mornings = [
        (local(2026, 11, 30, 9), local(2026, 11, 30, 12), "preferred"),
        (local(2026, 12, 3, 9), local(2026, 12, 3, 12), "preferred"),
    ]
    await offer(db, agent, site, week, mornings, early)

    wednesday = local(2026, 12, 2, 8)
    answer = await offer(db, agent, site, week, [], wednesday, editor=COORDINATOR)
    assert sorted(local_start(slot, SHANGHAI).date().day for slot in answer.offers) == [30] * 6


async def test_the_template_is_saved_in_wall_clock_time_and_applied_to_a_later_week(
    db: AsyncSession, people: Factory, site: Site
) -> None:
    agent = await people.make(Role.agent, timezone="Europe/Berlin")
    now = local(2027, 3, 8, 9, zone=BERLIN)
    source = IsoWeek.parse("2027-W11")
    blocks = [
        (local(2027, 3, 15, 9, zone=BERLIN), local(2027, 3, 15, 15, zone=BERLIN), "preferred"),
        (local(2027, 3, 21, 20, zone=BERLIN), local(2027, 3, 22, 0, zone=BERLIN), "if_needed"),
    ]
    await offer(db, agent, site, str(source), blocks, now, max_hours=10)
    template = await edits.save_template(db, user=agent, week=source)
    assert template.blocks == [
        {"weekday": 0, "start": "09:00", "end": "15:00", "preference": "preferred"},
        {"weekday": 6, "start": "20:00", "end": "24:00", "preference": "if_needed"},
    ]
    applied = await edits.apply_template(
        db, user=agent, site=site, week=IsoWeek.parse("2027-W12"), now=now, editor=AGENT
    )
    assert applied.max_hours == 10
    assert len(applied.offers) == 12 + 8
    sunday_evening = local_slot(dt.date(2027, 3, 28), 20, 0, BERLIN)
    assert applied.offers[sunday_evening] is Preference.if_needed


async def test_offered_counts_per_slot_only_count_certified_active_agents_of_the_site(
    db: AsyncSession, people: Factory, site: Site
) -> None:
    billing = await a_skill(db, site)
    now = local(2026, 11, 23, 9)
    evening = [(local(2026, 12, 1, 18), local(2026, 12, 1, 20), "preferred")]
    late = [(local(2026, 12, 1, 19), local(2026, 12, 1, 21), "if_needed")]
    certified, expired, uncertified, paused = [await people.make(Role.agent) for _ in range(4)]
    await grant_certification(db, user=certified, skill=billing, source="test")
    await grant_certification(
        db, user=expired, skill=billing, source="test", expires_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    )
    await grant_certification(db, user=paused, skill=billing, source="test")
    for agent in (certified, uncertified, paused):
        await offer(db, agent, site, "2026-W49", evening, now)
    await offer(db, expired, site, "2026-W49", late, now)
    paused.status = UserStatus.paused
    await db.flush()
    other_site = await accounts.ensure_site(db, name="Elsewhere", timezone="Asia/Shanghai", country="CN")
    await offer(db, await people.make(Role.agent, site=other_site), other_site, "2026-W49", evening, now)

    six, seven, eight = (local_slot(dt.date(2026, 12, 1), hour, 0, SHANGHAI) for hour in (18, 19, 20))
    week = IsoWeek.parse("2026-W49").slots(SHANGHAI)
    everyone = await service.offered_by_slot(db, site_id=site.id, skill_id=None, slots=week)
    assert everyone == {
        six: (2, 0),
        six + 1: (2, 0),
        seven: (2, 1),
        seven + 1: (2, 1),
        eight: (0, 1),
        eight + 1: (0, 1),
    }
    billed = await service.offered_by_slot(db, site_id=site.id, skill_id=billing.id, slots=week)
    assert billed == {six: (1, 0), six + 1: (1, 0), seven: (1, 0), seven + 1: (1, 0)}
    assert await service.offered_by_slot(db, site_id=site.id, skill_id=None, slots=range(six, six)) == {}

    at_seven = await service.agents_available_at(db, site_id=site.id, skill_id=None, slot=seven)
    expected = [(certified.id, "preferred"), (uncertified.id, "preferred"), (expired.id, "if_needed")]
    assert [(user.id, preference) for user, preference in at_seven] == expected  # preferred first, then by name
    billed_at_seven = await service.agents_available_at(db, site_id=site.id, skill_id=billing.id, slot=seven)
    assert [user.id for user, _preference in billed_at_seven] == [certified.id]


async def test_demo_availability_follows_personas_and_loads_once(db: AsyncSession, people: Factory, site: Site) -> None:

    chosen = [demo_agents()[index] for index in (0, 1, 25, 40, 52)]  # students, a parent, a retiree, a freelancer
    personas = {str(agent["email"]): str(agent["persona"]) for agent in chosen}
    for email in personas:
        await people.make(Role.agent, email=email)
    now = local(2026, 11, 25, 14)
    written = await load_demo_availability(db, site=site, now=now)
    assert written == len(personas) * 3
    assert await load_demo_availability(db, site=site, now=now) == 0
    weeks = await db.scalar(select(func.count()).select_from(AvailabilityWeek))
    assert weeks == len(personas) * 3
    students = [email for email, persona in personas.items() if persona == "student"]
    student = await accounts.find_user_by_email(db, students[0])
    assert student is not None
    slots = list(await db.scalars(select(OfferedSlot.slot).where(OfferedSlot.user_id == student.id)))
    assert slots
    assert all(18 <= local_start(slot, SHANGHAI).hour < 22 for slot in slots)
    assert min(slots) > local_slot(dt.date(2026, 11, 25), 14, 0, SHANGHAI)
