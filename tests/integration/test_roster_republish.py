"""Republishing a roster: a shift is one seat from start to end, claims stay whole, agents hear only real changes.

The re-solves here are solutions written by hand through ``apply_solution`` (the
solver's own output shape: one row per skill run, claimed time flagged fixed), so
each test says exactly which skill split the new version has.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, Skill, Tier, User
from backend.accounts.site_settings import update_site_settings
from backend.availability.models import OfferedSlot, Preference
from backend.core.db import utcnow
from backend.core.slots import IsoWeek, local_slot
from backend.demand import service as demand
from backend.notify.models import Kind, Notification
from backend.roster import service, solver
from backend.roster.models import Roster, RosterVersion, SolveRun, SolveStatus
from backend.roster.problem import week_facts
from backend.shifts import market
from backend.shifts.models import Shift, ShiftOrigin, ShiftSeat
from tests.factories import Factory, a_skill, an_agent

ZONE = ZoneInfo("Asia/Shanghai")  # the test site's zone


def next_week() -> IsoWeek:
    return IsoWeek.containing(utcnow(), ZONE).shifted(1)


def at(week: IsoWeek, weekday: int, hour: int, minute: int = 0) -> int:
    return local_slot(week.days()[weekday], hour, minute, ZONE)


@dataclass
class World:
    site: Site
    week: IsoWeek
    billing: Skill
    tech: Skill
    ada: User
    bo: User
    roster: Roster


@pytest.fixture
async def world(db: AsyncSession, site: Site, people: Factory) -> World:
    """Next week; Ada (billing and tech) and Bo (billing) offer Monday and Tuesday 08:00-23:00; shifts of 2-8 h."""
    week = next_week()
    billing, tech = await a_skill(db, site, "billing"), await a_skill(db, site, "tech")
    ada = await an_agent(people, skills=[billing, tech], tier=Tier.senior, display_name="Ada")
    bo = await an_agent(people, skills=[billing], tier=Tier.senior, display_name="Bo")
    for agent in (ada, bo):
        db.add_all(
            OfferedSlot(user_id=agent.id, slot=slot, preference=Preference.preferred)
            for day in (0, 1)
            for slot in range(at(week, day, 8), at(week, day, 23))
        )
    await update_site_settings(db, site, min_shift_hours=2.0)  # the 2.5-hour claim is a whole shift there
    roster = await service.roster_of(db, site_id=site.id, week=week)
    await db.commit()
    return World(site, week, billing, tech, ada, bo, roster)


Row = tuple[User, Skill, int, int, bool]  # (agent, skill, start, end, fixed)


async def resolved(db: AsyncSession, world: World, rows: list[Row]) -> None:
    """A finished re-solve whose roster is ``rows``, written the way the background job writes one."""
    run = SolveRun(roster_id=world.roster.id, status=SolveStatus.running, time_limit_seconds=1.0)
    db.add(run)
    await db.flush()
    shifts = [solver.Shift(str(agent.id), skill.code, start, end, fixed) for agent, skill, start, end, fixed in rows]
    solution = solver.Solution(
        status="feasible",
        objective=0,
        best_bound=0,
        wall_seconds=0.1,
        under_coverage_slots=0,
        over_coverage_slots=0,
        lower_bound_under=0,
        gap=0,
        shifts=shifts,
        coverage=[],
        agents=[],
    )
    await service.apply_solution(db, run.id, solution)
    await db.commit()


async def published(db: AsyncSession, world: World) -> RosterVersion:
    version = await service.publish(db, site=world.site, roster=world.roster, published_by=None)
    await db.commit()
    return version


async def held(db: AsyncSession, agent: User) -> list[tuple[int, int]]:
    """The agent's live shifts, as ``(start, end)``: what My schedule lists, each with its own confirm and Start."""
    rows = await db.execute(
        select(Shift.start_slot, Shift.end_slot)
        .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
        .where(ShiftSeat.user_id == agent.id, ShiftSeat.released_at.is_(None), Shift.cancelled_at.is_(None))
        .order_by(Shift.start_slot)
    )
    return [(start, end) for start, end in rows]


