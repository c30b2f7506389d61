"""The week, quality and fairness dashboards on small fixed data: figures against values worked out by hand, each
page and its CSV showing the same numbers, the worker's roll-up agreeing with the live sum, who may read them, what
a bad query answers, and the empty centre.

Everything happens in last week (a whole site-local week in the past, whenever the suite runs), asked for by
``?week=`` or covered by ``?weeks=2``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, Skill, Tier, User
from backend.accounts.zones import site_zone
from backend.availability.models import OfferedSlot, Preference
from backend.core.db import utcnow
from backend.core.slots import IsoWeek, slot_of
from backend.notify.models import Kind, Notification
from backend.ops import fairness, quality, rollup
from backend.ops.models import OfferWeek, QualityWeek
from backend.ops.week import week_report
from backend.roster.models import Roster, SolveRun, SolveStatus
from backend.shifts.models import (
    CoverReason,
    CoverRequest,
    CoverStatus,
    Shift,
    ShiftOrigin,
    ShiftSeat,
    ShiftSwap,
    SwapStatus,
)
from backend.work.models import WorkKind, WorkRecord
from tests.conftest import login
from tests.factories import Factory, a_held_shift, a_skill, an_agent

# Helpers -----------------------------------------------------------------------------------------------------


def last_week(site: Site) -> IsoWeek:
    return IsoWeek.containing(utcnow(), site_zone(site)).shifted(-1)


def local(site: Site, day: dt.date, clock: str) -> dt.datetime:
    hour, minute = (int(part) for part in clock.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=site_zone(site)).astimezone(dt.UTC)


class Tables(HTMLParser):
    """The text of every cell of every table on a page, by the table's id."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.rows: list[list[str]] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table":
            self.rows = self.tables.setdefault(found.get("id") or f"table-{len(self.tables)}", [])
        elif tag == "tr" and self.rows is not None:
            self.rows.append([])
        elif tag in ("td", "th") and self.rows is not None:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.rows is not None:
            self.rows[-1].append(" ".join("".join(self.cell).split()))
            self.cell = None
        elif tag == "table":
            self.rows = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def tables_of(html: str) -> dict[str, list[list[str]]]:
    parser = Tables()
    parser.feed(html)
    return parser.tables


def csv_rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


async def signed_in(client: httpx.AsyncClient, people: Factory, role: Role) -> User:
    user = await people.make(role)
    assert (await login(client, user.email)).status_code == 303
    return user


@contextmanager
def counted(engine: Any) -> Iterator[list[str]]:
    """The SQL statements run inside the block."""
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", note)


async def bare_agents(db: AsyncSession, site: Site, count: int, *, tier: Tier = Tier.junior) -> list[User]:
    """Agents written straight in (no password hashing): for tests that need many."""
    users = [
        User(
            site_id=site.id,
            email=f"bulk-{uuid.uuid4().hex[:10]}@example.com",
            display_name=f"Bulk {index:03d}",
            role=Role.agent,
            tier=tier,
            timezone=site.timezone,
            password_hash="-",
        )
        for index in range(count)
    ]
    db.add_all(users)
    await db.commit()
    return users


def record(site: Site, agent: User, at: dt.datetime, skill: Skill | None, **fields: Any) -> WorkRecord:
    return WorkRecord(
        site_id=site.id,
        user_id=agent.id,
        source="test",
        external_id=uuid.uuid4().hex,
        occurred_at=at,
        kind=WorkKind.call,
        skill_id=skill.id if skill else None,
        **fields,
    )


# The week ----------------------------------------------------------------------------------------------------


