"""The coordinator's roster pages: the draft, the solve panel, manual edits, publishing and versions.

No real solve runs here (the app shares the test's one connection): runs are
rows written by hand, and the solve route is checked with a stand-in job runner.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, Skill, User
from backend.availability.models import OfferedSlot, Preference
from backend.core.db import utcnow
from backend.core.slots import IsoWeek, local_slot
from backend.demand import service as demand
from backend.roster import service
from backend.roster.models import Roster, RosterAssignment, RosterVersion, SolveRun, SolveStatus
from backend.roster.problem import week_facts
from backend.shifts.models import Shift, ShiftOrigin, ShiftSeat
from tests.conftest import login, post_form
from tests.factories import Factory, an_agent

ZONE = ZoneInfo("Asia/Shanghai")  # the test site's zone
HTMX = {"hx-request": "true"}


def next_week() -> IsoWeek:
    return IsoWeek.containing(utcnow(), ZONE).shifted(1)


def at(week: IsoWeek, weekday: int, hour: int, minute: int = 0) -> int:
    return local_slot(week.days()[weekday], hour, minute, ZONE)


@dataclass
class World:
    site: Site
    week: IsoWeek
    skill: Skill
    other_skill: Skill
    coordinator: User
    agent: User
    second: User
    roster: Roster


async def rosterable(db: AsyncSession, people: Factory, skill: Skill, name: str, offered: list[range]) -> User:
    """An onboarded agent certified for ``skill`` who offers the given slot ranges."""
    agent = await an_agent(people, skills=[skill], display_name=name)
    db.add_all(
        OfferedSlot(user_id=agent.id, slot=slot, preference=Preference.preferred) for span in offered for slot in span
    )
    await db.commit()
    return agent


@pytest.fixture
async def world(db: AsyncSession, site: Site, people: Factory) -> World:
    """Next week; Ada offers Monday and Tuesday 09:00-17:00, Bo offers Monday 09:00-17:00."""
    week = next_week()
    skill = await accounts.ensure_skill(db, site=site, code="billing", name="Billing")
    other = await accounts.ensure_skill(db, site=site, code="tech", name="Tech support")
    coordinator = await people.make(Role.coordinator, display_name="Cora Coordinator")
    ada = await rosterable(
        db,
        people,
        skill,
        "Ada Lovelace",
        [range(at(week, 0, 9), at(week, 0, 17)), range(at(week, 1, 9), at(week, 1, 17))],
    )
    bo = await rosterable(db, people, skill, "Bo Diddley", [range(at(week, 0, 9), at(week, 0, 17))])
    roster = await service.roster_of(db, site_id=site.id, week=week)
    await db.commit()
    return World(site, week, skill, other, coordinator, ada, bo, roster)


async def a_line(db: AsyncSession, world: World, agent: User, start: int, end: int, *, locked: bool = False) -> int:
    edit = service.Edit(user_id=agent.id, skill_code="billing", start_slot=start, end_slot=end, locked=locked)
    line = await service.add_line(db, site=world.site, roster=world.roster, edit=edit)
    await db.commit()
    return line.id


async def a_run(db: AsyncSession, roster: Roster, status: SolveStatus, **fields: Any) -> SolveRun:
    run = SolveRun(roster_id=roster.id, status=status, time_limit_seconds=30.0, **fields)
    db.add(run)
    await db.commit()
    return run


async def lines_of(db: AsyncSession, roster: Roster) -> list[tuple[int, int, int, bool]]:
    rows = await db.execute(
        select(
            RosterAssignment.user_id, RosterAssignment.start_slot, RosterAssignment.end_slot, RosterAssignment.locked
        )
        .where(RosterAssignment.roster_id == roster.id)
        .order_by(RosterAssignment.start_slot)
    )
    return [(user_id, start, end, locked) for user_id, start, end, locked in rows]


async def as_coordinator(client: httpx.AsyncClient, world: World) -> None:
    assert (await login(client, world.coordinator.email)).status_code == 303


def line_form(
    world: World, agent: User, *, day: int = 0, start: str = "09:00", end: str = "13:00", **extra: str
) -> dict:
    return {
        "week": str(world.week),
        "agent": str(agent.id),
        "skill": "billing",
        "day": world.week.days()[day].isoformat(),
        "start": start,
        "end": end,
        "locked": "1",
        **extra,
    }


# Seeing the draft -----------------------------------------------------------------


async def test_coordinator_sees_the_draft_with_chart_schedule_and_fairness(
    client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    await a_line(db, world, world.agent, at(world.week, 0, 9), at(world.week, 0, 13))
    await as_coordinator(client, world)
    page = await client.get(f"/admin/roster?week={world.week}")
    assert page.status_code == 200
    html = page.text
    assert f"Roster, week {world.week}" in html
    assert 'id="chart-billing"' in html
    assert 'id="chart-tech"' in html
    assert "<svg" in html
    assert "rcell-over" in html  # scheduled with no demand: over
    assert "Ada Lovelace" in html
    assert "09:00\u201313:00" in html
    assert html.index('id="fair-' + str(world.second.id)) < html.index('id="fair-' + str(world.agent.id))
    assert 'hx-trigger="every 1s"' not in html  # no solve going on
    assert 'href="/admin/roster"' in html  # the staff bar links here


async def test_without_a_week_the_page_plans_next_week(client: httpx.AsyncClient, world: World) -> None:
    await as_coordinator(client, world)
    page = await client.get("/admin/roster")
    assert page.status_code == 200
    assert f"Roster, week {world.week}" in page.text


async def test_a_bad_week_is_refused_naming_it(client: httpx.AsyncClient, world: World) -> None:
    await as_coordinator(client, world)
    answer = await client.get("/admin/roster?week=2026-W99", headers={"accept": "application/json"})
    assert answer.status_code == 422
    assert answer.json()["field"] == "week"


async def test_an_admin_may_use_the_roster(client: httpx.AsyncClient, people: Factory, world: World) -> None:
    admin = await people.make(Role.admin)
    await login(client, admin.email)
    assert (await client.get(f"/admin/roster?week={world.week}")).status_code == 200


@pytest.mark.parametrize("role", [Role.finance, Role.agent])
async def test_finance_and_agents_may_not_see_or_change_the_roster(
    client: httpx.AsyncClient, people: Factory, world: World, role: Role
) -> None:
    user = await people.make(role)
    await login(client, user.email)
    assert (await client.get(f"/admin/roster?week={world.week}")).status_code == 403
    assert (await post_form(client, "/admin/roster/publish", {"week": str(world.week)})).status_code == 403
    assert (await client.get(f"/api/v1/rosters/{world.week}")).status_code == 403


# The solve panel ------------------------------------------------------------------


async def test_a_running_solve_shows_its_progress_and_offers_cancel(
    client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    run = await a_run(
        db, world.roster, SolveStatus.running, elapsed_seconds=3.2, stage="coverage", under_coverage_slots=6
    )
    await as_coordinator(client, world)
    panel = await client.get(f"/admin/roster/runs/{run.id}?week={world.week}", headers=HTMX)
    assert panel.status_code == 200
    assert "<html" not in panel.text
    assert 'hx-trigger="every 1s"' in panel.text
    assert f"/admin/roster/runs/{run.id}?week={world.week}" in panel.text
    assert "3 of 30 seconds" in panel.text
    assert "coverage" in panel.text
    assert "3 hours" in panel.text
    assert f"/admin/roster/runs/{run.id}/cancel" in panel.text
    assert "hx-refresh" not in panel.headers
    page = await client.get(f"/admin/roster?week={world.week}")
    assert 'hx-trigger="every 1s"' in page.text

    cancelled = await post_form(client, f"/admin/roster/runs/{run.id}/cancel", {"week": str(world.week)})
    assert cancelled.status_code == 303
    await db.refresh(run)
    assert run.cancel_requested
    again = await client.get(f"/admin/roster/runs/{run.id}?week={world.week}", headers=HTMX)
    assert "Cancelling" in again.text
    assert "Cancel the solve" not in again.text


async def test_a_finished_solve_stops_polling_and_reloads_the_page(
    client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    report = {"status": "optimal", "wall_seconds": 4.2, "gap_slots": 2, "agents": {}}
    run = await a_run(db, world.roster, SolveStatus.done, under_coverage_slots=4, lower_bound_slots=2, report=report)
    await as_coordinator(client, world)
    panel = await client.get(f"/admin/roster/runs/{run.id}?week={world.week}", headers=HTMX)
    assert panel.headers["hx-refresh"] == "true"
    assert 'hx-trigger="every 1s"' not in panel.text
    page = await client.get(f"/admin/roster?week={world.week}")
    assert "Solved: the best roster there is." in page.text
    assert "2 hours" in page.text
    assert "1 hours" in page.text
    assert "4.2 seconds" in page.text


async def test_a_failed_or_cancelled_solve_says_so(client: httpx.AsyncClient, db: AsyncSession, world: World) -> None:
    await a_run(db, world.roster, SolveStatus.failed, error="No roster: the rules cannot all be kept.")
    await as_coordinator(client, world)
    assert "No roster: the rules cannot all be kept." in (await client.get(f"/admin/roster?week={world.week}")).text
    await a_run(db, world.roster, SolveStatus.cancelled)
    assert "The solve was cancelled" in (await client.get(f"/admin/roster?week={world.week}")).text


async def test_another_sites_or_weeks_run_is_not_found(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, world: World
) -> None:
    elsewhere = await accounts.ensure_site(db, name="Elsewhere", timezone="Europe/London", country="GB")
    foreign = await a_run(db, await service.roster_of(db, site_id=elsewhere.id, week=world.week), SolveStatus.running)
    other_week = await a_run(
        db, await service.roster_of(db, site_id=world.site.id, week=world.week.shifted(1)), SolveStatus.running
    )
    await as_coordinator(client, world)
    for run in (foreign, other_week):
        assert (await client.get(f"/admin/roster/runs/{run.id}?week={world.week}")).status_code == 404
        answer = await post_form(client, f"/admin/roster/runs/{run.id}/cancel", {"week": str(world.week)})
        assert answer.status_code == 404
    await db.refresh(foreign)
    assert not foreign.cancel_requested


async def test_solving_queues_a_run_and_starts_the_job_after_the_response(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    started: list[int] = []

    class Jobs:  # stands in for the process pool: the test's one connection cannot host a real solve
        def start(self, run_id: int, *args: Any) -> None:
            started.append(run_id)

    app.state.solves = Jobs()
    await as_coordinator(client, world)
    answer = await post_form(client, "/admin/roster/solve", {"week": str(world.week)})
    assert answer.status_code == 303
    assert answer.headers["location"].startswith(f"/admin/roster?week={world.week}")
    run = await service.latest_run(db, world.roster)
    assert run is not None
    assert run.status == SolveStatus.queued
    assert started == [run.id]

    refused = await post_form(client, "/admin/roster/solve", {"week": str(world.week)})
    assert refused.status_code == 409
    assert "already running" in refused.text
    assert started == [run.id]


async def test_solving_from_htmx_answers_the_polling_panel(
    app: Any, client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    started: list[int] = []

    class Jobs:
        def start(self, run_id: int, *args: Any) -> None:
            started.append(run_id)

    app.state.solves = Jobs()
    await as_coordinator(client, world)
    token = client.cookies.get("weft_csrf")
    answer = await client.post(
        "/admin/roster/solve", data={"week": str(world.week), "_csrf_token": token}, headers=HTMX
    )
    assert answer.status_code == 200
    assert 'id="roster-run"' in answer.text
    assert 'hx-trigger="every 1s"' in answer.text
    assert len(started) == 1


# Fairness -------------------------------------------------------------------------


async def test_fairness_puts_the_least_served_first_with_translated_reasons(
    client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    await a_line(db, world, world.second, at(world.week, 0, 9), at(world.week, 0, 13))
    unused = [[at(world.week, 1, 9), at(world.week, 1, 17), "fairness"]]
    report = {
        "status": "feasible",
        "agents": {
            str(world.agent.id): {"offered": 32, "given": 0, "target": 16, "unused": unused},
            str(world.second.id): {"offered": 16, "given": 16, "target": 8, "unused": []},
        },
    }
    await a_run(db, world.roster, SolveStatus.done, under_coverage_slots=0, lower_bound_slots=0, report=report)
    await as_coordinator(client, world)
    html = (await client.get(f"/admin/roster?week={world.week}")).text
    table = html[html.index('id="fairness"') :]
    assert table.index("Ada Lovelace") < table.index("Bo Diddley")
    ada = table[table.index(f'id="fair-{world.agent.id}"') :]
    assert "<td>0 h</td>" in ada
    assert "<td>16 h</td>" in ada
    assert "<strong>8 h</strong>" in ada
    assert "fairness: given to agents further below their share" in ada
    assert "Tue" in ada
    assert "09:00\u201317:00" in ada


# Manual edits ---------------------------------------------------------------------


async def test_a_line_is_added_moved_unlocked_and_removed(
    client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    await as_coordinator(client, world)
    added = await post_form(client, "/admin/roster/lines", line_form(world, world.agent))
    assert added.status_code == 303
    monday_9, monday_13 = at(world.week, 0, 9), at(world.week, 0, 13)
    assert await lines_of(db, world.roster) == [(world.agent.id, monday_9, monday_13, True)]
    line_id = (await service.draft_lines(db, world.roster))[0].id
    assert added.headers["location"].endswith(f"#line-{line_id}")

    moved = await post_form(
        client, f"/admin/roster/lines/{line_id}", line_form(world, world.agent, day=1, start="12:00", end="17:00")
    )
    assert moved.status_code == 303
    assert await lines_of(db, world.roster) == [(world.agent.id, at(world.week, 1, 12), at(world.week, 1, 17), True)]

    unlocked = await post_form(client, f"/admin/roster/lines/{line_id}/lock", {"week": str(world.week), "locked": "0"})
    assert unlocked.status_code == 303
    assert (await lines_of(db, world.roster))[0][3] is False

    page = await client.get(f"/admin/roster?week={world.week}")
    assert "Tue" in page.text
    assert "12:00\u201317:00" in page.text

    removed = await post_form(client, f"/admin/roster/lines/{line_id}/remove", {"week": str(world.week)})
    assert removed.status_code == 303
    assert await lines_of(db, world.roster) == []


async def test_a_line_moves_to_another_agent(client: httpx.AsyncClient, db: AsyncSession, world: World) -> None:
    line_id = await a_line(db, world, world.agent, at(world.week, 0, 9), at(world.week, 0, 13))
    await as_coordinator(client, world)
    moved = await post_form(client, f"/admin/roster/lines/{line_id}", line_form(world, world.second, locked=""))
    assert moved.status_code == 303
    assert await lines_of(db, world.roster) == [(world.second.id, at(world.week, 0, 9), at(world.week, 0, 13), False)]


async def test_htmx_edits_answer_the_page_fragment(client: httpx.AsyncClient, db: AsyncSession, world: World) -> None:
    await as_coordinator(client, world)
    token = client.cookies.get("weft_csrf")
    answer = await client.post(
        "/admin/roster/lines", data={**line_form(world, world.agent), "_csrf_token": token}, headers=HTMX
    )
    assert answer.status_code == 200
    assert "<html" not in answer.text
    assert "Ada Lovelace" in answer.text
    assert "09:00\u201313:00" in answer.text


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("not_offered", "Outside the hours the agent offered."),
        ("overlap", "Overlaps another shift."),
        ("too_short", "Shorter than the minimum shift of 4 hours."),
        ("not_certified", "Not certified for this skill."),
        ("second_shift_same_day", "More than 1 shift in a day."),
    ],
)
async def test_an_ineligible_edit_is_refused_with_the_reason_and_writes_nothing(
    client: httpx.AsyncClient, db: AsyncSession, world: World, case: str, message: str
) -> None:
    await a_line(db, world, world.agent, at(world.week, 0, 9), at(world.week, 0, 13), locked=True)
    before = await lines_of(db, world.roster)
    form = {
        "not_offered": line_form(world, world.second, day=1),  # Bo offers Monday only
        "overlap": line_form(world, world.agent, start="11:00", end="15:00"),
        "too_short": line_form(world, world.second, start="09:00", end="11:00"),
        "not_certified": line_form(world, world.second, skill="tech"),
        "second_shift_same_day": line_form(world, world.agent, start="13:00", end="17:00"),
    }[case]
    await as_coordinator(client, world)
    answer = await post_form(client, "/admin/roster/lines", form)
    assert answer.status_code == 422
    if case != "second_shift_same_day":
        assert message in answer.text
    assert 'role="alert"' in answer.text
    assert await lines_of(db, world.roster) == before

    token = client.cookies.get("weft_csrf")
    htmx = await client.post("/admin/roster/lines", data={**form, "_csrf_token": token}, headers=HTMX)
    assert htmx.status_code == 200
    assert 'role="alert"' in htmx.text
    assert await lines_of(db, world.roster) == before


async def test_a_refused_move_leaves_the_line_as_it_was(
    client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    line_id = await a_line(db, world, world.agent, at(world.week, 0, 9), at(world.week, 0, 13))
    before = await lines_of(db, world.roster)
    await as_coordinator(client, world)
    answer = await post_form(client, f"/admin/roster/lines/{line_id}", line_form(world, world.second, day=1))
    assert answer.status_code == 422
    assert "Outside the hours the agent offered." in answer.text
    assert f'id="line-{line_id}"' in answer.text
    assert '<details class="roster-edit" open>' in answer.text
    assert await lines_of(db, world.roster) == before


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"start": "09:15"}, "start"),
        ({"end": "13:10"}, "end"),
        ({"start": "9am"}, "start"),
        ({"end": "09:00"}, "end"),
        ({"day": "2001-01-01"}, "day"),
    ],
)
async def test_a_bad_time_is_refused_naming_the_field(
    client: httpx.AsyncClient, db: AsyncSession, world: World, change: dict[str, str], field: str
) -> None:
    await as_coordinator(client, world)
    answer = await post_form(client, "/admin/roster/lines", {**line_form(world, world.agent), **change})
    assert answer.status_code == 422
    assert f'id="add-{field}" ' in answer.text
    assert re.search(rf'id="add-{field}"[^>]*aria-invalid="true"', answer.text)
    assert await lines_of(db, world.roster) == []


async def test_an_end_before_the_start_runs_into_the_next_day(
    client: httpx.AsyncClient, db: AsyncSession, world: World, people: Factory
) -> None:
    night = await rosterable(db, people, world.skill, "Nat Owl", [range(at(world.week, 2, 21), at(world.week, 3, 3))])
    await as_coordinator(client, world)
    answer = await post_form(client, "/admin/roster/lines", line_form(world, night, day=2, start="22:00", end="02:00"))
    assert answer.status_code == 303
    assert await lines_of(db, world.roster) == [(night.id, at(world.week, 2, 22), at(world.week, 3, 2), True)]


async def test_a_stale_or_foreign_line_id_is_not_found(
    client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    other_roster = await service.roster_of(db, site_id=world.site.id, week=world.week.shifted(1))
    other = RosterAssignment(
        roster_id=other_roster.id,
        user_id=world.agent.id,
        skill_id=world.skill.id,
        start_slot=at(world.week.shifted(1), 0, 9),
        end_slot=at(world.week.shifted(1), 0, 13),
        locked=False,
        source="manual",
    )
    db.add(other)
    await db.commit()
    await as_coordinator(client, world)
    week = {"week": str(world.week)}
    for line_id in (other.id, other.id + 1000):
        assert (await post_form(client, f"/admin/roster/lines/{line_id}/remove", week)).status_code == 404
        assert (await post_form(client, f"/admin/roster/lines/{line_id}/lock", week)).status_code == 404
        moved = await post_form(client, f"/admin/roster/lines/{line_id}", line_form(world, world.agent))
        assert moved.status_code == 404
    assert await db.scalar(select(RosterAssignment.id).where(RosterAssignment.id == other.id)) == other.id


# Publishing -----------------------------------------------------------------------


async def test_publishing_makes_version_one_with_shifts_and_open_shifts_for_gaps(
    client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    for slot in range(at(world.week, 0, 9), at(world.week, 0, 17)):
        await demand.set_override(db, site=world.site, skill=world.skill, slot=slot, contacts=40.0)
    await db.commit()
    facts = await week_facts(db, site=world.site, week=world.week, roster=world.roster)
    needed = facts.required["billing"][at(world.week, 0, 9) - facts.slots.start]
    assert needed >= 2
    await a_line(db, world, world.agent, at(world.week, 0, 9), at(world.week, 0, 13))
    await as_coordinator(client, world)

    answer = await post_form(client, "/admin/roster/publish", {"week": str(world.week)})
    assert answer.status_code == 303
    version = await db.scalar(select(RosterVersion).where(RosterVersion.roster_id == world.roster.id))
    assert version is not None
    assert version.number == 1
    assert version.published_by_id == world.coordinator.id
    rostered = (
        await db.execute(
            select(Shift.start_slot, Shift.end_slot, ShiftSeat.user_id)
            .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
            .where(Shift.roster_version_id == version.id, Shift.origin == ShiftOrigin.roster)
        )
    ).all()
    assert rostered == [(at(world.week, 0, 9), at(world.week, 0, 13), world.agent.id)]
    open_seats = await db.scalar(
        select(func.sum(Shift.seats)).where(Shift.roster_version_id == version.id, Shift.origin == ShiftOrigin.gap)
    )
    assert open_seats
    assert open_seats == version.open_seats > 0

    page = await client.get(f"/admin/roster?week={world.week}")
    versions = page.text[page.text.index('id="versions"') :]
    assert "Publish version 2" in versions
    assert "Cora Coordinator" in versions
    assert f"<td>{version.open_seats}</td>" in versions
    assert f'id="change-{world.agent.id}"' in versions
    assert "+ Mon" in versions


async def test_republishing_after_an_edit_shows_each_agents_change(
    client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    line_id = await a_line(db, world, world.agent, at(world.week, 0, 9), at(world.week, 0, 13))
    await a_line(db, world, world.second, at(world.week, 0, 13), at(world.week, 0, 17))
    await as_coordinator(client, world)
    assert (await post_form(client, "/admin/roster/publish", {"week": str(world.week)})).status_code == 303
    moved = await post_form(
        client, f"/admin/roster/lines/{line_id}", line_form(world, world.agent, day=1, start="10:00", end="14:00")
    )
    assert moved.status_code == 303
    pending = await client.get(f"/admin/roster?week={world.week}")
    assert "The draft changes 1 agent's schedule since the last version." in pending.text

    assert (await post_form(client, "/admin/roster/publish", {"week": str(world.week)})).status_code == 303
    numbers = await db.scalars(select(RosterVersion.number).where(RosterVersion.roster_id == world.roster.id))
    assert sorted(numbers) == [1, 2]
    html = (await client.get(f"/admin/roster?week={world.week}")).text
    changes = html[html.index("What changed in version 2") :]
    ada = changes[changes.index(f'id="change-{world.agent.id}"') :]
    assert "Ada Lovelace" in ada
    monday, tuesday = world.week.days()[0].day, world.week.days()[1].day
    assert f"+ Tue {tuesday} 10:00\u201314:00 · Billing" in ada
    assert f"\u2212 Mon {monday} 09:00\u201313:00 · Billing" in ada
    assert f'id="change-{world.second.id}"' not in changes  # Bo's schedule did not change
    live = await db.scalar(
        select(func.count())
        .select_from(Shift)
        .where(Shift.site_id == world.site.id, Shift.origin == ShiftOrigin.roster, Shift.cancelled_at.is_(None))
    )
    assert live == 2


async def test_publishing_waits_for_a_running_solve(client: httpx.AsyncClient, db: AsyncSession, world: World) -> None:
    await a_run(db, world.roster, SolveStatus.running)
    await as_coordinator(client, world)
    answer = await post_form(client, "/admin/roster/publish", {"week": str(world.week)})
    assert answer.status_code == 409
    assert "Wait for the running solve to finish" in answer.text
    assert await db.scalar(select(func.count()).select_from(RosterVersion)) == 0


# The JSON API ---------------------------------------------------------------------


async def test_the_api_returns_the_draft_and_the_latest_run(
    client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    await a_line(db, world, world.agent, at(world.week, 0, 9), at(world.week, 0, 13), locked=True)
    await a_run(db, world.roster, SolveStatus.running, elapsed_seconds=2.0, stage="coverage")
    await as_coordinator(client, world)
    body = (await client.get(f"/api/v1/rosters/{world.week}")).json()
    assert body["week"] == str(world.week)
    assert body["published_version"] == 0
    [line] = body["lines"]
    assert line["agent_id"] == world.agent.id
    assert line["skill"] == "billing"
    assert line["locked"] is True
    assert line["start"] == f"{world.week.days()[0].isoformat()}T09:00:00+08:00"
    assert body["run"]["status"] == "running"
    assert body["run"]["stage"] == "coverage"


async def test_an_edit_over_a_shift_the_agent_already_holds_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    claimed = Shift(
        site_id=world.site.id,
        skill_id=world.skill.id,
        start_slot=at(world.week, 0, 9),
        end_slot=at(world.week, 0, 13),
        seats=1,
        taken=1,
        origin=ShiftOrigin.gap,
    )
    db.add(claimed)
    await db.flush()
    db.add(ShiftSeat(shift_id=claimed.id, user_id=world.agent.id))
    await db.commit()
    await as_coordinator(client, world)
    answer = await post_form(client, "/admin/roster/lines", line_form(world, world.agent, start="11:00", end="15:00"))
    assert answer.status_code == 422
    assert "Overlaps another shift." in answer.text
    assert await lines_of(db, world.roster) == []
