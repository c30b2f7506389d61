"""The daily report and the duty KPIs on small fixed data: the figures against values worked out by hand, the page
and its CSV showing the same numbers, who may read them, what a bad ``?day=``/``?week=`` answers, and the empty
centre."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from html.parser import HTMLParser

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.accounts.zones import site_zone
from backend.core.db import utcnow
from backend.core.slots import IsoWeek
from backend.ops import report
from backend.ops.day_need import DayNeeds, SkillDay
from backend.ops.models import DutyLogItem, DutyLogUpdate, Handover, LogKind, LogStatus
from backend.ops.reforecast import reforecast
from backend.shifts.models import Attendance, CoverReason, CoverRequest, CoverStatus, Shift, ShiftSeat
from tests.conftest import login
from tests.factories import Factory, a_duty, a_held_shift, a_skill, an_agent

DASH = "\u2013"  # what a page shows where a figure has no value (the CSV leaves the cell empty)

# Helpers -----------------------------------------------------------------------------------------------------


def local(site: Site, day: dt.date, clock: str) -> dt.datetime:
    hour, minute = (int(part) for part in clock.split(":"))
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=site_zone(site)).astimezone(dt.UTC)


def yesterday(site: Site) -> dt.date:
    """A whole local day in the past, whenever the suite runs."""
    return utcnow().astimezone(site_zone(site)).date() - dt.timedelta(days=1)


class Tables(HTMLParser):
    """The text of every cell of every table on a page, by the table's nearest section id (or the table's id)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.section = ""
        self.rows: list[list[str]] | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section" and found.get("id"):
            self.section = found["id"] or ""
        elif tag == "table":
            self.rows = self.tables.setdefault(found.get("id") or self.section, [])
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