@pytest.fixture
async def week_world(db: AsyncSession, site: Site, people: Factory) -> IsoWeek:
    """Last week: Monday's shift 2 of 2 seats taken, Tuesday's 1 of 2 (and one seat taken and given back); two
    swaps; two cover requests, one covered after 20 minutes.

    Claims all happen on Monday (08:30, 09:30 and 09:00 for the seats held; 08:15 for the one given back at
    09:45); each shift went on the marketplace at Monday 08:00, so the times to fill are 30, 90 and 60 minutes
    (median 60; the seat given back is not a fill).
    """
    week = last_week(site)
    monday, tuesday = week.days()[0], week.days()[1]
    billing = await a_skill(db, site, "billing")
    agents = [await an_agent(people, skills=[billing]) for _ in range(4)]
    opened = local(site, monday, "08:00")
    mon = Shift(
        site_id=site.id,
        skill_id=billing.id,
        start_slot=slot_of(local(site, monday, "10:00")),
        end_slot=slot_of(local(site, monday, "14:00")),
        seats=2,
        taken=2,
        origin=ShiftOrigin.manual,
        opened_at=opened,
    )
    tue = Shift(
        site_id=site.id,
        skill_id=billing.id,
        start_slot=slot_of(local(site, tuesday, "10:00")),
        end_slot=slot_of(local(site, tuesday, "14:00")),
        seats=2,
        taken=1,
        origin=ShiftOrigin.gap,
        opened_at=opened,
    )
    cancelled = Shift(
        site_id=site.id,
        skill_id=billing.id,
        start_slot=slot_of(local(site, tuesday, "16:00")),
        end_slot=slot_of(local(site, tuesday, "20:00")),
        seats=3,
        taken=0,
        origin=ShiftOrigin.manual,
        opened_at=opened,
        cancelled_at=opened,
    )
    db.add_all([mon, tue, cancelled])
    await db.flush()
    db.add_all(
        [
            ShiftSeat(shift_id=mon.id, user_id=agents[0].id, taken_at=local(site, monday, "08:30")),
            ShiftSeat(shift_id=mon.id, user_id=agents[1].id, taken_at=local(site, monday, "09:30")),
            ShiftSeat(shift_id=tue.id, user_id=agents[2].id, taken_at=local(site, monday, "09:00")),
            ShiftSeat(
                shift_id=tue.id,
                user_id=agents[3].id,
                taken_at=local(site, monday, "08:15"),
                released_at=local(site, monday, "09:45"),
            ),
            ShiftSwap(shift_id=mon.id, from_user_id=agents[0].id, status=SwapStatus.offered),
            ShiftSwap(shift_id=mon.id, from_user_id=agents[1].id, status=SwapStatus.approved),
            CoverRequest(
                site_id=site.id,
                shift_id=tue.id,
                reason=CoverReason.emergency,
                status=CoverStatus.covered,
                created_at=local(site, tuesday, "07:00"),
                covered_at=local(site, tuesday, "07:20"),
                covered_by_id=agents[3].id,
            ),
            CoverRequest(
                site_id=site.id,
                shift_id=tue.id,
                reason=CoverReason.emergency,
                status=CoverStatus.open,
                created_at=local(site, tuesday, "08:00"),
            ),
        ]
    )
    await db.commit()
    return week


async def test_week_figures_match_the_hand_count(db: AsyncSession, site: Site, week_world: IsoWeek) -> None:
    data = await week_report(db, site=site, week=week_world, now=utcnow())
    assert (data.total.offered, data.total.taken, data.total.rate_percent) == (4, 3, 75.0)
    assert [(f.offered, f.taken) for f in data.by_day[:3]] == [(2, 2), (2, 1), (0, 0)]
    assert [d.rate_percent for d in data.by_day[:3]] == [100.0, 50.0, None]
    assert data.total.open_left == 0  # every shift has started
    assert data.claims == [4, 0, 0, 0, 0, 0, 0]
    assert data.releases == [1, 0, 0, 0, 0, 0, 0]
    assert (data.fills, data.fill_median_minutes) == (3, 60.0)
    swaps = dict(data.swaps)
    assert (swaps[SwapStatus.offered], swaps[SwapStatus.approved], swaps[SwapStatus.declined]) == (1, 1, 0)
    assert (data.cover_requests, data.cover_covered, data.cover_median_minutes) == (2, 1, 20.0)


async def test_open_seats_left_count_only_shifts_not_started(db: AsyncSession, site: Site, people: Factory) -> None:
    billing = await a_skill(db, site, "billing")
    now = utcnow()
    agent = await an_agent(people, skills=[billing])
    soon = now + dt.timedelta(days=1)
    shift = await a_held_shift(db, agent, soon.replace(minute=0, second=0, microsecond=0), skill=billing)
    shift.seats = 3
    await db.commit()
    week = IsoWeek.containing(soon, site_zone(site))
    data = await week_report(db, site=site, week=week, now=now)
    assert (data.total.offered, data.total.taken, data.total.open_left) == (3, 1, 2)