async def told(db: AsyncSession, agent: User) -> list[str]:
    titles = await db.scalars(
        select(Notification.title)
        .where(Notification.user_id == agent.id, Notification.kind == Kind.roster_published)
        .order_by(Notification.id)
    )
    return list(titles)


async def needs(db: AsyncSession, world: World, skill: Skill, start: int, end: int) -> None:
    """Demand for ``skill`` over ``[start, end)`` only (nothing elsewhere in the week)."""
    for slot in world.week.slots(ZONE):
        contacts = 30.0 if start <= slot < end else 0.0
        await demand.set_override(db, site=world.site, skill=skill, slot=slot, contacts=contacts)
    await db.commit()


# The case -----------------------------------------------------------------------------------------


async def test_a_claim_the_new_version_extends_stays_one_shift_with_the_same_seat(
    db: AsyncSession, world: World
) -> None:
    """Ada claimed Mon 19:00-21:30; the re-solve gives her 18:00-22:00 around it in other skills."""
    await needs(db, world, world.tech, at(world.week, 0, 19), at(world.week, 0, 21, 30))
    await published(db, world)
    gap = await db.scalar(
        select(Shift).where(Shift.origin == ShiftOrigin.gap, Shift.cancelled_at.is_(None)).order_by(Shift.start_slot)
    )
    assert gap is not None
    assert (gap.start_slot, gap.end_slot) == (at(world.week, 0, 19), at(world.week, 0, 21, 30))
    claim = await market.claim_shift(db, shift_id=gap.id, agent=world.ada, now=utcnow() + dt.timedelta(hours=1))
    await db.commit()
    assert await told(db, world.ada) == []

    await resolved(
        db,
        world,
        [
            (world.ada, world.billing, at(world.week, 0, 18), at(world.week, 0, 19), False),
            (world.ada, world.tech, at(world.week, 0, 19), at(world.week, 0, 21, 30), True),
            (world.ada, world.billing, at(world.week, 0, 21, 30), at(world.week, 0, 22), False),
        ],
    )
    await published(db, world)

    assert await held(db, world.ada) == [(at(world.week, 0, 18), at(world.week, 0, 22))]
    seat = await db.scalar(select(ShiftSeat).where(ShiftSeat.user_id == world.ada.id, ShiftSeat.released_at.is_(None)))
    assert seat is not None
    assert seat.id == claim.seat_id, "the claimed seat (and its confirmation) is the one she keeps"
    assert await told(db, world.ada) == [f"Your roster for {world.week} changed: 0 added, 1 changed, 0 removed."]

    # The next re-solve splits the same hours differently: nothing changes, nobody is told.
    await resolved(db, world, [(world.ada, world.tech, at(world.week, 0, 18), at(world.week, 0, 22), True)])
    await published(db, world)
    assert await held(db, world.ada) == [(at(world.week, 0, 18), at(world.week, 0, 22))]
    assert len(await told(db, world.ada)) == 1


async def test_a_new_skill_split_inside_the_same_hours_changes_nothing_and_tells_nobody(
    db: AsyncSession, world: World
) -> None:
    await resolved(
        db,
        world,
        [
            (world.ada, world.billing, at(world.week, 0, 18), at(world.week, 0, 20), False),
            (world.ada, world.tech, at(world.week, 0, 20), at(world.week, 0, 22), False),
            (world.bo, world.billing, at(world.week, 1, 9), at(world.week, 1, 13), False),
        ],
    )
    first = await published(db, world)
    [shift] = await db.scalars(
        select(Shift).join(ShiftSeat).where(ShiftSeat.user_id == world.ada.id, Shift.cancelled_at.is_(None))
    )
    assert (shift.start_slot, shift.end_slot) == (at(world.week, 0, 18), at(world.week, 0, 22))
    assert await told(db, world.ada) == [f"Your roster for {world.week} is out: 1 shift."]

    await resolved(
        db,
        world,
        [
            (world.ada, world.billing, at(world.week, 0, 18), at(world.week, 0, 19), False),
            (world.ada, world.tech, at(world.week, 0, 19), at(world.week, 0, 22), False),
            (world.bo, world.billing, at(world.week, 1, 9), at(world.week, 1, 14), False),
        ],
    )
    second = await published(db, world)

    [kept] = await db.scalars(
        select(Shift).join(ShiftSeat).where(ShiftSeat.user_id == world.ada.id, Shift.cancelled_at.is_(None))
    )
    assert kept.id == shift.id, "the same shift: her confirmation and calendar entry stay"
    assert kept.skill_id == world.tech.id, "the shift shows the skill she covers longest"
    assert len(await told(db, world.ada)) == 1
    assert await told(db, world.bo) == [
        f"Your roster for {world.week} is out: 1 shift.",
        f"Your roster for {world.week} changed: 0 added, 1 changed, 0 removed.",
    ]
    assert [change.user_id for change in service.changes_between(first, second)] == [world.bo.id]


