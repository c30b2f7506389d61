"""A real background solve: a child process, progress in the database, cancel, re-solve, publish.

These tests use their own freshly migrated database (not the shared test
transaction), because the solve's progress is written from a background task
while other sessions read and write, exactly as in production.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import func, select

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, Skill
from backend.accounts.zones import site_zone
from backend.availability.models import OfferedSlot, Preference
from backend.certifications.service import grant_certification, mark_onboarded
from backend.core.db import Database
from backend.core.migrate import migrate
from backend.core.settings import Settings, load_settings
from backend.core.slots import IsoWeek, local_slot
from backend.demand.service import set_override
from backend.notify.models import Kind, Notification
from backend.roster import service
from backend.roster.jobs import SolveJobs, launch, solve_and_wait
from backend.roster.models import Roster, RosterAssignment, SolveRun, SolveStatus
from backend.roster.problem import week_facts
from backend.shifts.eligibility import Work, check_week
from backend.shifts.models import Shift, ShiftOrigin, ShiftSeat

WEEK = IsoWeek(2030, 10)  # far ahead: nothing in it has started
AGENTS = 6


class World(msgspec.Struct):
    database: Database
    settings: Settings
    site_id: int
    agent_ids: list[int]


@pytest.fixture
async def world(empty_database_url: str, tmp_path: Path) -> AsyncIterator[World]:
    await asyncio.to_thread(migrate, empty_database_url, "head")
    settings = load_settings(
        {
            "WEFT_DATABASE_URL": empty_database_url,
            "WEFT_SECRET_KEY": "test-secret-key-" + "x" * 32,
            "WEFT_DATA_DIR": str(tmp_path),
            "WEFT_SOLVER_TIME_LIMIT_SECONDS": "4",
        }
    )
    database = Database.from_url(empty_database_url)
    async with database.session(write=True) as session:
        site = await accounts.ensure_site(session, name="Solve Centre", timezone="Asia/Shanghai", country="CN")
        skill = await accounts.ensure_skill(session, site=site, code="general", name="General")
        agent_ids = [await _rosterable_agent(session, site, skill, n) for n in range(AGENTS)]
        await _demand(session, site, skill)
    try:
        yield World(database=database, settings=settings, site_id=site.id, agent_ids=agent_ids)
    finally:
        await database.dispose()


async def _rosterable_agent(session: object, site: Site, skill: Skill, n: int) -> int:
    """An onboarded, certified agent offering 09:00-17:00 (preferred) on Monday to Wednesday."""
    user = await accounts.create_user(
        session,
        site=site,
        email=f"agent{n}@example.com",
        display_name=f"Agent {n}",
        role=Role.agent,
        password="a-long-test-password",
    )
    await mark_onboarded(session, user=user)
    await grant_certification(session, user=user, skill=skill, source="test")
    zone = site_zone(site)
    for day in WEEK.days()[:3]:
        start = local_slot(day, 9, 0, zone)
        session.add_all(
            OfferedSlot(user_id=user.id, slot=t, preference=Preference.preferred) for t in range(start, start + 16)
        )
    await session.flush()
    return user.id


async def _demand(session: object, site: Site, skill: Skill) -> None:
    """Monday and Tuesday 09:00-17:00 need agents; Wednesday needs none."""
    zone = site_zone(site)
    for day in WEEK.days()[:2]:
        start = local_slot(day, 9, 0, zone)
        for slot in range(start, start + 16):
            await set_override(session, site=site, skill=skill, slot=slot, contacts=40)


async def _run(world: World, run_id: int) -> SolveRun:
    async with world.database.session() as session:
        run = await session.get(SolveRun, run_id)
        assert run is not None
        return run


async def _lines(world: World) -> list[RosterAssignment]:
    async with world.database.session() as session:
        roster = await service.roster_of(session, site_id=world.site_id, week=WEEK)
        return await service.draft_lines(session, roster)


async def test_a_background_solve_writes_an_eligible_draft_and_its_report(world: World) -> None:
    run_id = await solve_and_wait(world.database, world.settings, site_id=world.site_id, week=WEEK)

    run = await _run(world, run_id)
    assert run.status == SolveStatus.done, run.error
    assert run.report is not None
    assert set(run.report["agents"]) == {str(a) for a in world.agent_ids}
    lines = await _lines(world)
    assert lines, "the demand on Monday and Tuesday is staffed"
    async with world.database.session() as session:
        site = await accounts.get_site(session, world.site_id)
        facts = await week_facts(session, site=site, week=WEEK, roster=None)
    wednesday = range(facts.day_starts[2], facts.day_starts[3])
    assert not [line for line in lines if line.start_slot in wednesday], "nobody works when nobody is needed"
    for agent_id in world.agent_ids:
        work = [Work("general", line.start_slot, line.end_slot) for line in lines if line.user_id == agent_id]
        assert check_week(facts.facts[str(agent_id)], work, facts.rules, facts.day_starts) == []


async def test_a_cancelled_solve_leaves_the_draft_as_it_was(world: World) -> None:
    async with world.database.session(write=True) as session:
        site = await accounts.get_site(session, world.site_id)
        order = await service.start_solve(session, site=site, week=WEEK, requested_by=None, time_limit_seconds=10)
        run = await session.get(SolveRun, order.run_id)
        await service.request_cancel(session, run)
    jobs = SolveJobs(world.database, processes=1)
    try:
        await launch(jobs, order, world.settings)
    finally:
        await jobs.close()

    run = await _run(world, order.run_id)
    assert run.status == SolveStatus.cancelled
    assert await _lines(world) == []


async def test_a_second_solve_of_the_same_week_is_refused_while_one_runs(world: World) -> None:
    async with world.database.session(write=True) as session:
        site = await accounts.get_site(session, world.site_id)
        await service.start_solve(session, site=site, week=WEEK, requested_by=None, time_limit_seconds=10)
    with pytest.raises(Exception, match="already running"):
        async with world.database.session(write=True) as session:
            await service.start_solve(session, site=site, week=WEEK, requested_by=None, time_limit_seconds=10)


async def test_resolve_keeps_locked_lines_and_publish_makes_shifts_and_versions(world: World) -> None:
    await solve_and_wait(world.database, world.settings, site_id=world.site_id, week=WEEK)
    lines = await _lines(world)
    keep = lines[0]
    async with world.database.session(write=True) as session:
        roster = await session.get(Roster, keep.roster_id)
        line = await service.get_line(session, roster=roster, line_id=keep.id)
        await service.set_locked(session, roster=roster, line=line, locked=True)

    await solve_and_wait(world.database, world.settings, site_id=world.site_id, week=WEEK)

    after = await _lines(world)
    assert (keep.user_id, keep.start_slot, keep.end_slot) in {(a.user_id, a.start_slot, a.end_slot) for a in after}
    async with world.database.session(write=True) as session:
        site = await accounts.get_site(session, world.site_id)
        roster = await service.roster_of(session, site_id=world.site_id, week=WEEK)
        first = await service.publish(session, site=site, roster=roster, published_by=None)
        drafted = await service.draft_lines(session, roster)
        line = drafted[0]
        moved_agent = line.user_id
        # One stretch of an agent's time is one shift: removing a line that touches another of theirs changes
        # that shift, removing a line that stands alone removes one (which it is depends on the solver's roster).
        touches = any(
            other.user_id == moved_agent
            and other.id != line.id
            and line.start_slot <= other.end_slot
            and other.start_slot <= line.end_slot
            for other in drafted
        )
        await service.remove_line(session, roster=roster, line=line)
        kept = [(other.user_id, other.start_slot, other.end_slot) for other in drafted if other.id != line.id]
        second = await service.publish(session, site=site, roster=roster, published_by=None)
        changes = service.changes_between(first, second)
        held = await session.scalar(
            select(func.count())
            .select_from(ShiftSeat)
            .join(Shift, Shift.id == ShiftSeat.shift_id)
            .where(Shift.cancelled_at.is_(None), Shift.origin == ShiftOrigin.roster)
        )
        open_seats = await session.scalar(
            select(func.coalesce(func.sum(Shift.seats), 0)).where(
                Shift.cancelled_at.is_(None), Shift.origin == ShiftOrigin.gap
            )
        )
        told = list(
            await session.execute(
                select(Notification.user_id, Notification.title)
                .where(Notification.kind == Kind.roster_published)
                .order_by(Notification.id)
            )
        )
    rostered = {line.user_id for line in after}
    first_news, second_news = told[: len(rostered)], told[len(rostered) :]
    assert {user for user, _ in first_news} == rostered, "everyone rostered hears of the first version"
    assert all(f"{WEEK}" in title and "is out" in title for _, title in first_news)
    told_change = "0 added, 1 changed, 0 removed" if touches else "0 added, 0 changed, 1 removed"
    assert second_news == [(moved_agent, f"Your roster for {WEEK} changed: {told_change}.")]
    assert (first.number, second.number) == (1, 2)
    assert held == stretches(kept), "the live shifts are the second version's stretches of time"
    assert [c.user_id for c in changes] == [moved_agent]
    assert changes[0].removed
    assert not changes[0].added or touches, "only what is left of a shortened stretch comes back"
    assert open_seats == second.open_seats
    assert open_seats >= 1, "the removed line's hours became open seats"


def stretches(lines: list[tuple[int, int, int]]) -> int:
    """How many shifts the lines make: an agent's lines that meet end to start are one stretch of time."""
    count, last_end = 0, {}
    for user, start, end in sorted(lines):
        if last_end.get(user) != start:
            count += 1
        last_end[user] = end
    return count