async def test_week_page_and_csv_show_the_same_numbers(
    client: httpx.AsyncClient, people: Factory, week_world: IsoWeek
) -> None:
    await signed_in(client, people, Role.coordinator)
    response = await client.get(f"/admin/reports/week?week={week_world}")
    assert response.status_code == 200
    tables = tables_of(response.text)
    summary = {row[0]: row[1] for row in tables["week-summary"]}
    assert summary["Fill rate (%)"] == "75.0"
    assert summary["Median minutes from the marketplace to a claim"] == "60.0"
    assert summary["Median minutes to cover"] == "20.0"
    fill = tables["fill-table"]
    assert fill[1][0] == "Billing"
    assert fill[1][1] == "100.0% (2/2)"
    assert fill[1][2] == "50.0% (1/2)"
    assert fill[-1][8] == "75.0% (3/4)"

    rows = csv_rows(await client.get(f"/admin/reports/week.csv?week={week_world}&table=summary"))
    by_code = {row["measure"]: row["value"] for row in rows}
    assert by_code["fill_percent"] == summary["Fill rate (%)"]
    assert by_code["median_minutes_to_fill"] == summary["Median minutes from the marketplace to a claim"]
    assert by_code["cover_covered"] == "1"
    fill_rows = csv_rows(await client.get(f"/admin/reports/week.csv?week={week_world}&table=fill"))
    monday = week_world.days()[0].isoformat()
    assert {k: fill_rows[0][k] for k in ("skill", "day", "seats_offered", "seats_taken", "fill_percent")} == {
        "skill": "Billing",
        "day": monday,
        "seats_offered": "2",
        "seats_taken": "2",
        "fill_percent": "100.0",
    }
    activity = csv_rows(await client.get(f"/admin/reports/week.csv?week={week_world}&table=activity"))
    assert [(row["claims"], row["releases"]) for row in activity[:2]] == [("4", "1"), ("0", "0")]


# Quality ----------------------------------------------------------------------------------------------------


@pytest.fixture
async def quality_world(db: AsyncSession, site: Site, people: Factory) -> dict[str, User]:
    """Last Wednesday: Ann (junior, billing) worked 2 hours and handled 4 contacts in three records; Bo (senior,
    tech) worked 4 hours and handled 8 in two. A no-show shift of Ann's is not worked time.

    Ann: 4 per hour... no: 4 contacts / 2 h = 2.0 per hour; AHT (300 + 600) / (1 + 2) = 300 s; CSAT (5 + 3) / 2
    = 4.0; resolved 2 of 3 = 66.7 %. Bo: 8 / 4 h = 2.0; AHT (800 + 400) / 8 = 150 s; CSAT (4 + 2) / 2 = 3.0;
    resolved 2 of 2 = 100 %. Everyone: 12 contacts / 6 h = 2.0; AHT 2100 / 11 = 190.9 -> 191 s; CSAT 14 / 4 =
    3.5; resolved 4 of 5 = 80 %.
    """
    week = last_week(site)
    wednesday = week.days()[2]
    billing, tech = await a_skill(db, site, "billing"), await a_skill(db, site, "tech")
    ann = await an_agent(people, skills=[billing], display_name="Ann")
    bo = await an_agent(people, skills=[tech], tier=Tier.senior, display_name="Bo")
    await a_held_shift(db, ann, local(site, wednesday, "09:00"), slots=4, skill=billing)
    await a_held_shift(
        db, ann, local(site, wednesday, "15:00"), slots=4, skill=billing, no_show_at=local(site, wednesday, "15:20")
    )
    await a_held_shift(db, bo, local(site, wednesday, "09:00"), slots=8, skill=tech)
    at = local(site, wednesday, "10:00")
    db.add_all(
        [
            record(site, ann, at, billing, count=1, handled_seconds=300, csat=5, resolved=True),
            record(site, ann, at, billing, count=2, handled_seconds=600, csat=3, resolved=False),
            record(site, ann, at, billing, count=1, handled_seconds=None, csat=None, resolved=True),
            record(site, bo, at, tech, count=4, handled_seconds=800, csat=4, resolved=True),
            record(site, bo, at, tech, count=4, handled_seconds=400, csat=2, resolved=True),
        ]
    )
    await db.commit()
    return {"ann": ann, "bo": bo}