# Whatever is published -------------------------------------------------------------------------------------


def random_rows(rng: random.Random, world: World) -> list[Row]:
    """A roster as a solver could write it: per agent and day at most one stretch, cut into skill runs."""
    rows: list[Row] = []
    for agent, skills in ((world.ada, [world.billing, world.tech]), (world.bo, [world.billing])):
        for day in (0, 1):
            if rng.random() < 0.3:
                continue
            start = at(world.week, day, rng.randrange(8, 17))
            end = start + rng.randrange(4, 13)
            cut = start
            while cut < end:
                piece = min(end, cut + rng.randrange(1, 6))
                rows.append((agent, rng.choice(skills), cut, piece, False))
                cut = piece
    return rows


async def claim_some(db: AsyncSession, rng: random.Random, world: World) -> None:
    """Agents take a few of the open shifts (as the marketplace would, seat by seat)."""
    open_shifts = list(
        await db.scalars(select(Shift).where(Shift.origin == ShiftOrigin.gap, Shift.cancelled_at.is_(None)))
    )
    for shift in rng.sample(open_shifts, min(2, len(open_shifts))):
        agent = world.ada if shift.skill_id == world.tech.id or rng.random() < 0.5 else world.bo
        try:
            async with db.begin_nested():
                await market.claim_shift(db, shift_id=shift.id, agent=agent, now=utcnow() + dt.timedelta(hours=1))
        except Exception:  # noqa: BLE001 - an ineligible claim is simply not made
            continue
    await db.commit()


async def assert_whole_shifts(db: AsyncSession, world: World, version: RosterVersion) -> None:
    minimum = (await week_facts(db, site=world.site, week=world.week, roster=world.roster)).rules.min_shift_slots
    for agent in (world.ada, world.bo):
        spans = await held(db, agent)
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert end < start, f"{agent.display_name} holds back-to-back or overlapping shifts: {spans}"
        rostered = {t for line in version.lines if line["user_id"] == agent.id for t in range(*span(line))}
        assert rostered <= {t for start, end in spans for t in range(start, end)}, "rostered time was lost"
    lengths = await db.scalars(
        select(Shift.end_slot - Shift.start_slot).where(
            Shift.roster_version_id == version.id, Shift.origin == ShiftOrigin.gap, Shift.cancelled_at.is_(None)
        )
    )
    assert all(length >= minimum for length in lengths), "an open shift shorter than the shortest shift"


def span(line: dict[str, int]) -> tuple[int, int]:
    return line["start_slot"], line["end_slot"]


@pytest.mark.parametrize("seed", range(4))
async def test_after_any_publish_nobody_holds_back_to_back_shifts_and_no_open_shift_is_too_short(
    db: AsyncSession, world: World, seed: int
) -> None:
    rng = random.Random(seed)
    for skill in (world.billing, world.tech):
        for slot in range(at(world.week, 0, 8), at(world.week, 1, 23)):
            await demand.set_override(db, site=world.site, skill=skill, slot=slot, contacts=rng.choice([0, 8, 30, 60]))
    await db.commit()
    for _round in range(3):
        await resolved(db, world, random_rows(rng, world))
        version = await published(db, world)
        await assert_whole_shifts(db, world, version)
        await claim_some(db, rng, world)
