"""The requests board, the workload per owner and the expected time, on small worlds worked out by hand.

The board's world lies in the week of Monday 4 March 2030 (site-local, Asia/Shanghai); the services are asked with
``now`` two days after its start, the pages with ``?from=&to=`` naming those days (their figures that run to now
are then zero: the real clock is before 2030). Rows are written straight in (requests, their events): the board
reads what the lifecycle writes, whoever wrote it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.core.i18n import speaking
from backend.requests import board as boards
from backend.requests.models import (
    EventKind,
    Priority,
    Request,
    RequestEvent,
    RequestKind,
    RequestStatus,
    RequestTeam,
)
from backend.requests.stats import expected_label, expected_minutes, median, percentile
from backend.requests.targets import default_target
from tests.conftest import login
from tests.factories import Factory

T = dt.datetime(2030, 3, 4, 0, 0, tzinfo=dt.UTC)  # Monday 4 March 2030, 08:00 in Shanghai
NOW = T + dt.timedelta(hours=48)
SPAN = boards.Span(dt.date(2030, 3, 4), dt.date(2030, 3, 10))
M = dt.timedelta(minutes=1)


def hours(minutes: float) -> float:
    return round(minutes / 60, 1)


async def a_team(db: AsyncSession, site: Site, name: str, name_zh: str = "") -> RequestTeam:
    team = RequestTeam(site_id=site.id, name=name, name_zh=name_zh)
    db.add(team)
    await db.flush()
    return team


async def a_request(
    db: AsyncSession,
    site: Site,
    asker: User,
    *,
    kind: RequestKind,
    created: dt.datetime,
    status: RequestStatus,
    events: list[tuple[dt.timedelta, EventKind, dict[str, Any]]] = (),  # type: ignore[assignment]
    **fields: Any,
) -> Request:
    """A request raised at ``created`` with ``events`` (offset from ``created``, kind, to_team_id/to_user_id)."""
    request = Request(
        site_id=site.id,
        kind=kind,
        asker_id=asker.id,
        title=f"{kind.value} at {created:%H:%M}",
        details="What happened.",
        status=status,
        priority=Priority.normal,
        created_at=created,
        updated_at=created,
        **fields,
    )
    db.add(request)
    await db.flush()
    db.add(RequestEvent(request_id=request.id, at=created, kind=EventKind.raised, values={}))
    for offset, kind_of_event, where in events:
        db.add(RequestEvent(request_id=request.id, at=created + offset, kind=kind_of_event, values={}, **where))
    await db.flush()
    return request


# The board's world --------------------------------------------------------------------------------------------


@pytest.fixture
async def world(db: AsyncSession, site: Site, people: Factory) -> dict[str, Any]:
    """Five requests raised in the span, one before it, and one of another site.

    r1 schedule, A: taken +10 min, answered +30, resolved +120 (schedule_error), confirmed +1 day; rated 5.
    r2 schedule, A with an owner: answered +60 (after its response breach at +45), resolved +240, reopened +300,
       resolved +360 (schedule_error), confirmed +420; rated 3.
    r3 schedule, A: handed to B +5, taken +10 (answered), handed back to A with an owner +100 (two hand-overs,
       bounce flagged), asked the asker +200, replied +260, resolved +600 (rules_unclear); not confirmed.
    r4 pay, B with an owner: answered +90, asked the asker +120; still waiting, resolution breached.
    r5 idea, the site's queue: nobody took it.
    """
    asker = await people.make(Role.agent)
    owner = await people.make(Role.coordinator)
    a = await a_team(db, site, "Scheduling", "排班")
    b = await a_team(db, site, "Finance", "财务")
    to_a, to_b = {"to_team_id": a.id}, {"to_team_id": b.id}
    r1 = T + dt.timedelta(hours=1)
    await a_request(
        db, site, asker, kind=RequestKind.schedule, created=r1, status=RequestStatus.closed, team_id=a.id,
        first_response_at=r1 + 30 * M, resolved_at=r1 + 120 * M, closed_at=r1 + dt.timedelta(days=1),
        root_cause="schedule_error", rating=5,
        events=[(0 * M, EventKind.routed, to_a), (10 * M, EventKind.taken, {}), (30 * M, EventKind.answered, {}),
                (120 * M, EventKind.resolved, {}), (dt.timedelta(days=1), EventKind.confirmed, {})],
    )  # fmt: skip
    r2 = T + dt.timedelta(hours=2)
    await a_request(
        db, site, asker, kind=RequestKind.schedule, created=r2, status=RequestStatus.closed, team_id=a.id,
        owner_id=owner.id, first_response_at=r2 + 60 * M, response_breached_at=r2 + 45 * M,
        resolved_at=r2 + 360 * M, closed_at=r2 + 420 * M, reopen_count=1, root_cause="schedule_error", rating=3,
        events=[(0 * M, EventKind.routed, {**to_a, "to_user_id": owner.id}), (45 * M, EventKind.breached, {}),
                (60 * M, EventKind.answered, {}), (240 * M, EventKind.resolved, {}),
                (300 * M, EventKind.reopened, {}), (360 * M, EventKind.resolved, {}),
                (420 * M, EventKind.confirmed, {})],
    )  # fmt: skip
    r3 = T + dt.timedelta(hours=3)
    await a_request(
        db, site, asker, kind=RequestKind.schedule, created=r3, status=RequestStatus.resolved, team_id=a.id,
        owner_id=owner.id, first_response_at=r3 + 10 * M, resolved_at=r3 + 600 * M, handover_count=2,
        bounce_flagged_at=r3 + 100 * M, root_cause="rules_unclear",
        events=[(0 * M, EventKind.routed, to_a), (5 * M, EventKind.handed_over, {"from_team_id": a.id, **to_b}),
                (10 * M, EventKind.taken, {}), (10 * M, EventKind.answered, {}),
                (100 * M, EventKind.handed_over, {"from_team_id": b.id, **to_a, "to_user_id": owner.id}),
                (100 * M, EventKind.bounce_flagged, {}), (200 * M, EventKind.asked_asker, {}),
                (260 * M, EventKind.asker_replied, {}), (600 * M, EventKind.resolved, {})],
    )  # fmt: skip
    r4 = T + dt.timedelta(hours=4)
    await a_request(
        db, site, asker, kind=RequestKind.pay, created=r4, status=RequestStatus.waiting, team_id=b.id,
        owner_id=owner.id, first_response_at=r4 + 90 * M, resolution_breached_at=r4 + 110 * M, paused_at=r4 + 120 * M,
        events=[(0 * M, EventKind.routed, {**to_b, "to_user_id": owner.id}), (90 * M, EventKind.answered, {}),
                (110 * M, EventKind.breached, {}), (120 * M, EventKind.asked_asker, {})],
    )  # fmt: skip
    await a_request(db, site, asker, kind=RequestKind.idea, created=T + dt.timedelta(hours=5),
                    status=RequestStatus.queued)  # fmt: skip
    before = T - dt.timedelta(days=2)
    await a_request(
        db, site, asker, kind=RequestKind.schedule, created=before, status=RequestStatus.closed, team_id=a.id,
        first_response_at=before + M, resolved_at=before + 2 * M, closed_at=before + 3 * M, root_cause="other",
        rating=1, events=[(0 * M, EventKind.routed, to_a), (2 * M, EventKind.resolved, {})],
    )  # fmt: skip
    elsewhere = await accounts.ensure_site(db, name="Elsewhere", timezone="Asia/Shanghai", country="CN")
    await a_request(db, elsewhere, asker, kind=RequestKind.other, created=T + dt.timedelta(hours=1),
                    status=RequestStatus.queued)  # fmt: skip
    await db.commit()
    return {"a": a, "b": b, "owner": owner}


def test_median_and_nearest_rank_percentile() -> None:
    assert median([]) is None
    assert percentile([], 0.9) is None
    assert median([30, 10, 60]) == 30
    assert median([10, 30, 60, 90]) == 45
    assert percentile([30, 10, 60], 0.9) == 60  # rank ceil(2.7) = 3
    assert percentile(list(range(1, 21)), 0.9) == 18  # rank 18 of 20
    assert percentile([5], 0.9) == 5


async def test_kinds_figures_match_the_hand_count(db: AsyncSession, site: Site, world: dict[str, Any]) -> None:
    data = await boards.board(db, site=site, span=SPAN, now=NOW)
    by_kind = {f.kind: f for f in data.kinds}
    assert list(by_kind) == [RequestKind.schedule, RequestKind.pay, RequestKind.idea]  # in KIND_ORDER, none empty
    schedule = by_kind[RequestKind.schedule]
    assert (schedule.raised, schedule.open, schedule.resolved) == (3, 0, 3)
    assert (schedule.first_answer_median, schedule.first_answer_p90) == (30, 60)
    assert (schedule.resolution_median, schedule.resolution_p90) == (360, 600)
    target = default_target(RequestKind.schedule, Priority.normal)
    assert (schedule.first_answer_target, schedule.resolution_target) == (
        target.first_response_minutes,
        target.resolution_minutes,
    )
    assert (schedule.first_answer_met_percent, schedule.resolution_met_percent) == (66.7, 100.0)
    assert (schedule.response_breaches, schedule.resolution_breaches) == (1, 0)
    assert (schedule.reopened, schedule.reopen_percent) == (1, 33.3)
    assert (schedule.handovers, schedule.handed_over, schedule.bounce_flagged) == (2, 1, 1)
    assert (schedule.rated, schedule.rating_average) == (2, 4.0)
    pay = by_kind[RequestKind.pay]
    assert (pay.raised, pay.open, pay.resolved, pay.first_answer_median, pay.resolution_median) == (1, 1, 0, 90, None)
    assert (pay.first_answer_met_percent, pay.resolution_met_percent, pay.resolution_breaches) == (100.0, None, 1)
    assert pay.reopen_percent is None  # nothing resolved: no rate
    total = data.total
    assert (total.raised, total.open, total.resolved) == (5, 2, 3)
    assert (total.first_answer_median, total.first_answer_p90, total.resolution_median) == (45, 90, 360)
    assert [(row.key, row.count, row.percent) for row in data.causes] == [
        ("schedule_error", 2, 66.7),
        ("rules_unclear", 1, 33.3),
    ]
    assert [(row.rating, row.count, row.percent) for row in data.ratings] == [
        (5, 1, 50.0),
        (4, 0, 0.0),
        (3, 1, 50.0),
        (2, 0, 0.0),
        (1, 0, 0.0),
    ]
    assert (data.rated, data.rating_average) == (2, 4.0)


async def test_time_per_team_and_status_is_replayed_from_the_events(
    db: AsyncSession, site: Site, world: dict[str, Any]
) -> None:
    data = await boards.board(db, site=site, span=SPAN, now=NOW)
    teams = {team.label: team for team in data.teams}
    assert list(teams) == ["Site queue", "Finance", "Scheduling"]  # the site's queue first, then by name
    # Scheduling: queued r1 10 + r3 5; handled r1 110 + r2 240 + 60 + r3 100 + 340; waiting r3 60;
    # resolved r1 1320 (to its confirmation) + r2 60 + 60 + r3 from +600 to now (2100).
    assert teams["Scheduling"].hours == {
        "queued": hours(15),
        "in_progress": hours(850),
        "waiting": hours(60),
        "resolved": hours(3540),
    }
    assert teams["Scheduling"].requests == 3
    # Finance: queued r3 5; handled r3 90 + r4 120; waiting r4 from +120 to now (42 h).
    assert teams["Finance"].hours == {"queued": hours(5), "in_progress": hours(210), "waiting": 42.0, "resolved": 0}
    assert teams["Finance"].requests == 2
    assert teams["Site queue"].hours["queued"] == 43.0  # r5, nobody took it
    assert teams["Site queue"].requests == 1
    assert data.status_hours == {
        "queued": hours(15 + 5 + 43 * 60),
        "in_progress": hours(1060),
        "waiting": hours(60 + 42 * 60),
        "resolved": hours(3540),
    }
    assert data.bottleneck == (boards.SITE_QUEUE, "queued")
    assert data.bottleneck_team == "Site queue"


async def test_board_tables_in_chinese_name_teams_in_chinese(
    db: AsyncSession, site: Site, world: dict[str, Any]
) -> None:
    with speaking("zh-Hans"):
        data = await boards.board(db, site=site, span=SPAN, now=NOW)
    assert {team.label for team in data.teams} >= {"排班", "财务"}


# The workload -----------------------------------------------------------------------------------------------


async def test_workload_per_owner_counts_open_breached_and_time_over_target(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    asker = await people.make(Role.agent)
    busy = await people.make(Role.coordinator, display_name="Busy Bee")
    calm = await people.make(Role.finance, display_name="Calm Cat")
    team = await a_team(db, site, "Scheduling")
    now = T
    common = {"kind": RequestKind.schedule, "team_id": team.id}
    # Busy: unanswered, response due an hour ago (breached), resolution due later: 60 min over.
    await a_request(db, site, asker, **common, created=now - dt.timedelta(hours=3), status=RequestStatus.in_progress,
                    owner_id=busy.id, response_due_at=now - 60 * M, response_breached_at=now - 60 * M,
                    resolution_due_at=now + 300 * M)  # fmt: skip
    # Busy: waiting for the asker (paused: no due instants), never over.
    await a_request(db, site, asker, **common, created=now - dt.timedelta(hours=2), status=RequestStatus.waiting,
                    owner_id=busy.id, first_response_at=now - 100 * M, paused_at=now - 50 * M)  # fmt: skip
    # Busy: answered, resolution due 30 minutes ago and breached: 30 min over.
    await a_request(db, site, asker, **common, created=now - dt.timedelta(hours=1), status=RequestStatus.in_progress,
                    owner_id=busy.id, first_response_at=now - 50 * M, response_due_at=now - 20 * M,
                    resolution_due_at=now - 30 * M, resolution_breached_at=now - 30 * M)  # fmt: skip
    # Calm: one in hand, nothing due yet; one closed (not counted).
    await a_request(db, site, asker, **common, created=now - 30 * M, status=RequestStatus.in_progress,
                    owner_id=calm.id, response_due_at=now + 30 * M, resolution_due_at=now + 600 * M)  # fmt: skip
    await a_request(db, site, asker, **common, created=now - 30 * M, status=RequestStatus.closed, owner_id=calm.id,
                    closed_at=now - M)  # fmt: skip
    # In the team's queue, held by nobody; and one in the site's queue.
    await a_request(db, site, asker, **common, created=now - 45 * M, status=RequestStatus.queued,
                    response_due_at=now - 15 * M, response_breached_at=now - 15 * M)  # fmt: skip
    await a_request(db, site, asker, kind=RequestKind.idea, created=now - 10 * M, status=RequestStatus.queued)
    await db.commit()

    data = await boards.workload(db, site=site, now=now)
    assert [(o.name, o.open, o.waiting, o.breached, o.over_target, o.over_target_minutes, o.oldest_minutes)
            for o in data.owners] == [("Busy Bee", 3, 1, 2, 2, 90, 180), ("Calm Cat", 1, 0, 0, 0, 0, 30)]  # fmt: skip
    assert [(q.label, q.open, q.breached, q.oldest_minutes) for q in data.queues] == [
        ("Scheduling", 1, 1, 45),
        ("Site queue", 1, 0, 10),
    ]
    header, rows = boards.workload_csv("owners", data)
    assert header[:3] == ["owner_id", "owner", "open"]
    assert rows[0][1:] == ["Busy Bee", 3, 1, 2, 2, 90, 180]


# Expected time ----------------------------------------------------------------------------------------------


async def test_expected_minutes_is_the_median_of_the_last_90_days_of_kind_and_team(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    asker = await people.make(Role.agent)
    team, other = await a_team(db, site, "Scheduling"), await a_team(db, site, "Systems")
    now = T

    async def resolved(minutes: int, *, ago_days: float = 1, team_id: int | None = team.id,
                       kind: RequestKind = RequestKind.schedule) -> None:  # fmt: skip
        created = now - dt.timedelta(days=ago_days)
        await a_request(db, site, asker, kind=kind, created=created, status=RequestStatus.closed, team_id=team_id,
                        resolved_at=created + minutes * M, closed_at=created + minutes * M)  # fmt: skip

    for minutes in (60, 120, 180, 240):
        await resolved(minutes)
    await resolved(10, ago_days=95)  # resolved before the 90 days: left out
    await resolved(10, team_id=other.id)  # another team
    await resolved(10, kind=RequestKind.pay)  # another kind
    await a_request(db, site, asker, kind=RequestKind.schedule, created=now - M, status=RequestStatus.queued,
                    team_id=team.id)  # fmt: skip
    await db.flush()
    ask = {"site_id": site.id, "kind": RequestKind.schedule, "team_id": team.id, "now": now}
    assert await expected_minutes(db, **ask) is None  # four: too few
    await resolved(600)
    assert await expected_minutes(db, **ask) == 180  # 60, 120, 180, 240, 600
    await resolved(300)
    assert await expected_minutes(db, **ask) == 210  # the mean of the middle two
    assert await expected_minutes(db, **{**ask, "team_id": None}) is None  # the site's queue has none


def test_expected_label_rounds_as_people_say_it() -> None:
    assert expected_label(None) == ""
    assert expected_label(3) == "Requests like this usually take about 3 minutes."
    assert expected_label(42) == "Requests like this usually take about 40 minutes."
    assert expected_label(60) == "Requests like this usually take about 1 hour."
    assert expected_label(210) == "Requests like this usually take about 4 hours."
    assert expected_label(3 * 24 * 60 + 100) == "Requests like this usually take about 3 days."


# The pages --------------------------------------------------------------------------------------------------


def csv_of(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


async def signed_in(client: httpx.AsyncClient, people: Factory, role: Role) -> User:
    user = await people.make(role)
    assert (await login(client, user.email)).status_code == 303
    return user


QUERY = "from=2030-03-04&to=2030-03-10"


async def test_finance_reads_the_board_and_its_csv(
    client: httpx.AsyncClient, people: Factory, world: dict[str, Any]
) -> None:
    await signed_in(client, people, Role.finance)
    page = await client.get(f"/admin/requests/board?{QUERY}")
    assert page.status_code == 200, page.text
    assert 'id="kinds-table"' in page.text
    assert "<svg" in page.text
    kinds = {row["kind"]: row for row in csv_of(await client.get(f"/admin/requests/board.csv?{QUERY}&table=kinds"))}
    assert list(kinds) == ["schedule", "pay", "idea", ""]
    schedule = kinds["schedule"]
    assert (schedule["from"], schedule["to"], schedule["raised"], schedule["resolved"]) == (
        "2030-03-04",
        "2030-03-10",
        "3",
        "3",
    )
    assert (schedule["first_answer_median_minutes"], schedule["resolution_p90_minutes"]) == ("30.0", "600.0")
    assert (schedule["reopen_percent"], schedule["handovers"], schedule["rating_average"]) == ("33.3", "2", "4.0")
    assert kinds[""]["raised"] == "5"
    same = csv_of(await client.get(f"/admin/requests/board?{QUERY}&table=kinds&format=csv"))
    assert [row["kind"] for row in same] == ["schedule", "pay", "idea", ""]
    causes = csv_of(await client.get(f"/admin/requests/board.csv?{QUERY}&table=causes"))
    assert [(row["root_cause"], row["requests"]) for row in causes] == [("schedule_error", "2"), ("rules_unclear", "1")]
    ratings = csv_of(await client.get(f"/admin/requests/board.csv?{QUERY}&table=ratings"))
    assert [(row["rating"], row["requests"]) for row in ratings] == [("5", "1"), ("4", "0"), ("3", "1"), ("2", "0"),
                                                                     ("1", "0")]  # fmt: skip
    teams = await client.get(f"/admin/requests/board.csv?{QUERY}&table=teams")
    header = teams.content.decode("utf-8-sig").splitlines()[0].split(",")
    assert header == ["from", "to", "team", "queued_hours", "in_progress_hours", "waiting_hours", "resolved_hours",
                      "total_hours", "requests"]  # fmt: skip


async def test_coordinator_reads_the_workload_and_its_csv(
    client: httpx.AsyncClient, people: Factory, world: dict[str, Any]
) -> None:
    await signed_in(client, people, Role.coordinator)
    page = await client.get("/admin/requests/workload")
    assert page.status_code == 200, page.text
    assert 'id="owners-table"' in page.text
    assert 'id="queues-table"' in page.text
    owners = csv_of(await client.get("/admin/requests/workload.csv?table=owners"))
    assert [(row["owner"], row["open"], row["waiting"]) for row in owners] == [(world["owner"].display_name, "1", "1")]
    queues = csv_of(await client.get("/admin/requests/workload?table=queues&format=csv"))
    assert [(row["team"], row["open"]) for row in queues] == [("Site queue", "1")]


async def test_the_board_in_chinese(client: httpx.AsyncClient, people: Factory, world: dict[str, Any]) -> None:
    user = await people.make(Role.coordinator, locale="zh-Hans")
    assert (await login(client, user.email)).status_code == 303
    for path in (f"/admin/requests/board?{QUERY}", "/admin/requests/workload"):
        page = await client.get(path)
        assert page.status_code == 200, page.text
        assert 'lang="zh' in page.text


@pytest.mark.parametrize("path", ["/admin/requests/board", "/admin/requests/board.csv", "/admin/requests/workload",
                                  "/admin/requests/workload.csv"])  # fmt: skip
async def test_agents_may_not_read_the_board(client: httpx.AsyncClient, people: Factory, path: str) -> None:
    await signed_in(client, people, Role.agent)
    assert (await client.get(path)).status_code == 403


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2030-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2030-03-10&to=2030-03-04", "to"),
        ("from=2028-01-01&to=2030-01-01", "from"),
        ("from=1999-12-31", "from"),
        ("table=nope&format=csv", "table"),
        ("format=xlsx", "format"),
    ],
)
async def test_a_bad_query_is_refused_naming_the_field(
    client: httpx.AsyncClient, people: Factory, query: str, field: str
) -> None:
    await signed_in(client, people, Role.coordinator)
    answer = await client.get(f"/admin/requests/board?{query}", headers={"Accept": "application/json"})
    assert answer.status_code == 422, answer.text
    assert f'id="{field}-error"' in answer.text if field in ("from", "to") else answer.json()["field"] == field
    if "table" not in query and "format" not in query:
        csv_answer = await client.get(f"/admin/requests/board.csv?{query}", headers={"Accept": "application/json"})
        assert csv_answer.status_code == 422
        assert field in csv_answer.text


async def test_the_pages_never_write(
    client: httpx.AsyncClient, db: AsyncSession, people: Factory, world: dict[str, Any]
) -> None:
    await signed_in(client, people, Role.coordinator)
    before = await db.scalar(select(func.count()).select_from(RequestEvent))
    for path in (f"/admin/requests/board?{QUERY}", "/admin/requests/workload", f"/admin/requests/board.csv?{QUERY}"):
        assert (await client.get(path)).status_code == 200
    assert await db.scalar(select(func.count()).select_from(RequestEvent)) == before


async def test_an_empty_site_shows_no_data(client: httpx.AsyncClient, people: Factory) -> None:
    await signed_in(client, people, Role.coordinator)
    page = await client.get("/admin/requests/board")
    assert page.status_code == 200
    assert 'id="no-data"' in page.text
    workload = await client.get("/admin/requests/workload")
    assert workload.status_code == 200
    assert 'id="no-owners"' in workload.text