def figures(f: quality.Figures) -> tuple[Any, ...]:
    return (f.contacts, f.hours, f.per_hour, f.aht_seconds, f.csat, f.resolution_percent)


async def test_quality_figures_match_the_hand_count(
    db: AsyncSession, site: Site, quality_world: dict[str, User]
) -> None:
    data = await quality.quality_report(db, site=site, weeks=2, now=utcnow(), sort="csat", descending=True)
    assert [row.name for row in data.agents] == ["Ann", "Bo"]
    assert figures(data.agents[0].figures) == (4, 2.0, 2.0, 300, 4.0, 66.7)
    assert figures(data.agents[1].figures) == (8, 4.0, 2.0, 150, 3.0, 100.0)
    assert figures(data.total) == (12, 6.0, 2.0, 191, 3.5, 80.0)
    assert [(g.label, figures(g.figures)[0]) for g in data.by_skill] == [("Billing", 4), ("Technical support", 8)]
    assert [(g.key, g.figures.contacts) for g in data.by_tier] == [("junior", 4), ("senior", 8)]
    assert [w.contacts for w in data.by_week] == [12, 0]  # last week, then this week so far
    assert data.live_weeks == 2
    assert data.rolled_at is None


async def test_the_roll_up_gives_the_same_figures_as_the_live_sum(
    db: AsyncSession, site: Site, quality_world: dict[str, User]
) -> None:
    now = utcnow()
    live = await quality.quality_report(db, site=site, weeks=2, now=now)
    assert await rollup.refresh_quality_rollups(db, now=now) == rollup.WEEKS_PER_RUN
    stored = await quality.quality_report(db, site=site, weeks=2, now=now)
    assert stored.live_weeks == 0
    assert stored.rolled_at == now
    assert [figures(row.figures) for row in stored.agents] == [figures(row.figures) for row in live.agents]
    assert figures(stored.total) == figures(live.total)
    assert [figures(g.figures) for g in stored.by_skill] == [figures(g.figures) for g in live.by_skill]
    # The next run sums two older weeks, not the fresh ones again; after FRESH_MINUTES the newest come first again.
    recent = [str(week) for week in stored.weeks]
    assert await rollup.refresh_quality_rollups(db, now=now + dt.timedelta(minutes=1)) == rollup.WEEKS_PER_RUN
    assert (await rollup.stamps(db, site_id=site.id, weeks=stored.weeks)) == dict.fromkeys(recent, now)
    later = now + dt.timedelta(minutes=rollup.FRESH_MINUTES)
    assert await rollup.refresh_quality_rollups(db, now=later) == rollup.WEEKS_PER_RUN
    assert (await rollup.stamps(db, site_id=site.id, weeks=stored.weeks)) == dict.fromkeys(recent, later)
    rows = await db.scalars(select(QualityWeek).where(QualityWeek.site_id == site.id))
    assert sum(row.contacts for row in rows) == 12  # replaced, not added to


def test_a_settled_week_is_not_summed_again() -> None:
    zone = site_zone(Site(name="x", timezone="Asia/Shanghai"))
    now = dt.datetime(2026, 12, 7, 4, tzinfo=dt.UTC)
    weeks = rollup.window(now, zone, 4)
    old = now - dt.timedelta(days=1)
    settled = {str(week): now for week in weeks[:2]}  # summed long after the weeks ended
    due = rollup.due_weeks(weeks, {**settled, str(weeks[2]): old, str(weeks[3]): old}, zone=zone, now=now)
    assert due == [weeks[3], weeks[2]]
    assert rollup.due_weeks(weeks, {}, zone=zone, now=now) == [weeks[3], weeks[2]]  # newest first, two a run