def csv_of(response: httpx.Response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.content.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


async def signed_in(client: httpx.AsyncClient, people: Factory, role: Role) -> User:
    user = await people.make(role)
    assert (await login(client, user.email)).status_code == 303
    return user


# A small fixed day -------------------------------------------------------------------------------------------


@dataclass
class Day:
    site: Site
    day: dt.date


async def started(db: AsyncSession, shift: Shift, at: dt.datetime) -> None:
    seat = await db.scalar(select(ShiftSeat).where(ShiftSeat.shift_id == shift.id))
    assert seat is not None
    db.add(Attendance(seat_id=seat.id, started_at=at))
    await db.commit()


async def a_day(db: AsyncSession, site: Site, people: Factory) -> Day:
    """Yesterday, billing, four agents on two-hour shifts (the site counts late after 10 minutes):

    Ann 09:00 started 09:05 (on time) · Ben 09:00 started 09:25 (25 min late) · Cat 10:00 no-show marked 10:20 ·
    Dan 13:00 never started. Cover: asked 10:20, covered 10:32 (12 min); asked 13:15, covered 13:45 (30 min);
    asked 14:00, expired. Coco on duty 08:00-16:00 with two log items (first action after 4 min; none) and a
    handover at 16:20 acknowledged at 16:40; Lena on duty 16:00-22:00 without a handover.
    """
    day = yesterday(site)
    billing = await a_skill(db, site, "billing")
    ann = await an_agent(people, display_name="Ann", skills=[billing])
    ben = await an_agent(people, display_name="Ben", skills=[billing])
    cat = await an_agent(people, display_name="Cat", skills=[billing])
    dan = await an_agent(people, display_name="Dan", skills=[billing])
    eve = await an_agent(people, display_name="Eve", skills=[billing])
    coco = await people.make(Role.coordinator, display_name="Coco")
    lena = await people.make(Role.coordinator, display_name="Lena")
    for agent, start, began in ((ann, "09:00", "09:05"), (ben, "09:00", "09:25")):
        shift = await a_held_shift(db, agent, local(site, day, start), skill=billing)
        await started(db, shift, local(site, day, began))
    cats = await a_held_shift(db, cat, local(site, day, "10:00"), skill=billing, no_show_at=local(site, day, "10:20"))
    await a_held_shift(db, dan, local(site, day, "13:00"), skill=billing)
    for asked, covered, status, bonus in (
        ("10:20", "10:32", CoverStatus.covered, 1500),
        ("13:15", "13:45", CoverStatus.covered, 0),
        ("14:00", None, CoverStatus.expired, 0),
    ):
        db.add(
            CoverRequest(
                site_id=site.id,
                shift_id=cats.id,
                absent_user_id=cat.id,
                reason=CoverReason.no_show,
                bonus_minor=bonus,
                status=status,
                created_at=local(site, day, asked),
                covered_by_id=eve.id if covered else None,
                covered_at=local(site, day, covered) if covered else None,
                wave=1,
            )
        )
    morning = await a_duty(db, site, coco, start=local(site, day, "08:00"), hours=8)
    await a_duty(db, site, lena, start=local(site, day, "16:00"), hours=6)
    spike = DutyLogItem(
        site_id=site.id,
        duty_id=morning.id,
        kind=LogKind.queue_spike,
        started_at=local(site, day, "09:30"),
        summary="Billing queue at 40",
        author_id=coco.id,
        status=LogStatus.closed,
        first_action_at=local(site, day, "09:34"),
        closed_at=local(site, day, "10:00"),
    )
    db.add(spike)
    db.add(
        DutyLogItem(
            site_id=site.id,
            duty_id=morning.id,
            kind=LogKind.no_show,
            source_key="no_show:test",
            started_at=local(site, day, "10:20"),
            summary="Cat did not come",
        )
    )
    db.add(
        Handover(
            site_id=site.id,
            duty_id=morning.id,
            from_user_id=coco.id,
            submitted_at=local(site, day, "16:20"),
            acknowledged_at=local(site, day, "16:40"),
        )
    )
    await db.commit()
    return Day(site=site, day=day)


async def test_the_day_report_counts_the_fixed_day(db: AsyncSession, site: Site, people: Factory) -> None:
    world = await a_day(db, site, people)

    data = await report.day_report(db, site=site, day=world.day, now=utcnow())

    assert data.has_data
    assert (data.seats, data.started, data.no_shows, data.late_starts) == (4, 2, 1, 1)
    [coverage] = data.coverage
    # Ann, Ben and Dan hold 2 h each (Cat's no-show does not count); Ann and Ben started. No demand: 0 needed.
    assert (coverage.hours_needed, coverage.hours_scheduled, coverage.hours_started) == (0.0, 6.0, 4.0)
    assert coverage.short_half_hours == 0
    outcomes = [(row.name, row.what, row.minutes_late) for row in data.attendance]
    assert outcomes == [("Ben", "late", 25), ("Cat", "no_show", None), ("Dan", "not_started", None)]
    assert [row.minutes_to_fill for row in data.cover] == [12.0, 30.0, None]
    assert data.cover_median_minutes == 21.0
    assert (data.covered, data.cover[0].covered_by, data.cover[0].absent) == (2, "Eve", "Cat")
    assert [(row.kind, row.first_action_minutes) for row in data.log] == [
        (LogKind.queue_spike, 4.0),
        (LogKind.no_show, None),
    ]
    assert [(row.lead, row.state) for row in data.handovers] == [("Coco", "on_time"), ("Lena", "missing")]
    assert data.handovers[0].acknowledged is not None


def test_coverage_counts_hours_and_short_half_hours_by_hand() -> None:
    """Four half-hours, two begun: need 2,2,3,1; scheduled 2,2,2,2; started 1,2 (then not begun).
    Short: slot 0 (1 started < 2), slot 2 (2 scheduled < 3) -> 2. Hours: 8/2, 8/2, 3/2."""
    skill = SkillDay(
        skill_id=1,
        code="billing",
        label="Billing",
        slots=[100, 101, 102, 103],
        required=[2, 2, 3, 1],
        reforecast=[None] * 4,
        scheduled=[2, 2, 2, 2],
        started=[1, 2, None, None],
        forecast_contacts=[0.0] * 4,
        actual_contacts=[None] * 4,
        ratio=reforecast([0.0] * 4, [None] * 4, damping=0.5, low=0.5, high=2.0, min_slots=2),
    )
    needs = DayNeeds(day=dt.date(2026, 12, 7), slots=[100, 101, 102, 103], now_slot=101, skills=[skill], seats=[])
    [row] = report._coverage(needs)
    assert (row.hours_needed, row.hours_scheduled, row.hours_started, row.short_half_hours) == (4.0, 4.0, 1.5, 2)


async def test_each_table_of_the_page_and_its_csv_show_the_same_numbers(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    world = await a_day(db, site, people)
    await signed_in(client, people, Role.coordinator)
    day = world.day.isoformat()

    page = await client.get(f"/admin/reports/day?day={day}")
    assert page.status_code == 200
    tables = tables_of(page.text)

    coverage = csv_of(await client.get(f"/admin/reports/day.csv?day={day}&table=coverage"))
    assert coverage[0] == ["date", "skill", "hours_needed", "hours_scheduled", "hours_started", "short_half_hours"]
    assert coverage[1] == [day, "Billing", "0.0", "6.0", "4.0", "0"]
    assert tables["coverage"][1] == ["Billing", "0.0", "6.0", "4.0", "0"]

    attendance = csv_of(await client.get(f"/admin/reports/day.csv?day={day}&table=attendance"))
    assert [(row[1], row[5], row[6]) for row in attendance[1:]] == [
        ("Ben", "late", "25"),
        ("Cat", "no_show", ""),
        ("Dan", "not_started", ""),
    ]
    assert attendance[1][3] == local(site, world.day, "09:00").astimezone(site_zone(site)).isoformat()
    assert [(row[0], row[4]) for row in tables["attendance"][1:]] == [("Ben", "25"), ("Cat", DASH), ("Dan", DASH)]

    cover = csv_of(await client.get(f"/admin/reports/day.csv?day={day}&table=cover"))
    header = cover[0]
    assert header[-4:] == ["minutes_to_fill", "wave", "bonus", "currency"]
    assert [row[-4] for row in cover[1:]] == ["12.0", "30.0", ""]
    assert [(row[-2], row[-1]) for row in cover[1:]] == [("15.00", "CNY"), ("0.00", "CNY"), ("0.00", "CNY")]
    assert [row[6] for row in tables["cover"][1:]] == ["12.0", "30.0", DASH]
    assert "21.0" in page.text  # the median, in the summary

    log = csv_of(await client.get(f"/admin/reports/day.csv?day={day}&table=log"))
    assert [(row[2], row[3], row[6]) for row in log[1:]] == [("queue_spike", "closed", "4.0"), ("no_show", "open", "")]
    assert [row[4] for row in tables["log"][1:]] == ["4.0", DASH]

    handovers = csv_of(await client.get(f"/admin/reports/day.csv?day={day}&table=handovers"))
    assert [(row[2], row[5]) for row in handovers[1:]] == [("Coco", "on_time"), ("Lena", "missing")]
    assert handovers[1][7] == local(site, world.day, "16:40").astimezone(site_zone(site)).isoformat()
    assert [(row[0], row[2]) for row in tables["handovers"][1:]] == [("Coco", "On time"), ("Lena", "Missing")]

    printed = await client.get(f"/admin/reports/day/print?day={day}")
    assert printed.status_code == 200
    assert tables_of(printed.text)["coverage"] == tables["coverage"]
    assert "@media print" not in printed.text  # the print rules live in app.css, as CSP wants
    assert 'class="print-page report-print"' in printed.text


async def test_a_names_formula_is_never_run_by_a_spreadsheet(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    day = yesterday(site)
    billing = await a_skill(db, site, "billing")
    sly = await an_agent(people, display_name='=HYPERLINK("http://x")', skills=[billing])
    await a_held_shift(db, sly, local(site, day, "09:00"), skill=billing, no_show_at=local(site, day, "09:20"))
    await signed_in(client, people, Role.coordinator)
    rows = csv_of(await client.get(f"/admin/reports/day.csv?day={day.isoformat()}&table=attendance"))
    assert rows[1][1] == '\'=HYPERLINK("http://x")'


# Duty KPIs: the unit test's week, stored, read through the page and the CSV ----------------------------------


async def a_week_of_duty(db: AsyncSession, site: Site, people: Factory) -> IsoWeek:
    """Last week (always over): the same three duties and five items as tests/unit/test_duty_kpis.py, in UTC
    offsets from local 09:00 on Monday to Wednesday. Lena leads Monday and Wednesday, Mo Tuesday."""
    week = IsoWeek.of(utcnow().astimezone(site_zone(site)).date()).shifted(-1)
    lena = await people.make(Role.coordinator, display_name="Lena")
    mo = await people.make(Role.coordinator, display_name="Mo")
    monday, tuesday, wednesday = week.days()[:3]

    def at(day: dt.date, minutes: int) -> dt.datetime:
        return local(site, day, "09:00") + dt.timedelta(minutes=minutes)

    # (lead, day, handover submitted, acknowledged) in minutes after the duty's 09:00 start; it ends at +240.
    plans = [(lena, monday, 260, 280), (mo, tuesday, 285, 300), (lena, wednesday, 250, None)]
    duties = []
    for lead, day, submitted, acknowledged in plans:
        duty = await a_duty(db, site, lead, start=at(day, 0), hours=4)
        duties.append(duty)
        db.add(
            Handover(
                site_id=site.id,
                duty_id=duty.id,
                from_user_id=lead.id,
                submitted_at=at(day, submitted),
                acknowledged_at=at(day, acknowledged) if acknowledged is not None else None,
            )
        )
    # (duty index, started, first action, closed, updates) in minutes after that duty's start.
    items = [(0, 10, 14, 60, 2), (0, 60, 70, 300, 1), (1, 120, 150, 180, 1), (2, 180, None, None, 0)]
    items.append((2, 210, 205, 220, 1))
    for index, start, first, closed, updates in items:
        day = plans[index][1]
        item = DutyLogItem(
            site_id=site.id,
            duty_id=duties[index].id,
            kind=LogKind.other,
            started_at=at(day, start),
            summary="Something",
            status=LogStatus.closed if closed is not None else LogStatus.open,
            first_action_at=at(day, first) if first is not None else None,
            closed_at=at(day, closed) if closed is not None else None,
        )
        db.add(item)
        await db.flush()
        for n in range(updates):
            db.add(DutyLogUpdate(item_id=item.id, at=at(day, (first or start) + n), action="Done", status=item.status))
    await db.commit()
    return week


async def test_duty_kpis_page_and_csv_show_the_hand_computed_week(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    week = await a_week_of_duty(db, site, people)
    elsewhere = await accounts.ensure_site(db, name="Elsewhere", timezone="Asia/Shanghai", country="CN")
    stranger = await people.make(Role.coordinator, site=elsewhere, display_name="Stranger")
    await a_duty(db, elsewhere, stranger, start=local(elsewhere, week.monday, "09:00"))
    await signed_in(client, people, Role.finance)  # finance reads the KPIs

    page = await client.get(f"/admin/reports/duty?week={week}")
    assert page.status_code == 200
    assert "Stranger" not in page.text
    rows = tables_of(page.text)["kpi-table"][1:]
    # Lead, duties, items, median, mean, not acted on, closed in duty %, complete record %, handover on time %.
    assert rows == [
        ["Lena", "2", "4", "4.0", "4.7", "1", "50.0", "50.0", "50.0"],
        ["Mo", "1", "1", "30.0", "30.0", "0", "100.0", "100.0", "0.0"],
        ["All leads", "3", "5", "7.0", "11.0", "1", "60.0", "66.7", "33.3"],
    ]

    lines = csv_of(await client.get(f"/admin/reports/duty.csv?week={week}"))
    header = lines[0]
    shown = ["lead", "duties", "items", "median_first_action_minutes", "mean_first_action_minutes", "unanswered"]
    shown += ["closed_in_duty_percent", "complete_percent", "on_time_percent"]
    assert [[line[header.index(name)] for name in shown] for line in lines[1:]] == rows
    assert {line[0] for line in lines[1:]} == {str(week)}


# Who may read, bad queries, the empty centre -----------------------------------------------------------------

URLS = [
    "/admin/reports/day",
    "/admin/reports/day/print",
    "/admin/reports/day.csv",
    "/admin/reports/duty",
    "/admin/reports/duty.csv",
]


@pytest.mark.parametrize(("role", "status"), [(Role.agent, 403), (Role.coordinator, 200), (Role.finance, 200)])
async def test_staff_and_finance_read_the_reports_and_agents_are_kept_out(
    client: httpx.AsyncClient, people: Factory, role: Role, status: int
) -> None:
    await signed_in(client, people, role)
    assert [(await client.get(url)).status_code for url in URLS] == [status] * len(URLS)


async def test_a_visitor_is_sent_to_sign_in(client: httpx.AsyncClient) -> None:
    response = await client.get("/admin/reports/day")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/reports/day"


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/admin/reports/day?day=2026-13-45", "day"),
        ("/admin/reports/day?day=yesterday", "day"),
        ("/admin/reports/day?day=1900-01-01", "day"),
        ("/admin/reports/day/print?day=12/07/2026", "day"),
        ("/admin/reports/day.csv?day=2026-02-30", "day"),
        ("/admin/reports/day.csv?table=salaries", "table"),
        ("/admin/reports/duty?week=2026-W99", "week"),
        ("/admin/reports/duty.csv?week=last", "week"),
    ],
)
async def test_a_malformed_day_week_or_table_is_refused_naming_it(
    client: httpx.AsyncClient, people: Factory, url: str, field: str
) -> None:
    await signed_in(client, people, Role.coordinator)
    page = await client.get(url)
    assert page.status_code == 422
    answer = await client.get(url, headers={"Accept": "application/json"})
    if answer.headers["content-type"].startswith("application/json"):
        assert answer.json()["field"] == field
    else:  # the page re-renders with the refusal beside its picker
        assert f'id="{field}-error"' in answer.text


async def test_the_empty_centre_says_what_to_do_first(client: httpx.AsyncClient, people: Factory) -> None:
    await signed_in(client, people, Role.coordinator)
    day = await client.get("/admin/reports/day")
    assert day.status_code == 200
    assert 'id="no-data"' in day.text
    assert 'href="/admin/roster"' in day.text
    kpis = await client.get("/admin/reports/duty")
    assert kpis.status_code == 200
    assert 'id="no-data"' in kpis.text
    assert 'href="/admin/duty?week=' in kpis.text
    empty = csv_of(await client.get("/admin/reports/duty.csv"))
    assert empty[1][1:3] == ["All leads", "0"]  # a header and the (empty) total


async def test_a_future_day_has_no_data_yet(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    world = await a_day(db, site, people)
    await signed_in(client, people, Role.coordinator)
    later = world.day + dt.timedelta(days=3)
    page = await client.get(f"/admin/reports/day?day={later.isoformat()}")
    assert page.status_code == 200
    assert 'id="no-data"' in page.text
    rows = csv_of(await client.get(f"/admin/reports/day.csv?day={later.isoformat()}&table=attendance"))
    assert rows[1:] == []


async def test_namesakes_are_told_apart_and_the_chinese_page_shows_no_raw_codes(
    client: httpx.AsyncClient, db: AsyncSession, site: Site, people: Factory
) -> None:
    day = yesterday(site)
    billing = await a_skill(db, site, "billing")
    for email in ("li.wei@example.com", "liwei2@example.com"):
        agent = await an_agent(people, display_name="Li Wei", email=email, skills=[billing])
        await a_held_shift(db, agent, local(site, day, "09:00"), skill=billing, no_show_at=local(site, day, "09:20"))
    coordinator = await people.make(Role.coordinator, locale="zh-Hans")
    assert (await login(client, coordinator.email)).status_code == 303

    page = await client.get(f"/admin/reports/day?day={day.isoformat()}")

    assert page.status_code == 200
    names = sorted(row[0] for row in tables_of(page.text)["attendance"][1:])
    assert names == ["Li Wei (li.wei)", "Li Wei (liwei2)"]
    assert "账单" in page.text  # the skill's Chinese name
    assert ">no_show<" not in page.text
    assert ">Billing<" not in page.text