async def test_quality_page_and_csv_show_the_same_numbers(
    client: httpx.AsyncClient, people: Factory, quality_world: dict[str, User]
) -> None:
    await signed_in(client, people, Role.coordinator)
    response = await client.get("/admin/reports/quality?weeks=2&sort=contacts&order=desc")
    assert response.status_code == 200
    tables = tables_of(response.text)
    agents = tables["agent-table"][1:]
    assert [row[0] for row in agents] == ["Bo", "Ann"]
    assert agents[1] == ["Ann", "Junior", "4", "2.0", "2.0", "300", "4.0", "66.7"]
    assert f'href="/admin/growth/{quality_world["ann"].id}"' in response.text  # the drill-down
    assert tables["skill-table"][-1] == ["All skills", "12", "6.0", "2.0", "191", "3.5", "80.0"]

    rows = csv_rows(await client.get("/admin/reports/quality.csv?weeks=2&sort=contacts&order=desc&table=agents"))
    assert [row["agent"] for row in rows] == ["Bo", "Ann"]
    columns = ["contacts", "hours_worked", "contacts_per_hour", "aht_seconds", "csat", "resolution_percent"]
    assert [rows[1][c] for c in columns] == ["4", "2.0", "2.0", "300", "4.0", "66.7"]
    assert agents[1][2:] == [rows[1][c] for c in columns]  # the very same text
    trend = csv_rows(await client.get("/admin/reports/quality.csv?weeks=2&table=weeks"))
    assert [row["contacts"] for row in trend] == ["12", "0"]


async def test_quality_pages_agents_and_keeps_the_query_count_constant(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory, engine: Any
) -> None:
    await signed_in(client, people, Role.coordinator)
    at = local(site, last_week(site).days()[2], "10:00")
    few = await bare_agents(db, site, 3)
    db.add_all([record(site, agent, at, None, count=1, csat=4) for agent in few])
    await db.commit()
    with counted(engine) as small:
        assert (await client.get("/admin/reports/quality?weeks=2")).status_code == 200
    many = await bare_agents(db, site, 60)
    db.add_all([record(site, agent, at, None, count=2, csat=5) for agent in many])
    await db.commit()
    with counted(engine) as large:
        first = await client.get("/admin/reports/quality?weeks=2")
    assert len(large) == len(small)
    assert len(tables_of(first.text)["agent-table"]) == 1 + quality.PAGE_SIZE
    second = await client.get("/admin/reports/quality?weeks=2&page=2")
    assert len(tables_of(second.text)["agent-table"]) == 1 + 63 - quality.PAGE_SIZE
    assert "Page 2 of 2" in second.text
    rows = csv_rows(await client.get("/admin/reports/quality.csv?weeks=2"))
    assert len(rows) == 63


# Fairness ---------------------------------------------------------------------------------------------------


@pytest.fixture
async def fairness_world(db: AsyncSession, site: Site, people: Factory) -> dict[str, User]:
    """Last week: Cy offered 4 h and holds a 2-hour shift (50 %), Di offered 2 h and holds 2 h (100 %), Ed offered
    2 h the week before and nothing last week (no share: last). The solve explains Cy: a 4-hour fair share and 2
    hours unused for the weekly cap. Di was sent 36 notifications last week (flagged), Cy 3.
    """
    week = last_week(site)
    wednesday = week.days()[2]
    billing = await a_skill(db, site, "billing")
    cy = await an_agent(people, skills=[billing], display_name="Cy")
    di = await an_agent(people, skills=[billing], display_name="Di")
    ed = await an_agent(people, skills=[billing], display_name="Ed")
    start = slot_of(local(site, wednesday, "09:00"))
    earlier = slot_of(local(site, week.shifted(-1).days()[2], "09:00"))
    db.add_all([OfferedSlot(user_id=cy.id, slot=start + i, preference=Preference.preferred) for i in range(8)])
    db.add_all([OfferedSlot(user_id=di.id, slot=start + i, preference=Preference.preferred) for i in range(4)])
    db.add_all([OfferedSlot(user_id=ed.id, slot=earlier + i, preference=Preference.preferred) for i in range(4)])
    await db.commit()
    await a_held_shift(db, cy, local(site, wednesday, "09:00"), slots=4, skill=billing)
    await a_held_shift(db, di, local(site, wednesday, "09:00"), slots=4, skill=billing)
    await a_held_shift(  # given back: not given
        db, ed, local(site, wednesday, "09:00"), slots=4, skill=billing, released_at=local(site, wednesday, "01:00")
    )
    roster = Roster(site_id=site.id, week=str(week), published_version=1)
    db.add(roster)
    await db.flush()
    report = {
        "agents": {
            str(cy.id): {"offered": 8, "given": 4, "target": 8, "unused": [[start + 4, start + 8, "weekly_cap"]]}
        }
    }
    db.add(SolveRun(roster_id=roster.id, status=SolveStatus.done, time_limit_seconds=10, report=report))
    sent_at = local(site, wednesday, "12:00")
    db.add_all([Notification(user_id=di.id, kind=Kind.open_shift, title="t", created_at=sent_at) for _ in range(36)])
    db.add_all([Notification(user_id=cy.id, kind=Kind.open_shift, title="t", created_at=sent_at) for _ in range(3)])
    await db.commit()
    return {"cy": cy, "di": di, "ed": ed}


async def test_fairness_lists_the_least_served_first_with_the_rosters_reasons(
    db: AsyncSession, site: Site, fairness_world: dict[str, User]
) -> None:
    data = await fairness.fairness_report(db, site=site, week=last_week(site))
    assert [row.name for row in data.rows] == ["Cy", "Di", "Ed"]
    cy, di, ed = data.rows
    assert (cy.week.offered_hours, cy.week.given_hours, cy.week.percent) == (4.0, 2.0, 50.0)
    assert (di.week.percent, ed.week.percent, ed.four_weeks.percent) == (100.0, None, 0.0)
    assert (cy.target_hours, [(r.text, r.hours) for r in cy.reasons]) == (4.0, [("weekly cap reached", 2.0)])
    assert di.target_hours is None
    assert di.reasons == []
    assert (cy.notifications[-1], di.notifications[-1]) == (3, 36)
    assert (di.flagged, cy.flagged, data.flagged) == (True, False, 1)
    assert data.solved
    assert data.bands == [0, 0, 1, 0, 1]  # Cy in 50-74 %, Di at 100 %+


async def test_fairness_page_and_csv_show_the_same_numbers(
    client: httpx.AsyncClient, people: Factory, site: Site, fairness_world: dict[str, User]
) -> None:
    await signed_in(client, people, Role.finance)
    week = last_week(site)
    response = await client.get(f"/admin/reports/fairness?week={week}")
    assert response.status_code == 200
    rows = tables_of(response.text)["fairness-table"][2:]
    assert [row[0] for row in rows] == ["Cy", "Di", "Ed"]
    assert rows[0][:9] == ["Cy", "4.0", "2.0", "50.0", "4.0", "2.0", "50.0", "4.0", "weekly cap reached: 2.0 h"]
    assert rows[1][-1] == "36 ⚠"
    assert "/admin/users/" not in response.text  # finance reads; the people pages are the coordinators'

    exported = csv_rows(await client.get(f"/admin/reports/fairness.csv?week={week}"))
    assert [row["agent"] for row in exported] == ["Cy", "Di", "Ed"]
    cy = exported[0]
    page_cells = [*rows[0][1:4], rows[0][7]]
    assert [cy["offered_hours"], cy["given_hours"], cy["served_percent"], cy["fair_share_hours"]] == page_cells
    assert cy["why"] == "weekly cap reached: 2 h"
    assert (exported[1][f"notifications_{week}"], exported[1]["flagged"]) == ("36", "true")


def served(data: fairness.FairnessReport) -> list[tuple[str, int, int, int, int]]:
    return [
        (
            row.name,
            row.week.offered_slots,
            row.week.given_slots,
            row.four_weeks.offered_slots,
            row.four_weeks.given_slots,
        )
        for row in data.rows
    ]


async def test_fairness_reads_the_rolled_up_offers_and_they_equal_the_live_count(
    db: AsyncSession, site: Site, fairness_world: dict[str, User]
) -> None:
    week, now = last_week(site), utcnow()
    live = await fairness.fairness_report(db, site=site, week=week)
    assert served(live) == [("Cy", 8, 4, 8, 4), ("Di", 4, 4, 4, 4), ("Ed", 0, 0, 4, 0)]
    assert await rollup.refresh_quality_rollups(db, now=now) == 2  # this week and last: the older three stay live
    assert served(await fairness.fairness_report(db, site=site, week=week)) == served(live)
    await rollup.refresh_quality_rollups(db, now=now)
    await rollup.refresh_quality_rollups(db, now=now)  # now the four weeks are all rolled up
    stamped = await rollup.stamps(db, site_id=site.id, weeks=[week.shifted(-n) for n in range(4)])
    assert len(stamped) == 4
    assert served(await fairness.fairness_report(db, site=site, week=week)) == served(live)
    cy, di, ed = fairness_world["cy"], fairness_world["di"], fairness_world["ed"]
    stored = await db.execute(select(OfferWeek.week, OfferWeek.user_id, OfferWeek.offered_slots))
    assert sorted(stored) == sorted([(str(week), cy.id, 8), (str(week), di.id, 4), (str(week.shifted(-1)), ed.id, 4)])
    # An offer made after the roll-up shows once the worker sums the week again (FRESH_MINUTES later), not before.
    start = slot_of(local(site, week.days()[2], "11:00"))
    db.add(OfferedSlot(user_id=di.id, slot=start, preference=Preference.if_needed))
    await db.commit()
    assert served(await fairness.fairness_report(db, site=site, week=week))[1] == ("Di", 4, 4, 4, 4)
    await rollup.refresh_quality_rollups(db, now=now + dt.timedelta(minutes=rollup.FRESH_MINUTES))
    assert served(await fairness.fairness_report(db, site=site, week=week))[1] == ("Di", 5, 4, 5, 4)


# Roles, bad queries, the empty centre --------------------------------------------------------------------------

PAGES = ["/admin/reports/week", "/admin/reports/quality", "/admin/reports/fairness"]
CSVS = ["/admin/reports/week.csv", "/admin/reports/quality.csv", "/admin/reports/fairness.csv"]


@pytest.mark.parametrize(("role", "status"), [(Role.agent, 403), (Role.coordinator, 200), (Role.finance, 200)])
async def test_staff_and_finance_read_the_dashboards_and_agents_are_kept_out(
    client: httpx.AsyncClient, people: Factory, role: Role, status: int
) -> None:
    await signed_in(client, people, role)
    for path in PAGES + CSVS:
        assert (await client.get(path)).status_code == status, path


async def test_the_empty_centre_says_what_to_do_first(client: httpx.AsyncClient, people: Factory) -> None:
    await signed_in(client, people, Role.coordinator)
    for path, first_step in zip(PAGES, ["/admin/roster?week=", "/admin/work", "/admin/invitations"], strict=True):
        response = await client.get(path)
        assert response.status_code == 200
        assert 'id="no-data"' in response.text
        assert "No data yet" in response.text
        assert first_step in response.text


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/admin/reports/week?week=2026-W99", "week"),
        ("/admin/reports/week.csv?week=soon", "week"),
        ("/admin/reports/week.csv?table=nope", "table"),
        ("/admin/reports/quality?weeks=0", "weeks"),
        ("/admin/reports/quality?weeks=lots", "weeks"),
        ("/admin/reports/quality.csv?weeks=27", "weeks"),
        ("/admin/reports/quality?sort=colour", "sort"),
        ("/admin/reports/quality?order=up", "order"),
        ("/admin/reports/quality?page=0", "page"),
        ("/admin/reports/fairness?week=W50", "week"),
        ("/admin/reports/fairness?page=x", "page"),
        ("/admin/reports/fairness.csv?week=2026-W60", "week"),
    ],
)
async def test_a_malformed_query_is_refused_naming_its_field(
    client: httpx.AsyncClient, people: Factory, path: str, field: str
) -> None:
    await signed_in(client, people, Role.coordinator)
    response = await client.get(path)
    assert response.status_code == 422, path
    if ".csv" in path:  # a script asking for JSON is told the field
        answer = await client.get(path, headers={"Accept": "application/json"})
        assert (answer.status_code, answer.json()["field"]) == (422, field)
    else:  # the page names it beside its picker
        assert f'id="{field}-error"' in response.text
