"""The requests bench: the queues, the board and the clock worker on a site with 50,000 requests over a year.

On PostgreSQL (``WEFT_BENCH_DATABASE_URL``, or a fresh database dropped at the end) the bench builds one site in
Asia/Shanghai with 2,000 agents asking, four teams (scheduling, finance, systems, training: two members each, a
coordinator as lead) with routing rules (ideas and "something else" go to the site's queue), and ``--requests``
requests (default 50,000) raised evenly over the last ``--days`` days (default 365), each with its history:

- the last 45 days hold the open ones (about 2,000: queued, handled, waiting for the asker), with their due
  instants, breaches and clock timers;
- the rest were answered (a median of about an hour), resolved (about eight hours; some over their targets,
  breached), confirmed or closed by themselves, or still waiting for the asker to confirm; some handed over (a few
  bounced), reopened, rated; each with a root cause;
- events: raised, routed, taken, answered, handed over, asked the asker and replied, resolved, reopened, confirmed
  or closed by itself, rated (about seven a request).

Rows go in by COPY. Then each page is fetched through the real ASGI app (httpx, in process, no network) signed in
as a coordinator: one warm-up, then ``--runs`` timed requests (default 20) for each page, reporting the median and
p95 and the SQL each sent; the queue service (``queues.queue``) is timed the same way, called directly.

The clock worker: ``--timer-rounds`` rounds (default 5), each of which first gives 1,000 open or resolved requests a
due timer (warnings, breaches, escalations and auto-closes, their breach instants reset so each round does the same
work) and then runs ``timers.fire_due_timers`` as the worker does (one transaction a call, 500 timers a call)
until none is due; the time is that of the calls and their commits. Firing plans new timers, some due at once (an
escalation at 1.5 times a target already long past), which fire in the same round: a round reports the 1,000 armed,
how many fired in all, and the SQL statements a fired timer cost.

    python -m tests.bench.requests [--requests 50000] [--days 365] [--runs 20] [--timer-rounds 5] [--keep]
                                   [--timers-only]

Goals (issue 19): the queue pages and the board under 300 ms at the median; 1,000 due timers fired under 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import random
import statistics
import tempfile
import time
from collections import defaultdict
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import httpx
from sqlalchemy import func, select, text, update

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, User
from backend.app import create_app
from backend.core.db import Database, utcnow
from backend.core.migrate import migrate
from backend.core.settings import load_settings
from backend.requests import queues, timers
from backend.requests.models import (
    EventKind,
    Priority,
    Request,
    RequestKind,
    RequestStatus,
    RequestTimer,
    TimerKind,
)
from tests.bench.settlement import asyncpg_dsn
from tests.conftest import drop_postgres_database, fresh_postgres_database
from tests.sqlcount import count_queries

SITE_NAME = "Bench Requests"
TIMEZONE = "Asia/Shanghai"
PASSWORD = "bench requests password"
COORDINATOR = "coordinator@bench-requests.example.com"
AGENTS = 2_000
TEAMS = (("Scheduling", "排班"), ("Finance", "财务"), ("Systems", "系统"), ("Training", "培训"))
ROUTED = {RequestKind.schedule: 0, RequestKind.pay: 1, RequestKind.system: 2, RequestKind.learning: 3}
KIND_WEIGHTS = (
    (RequestKind.schedule, 35),
    (RequestKind.pay, 25),
    (RequestKind.system, 15),
    (RequestKind.learning, 10),
    (RequestKind.idea, 8),
    (RequestKind.other, 7),
)
ROOT_CAUSES = ("rules_unclear", "schedule_error", "pay_error", "system_fault", "training_gap", "communication",
               "no_fault", "other")  # fmt: skip
OPEN_DAYS = 45  # requests raised in the last 45 days may still be open (more so the newer)
RESPONSE_HOURS, RESOLUTION_HOURS = 4, 72  # the breach instants the seed writes (the targets' order of size)
TIMERS = 1_000
TIMER_KINDS = (
    TimerKind.response_warn,
    TimerKind.resolution_warn,
    TimerKind.response_breach,
    TimerKind.resolution_breach,
    TimerKind.escalate,
)
GOAL_MEDIAN_MS, GOAL_TIMER_SECONDS = 300.0, 5.0
COPY_CHUNK = 100_000


class World:
    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)
        self.seconds = 0.0


def pages(team_ids: list[int], today: dt.date) -> list[tuple[str, str]]:
    week_ago = today - dt.timedelta(days=6)
    year_ago = today - dt.timedelta(days=364)
    return [
        ("Queue: mine", "/admin/requests"),
        ("Queue: site", "/admin/requests?view=site"),
        ("Queue: a team", f"/admin/requests?view=team:{team_ids[0]}"),
        ("Queue: a team, page 3", f"/admin/requests?view=team:{team_ids[0]}&page=2"),
        ("Queue: bounce flagged", "/admin/requests?view=flagged"),
        ("Board (30 days)", "/admin/requests/board"),
        ("Board (7 days)", f"/admin/requests/board?from={week_ago}&to={today}"),
        ("Board (a year)", f"/admin/requests/board?from={year_ago}&to={today}"),
        ("Board CSV (kinds, 30 days)", "/admin/requests/board.csv?table=kinds"),
        ("Board CSV (teams, 30 days)", "/admin/requests/board.csv?table=teams"),
        ("Workload", "/admin/requests/workload"),
        ("Workload CSV", "/admin/requests/workload.csv"),
    ]


# ---------------------------------------------------------------------------------------------- the site


async def copy_rows(url: str, table: str, columns: list[str], rows: list[tuple[Any, ...]], world: World) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for start in range(0, len(rows), COPY_CHUNK):
            await connection.copy_records_to_table(table, records=rows[start : start + COPY_CHUNK], columns=columns)
        if "id" in columns:
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
            )
    finally:
        await connection.close()
    world.counts[table] += len(rows)


def minutes(n: float) -> dt.timedelta:
    return dt.timedelta(minutes=n)


class Seeder:
    """Makes one request's row, events and timers (see the module's docstring)."""

    def __init__(self, rng: random.Random, now: dt.datetime, teams: list[int], members: dict[int, list[int]],
                 agents: list[int], coordinators: list[int]) -> None:  # fmt: skip
        self.rng, self.now, self.teams, self.members = rng, now, teams, members
        self.agents, self.coordinators = agents, coordinators
        self.requests: list[tuple[Any, ...]] = []
        self.events: list[tuple[Any, ...]] = []
        self.timers: list[tuple[Any, ...]] = []

    def event(self, rid: int, at: dt.datetime, kind: EventKind, actor: int | None = None, **where: int | None) -> None:
        self.events.append(
            (
                rid,
                at,
                actor,
                kind.value,
                "",
                False,
                where.get("from_team"),
                where.get("to_team"),
                where.get("to_user"),
                "{}",
            )
        )

    def one(self, rid: int, site_id: int, created: dt.datetime) -> None:
        rng, now = self.rng, self.now
        kind = rng.choices([k for k, _w in KIND_WEIGHTS], [w for _k, w in KIND_WEIGHTS])[0]
        team_index = ROUTED.get(kind)
        team = None if team_index is None else self.teams[team_index]
        people = self.members[team] if team is not None else self.coordinators
        asker = rng.choice(self.agents)
        age_days = (now - created).total_seconds() / 86400
        is_open = age_days < OPEN_DAYS and rng.random() < 0.7 * (1 - age_days / OPEN_DAYS)
        row: dict[str, Any] = {
            "status": RequestStatus.closed, "owner": None, "first": None, "response_due": None,
            "resolution_due": None, "response_breached": None, "resolution_breached": None, "paused": None,
            "resolved": None, "closed": None, "handovers": 0, "bounce": None, "reopens": 0, "cause": "",
            "rating": None, "escalation": 0,
        }  # fmt: skip
        self.event(rid, created, EventKind.raised, asker)
        if team is not None:
            self.event(rid, created, EventKind.routed, to_team=team)
        if is_open:
            self._open(rid, created, team, people, row)
        else:
            self._done(rid, created, team, people, asker, row)
        self.requests.append(
            (
                rid, site_id, kind.value, asker, f"Bench {kind.value} {rid}", "What happened, when, what I expect.",
                team, row["owner"], row["status"].value, Priority.normal.value, created, created, row["first"],
                row["response_due"], row["resolution_due"], row["response_breached"], row["resolution_breached"],
                row["escalation"], row["paused"], row["resolved"], row["closed"], row["handovers"], row["bounce"],
                row["reopens"], row["cause"], "", row["rating"], "", 0, "", "",
            )
        )  # fmt: skip

    def _open(self, rid: int, created: dt.datetime, team: int | None, people: list[int], row: dict[str, Any]) -> None:
        rng, now = self.rng, self.now
        row["response_due"] = created + dt.timedelta(hours=RESPONSE_HOURS)
        row["resolution_due"] = created + dt.timedelta(hours=RESOLUTION_HOURS)
        roll = rng.random()
        if roll < 0.35:
            row["status"] = RequestStatus.queued
        else:
            row["owner"] = rng.choice(people)
            taken = min(now, created + minutes(rng.uniform(2, 120)))
            self.event(rid, taken, EventKind.taken, row["owner"])
            if rng.random() < 0.7:
                row["first"] = min(now, taken + minutes(rng.uniform(1, 90)))
                self.event(rid, row["first"], EventKind.answered, row["owner"])
                row["response_due"] = None
            row["status"] = RequestStatus.in_progress
            if roll > 0.85:
                row["status"] = RequestStatus.waiting
                row["paused"] = min(now, (row["first"] or taken) + minutes(5))
                self.event(rid, row["paused"], EventKind.asked_asker, row["owner"])
                row["response_due"] = row["resolution_due"] = None
        for due, breached in (("response_due", "response_breached"), ("resolution_due", "resolution_breached")):
            if row[due] is not None and row[due] <= now:
                row[breached] = row[due]
        if row["response_due"] is not None and row["response_due"] > now:
            self.timers.append((rid, TimerKind.response_breach.value, row["response_due"]))
        if row["resolution_due"] is not None and row["resolution_due"] > now:
            self.timers.append((rid, TimerKind.resolution_breach.value, row["resolution_due"]))

    def _done(self, rid: int, created: dt.datetime, team: int | None, people: list[int], asker: int,
              row: dict[str, Any]) -> None:  # fmt: skip
        rng, now = self.rng, self.now
        owner = row["owner"] = rng.choice(people)
        taken = created + minutes(rng.uniform(1, 60))
        self.event(rid, taken, EventKind.taken, owner)
        row["first"] = taken + minutes(rng.lognormvariate(3.5, 1.0))
        self.event(rid, row["first"], EventKind.answered, owner)
        resolved = row["first"] + minutes(rng.lognormvariate(5.5, 1.2))
        holder = team
        if rng.random() < 0.12:
            row["handovers"] = rng.choice((1, 1, 1, 2, 3, 4))
            step = (resolved - row["first"]) / (row["handovers"] + 1)
            for n in range(row["handovers"]):
                to_team = self.teams[(self.teams.index(holder) + 1) % len(self.teams)] if holder else self.teams[0]
                if n % 2 and team is not None:
                    to_team = team
                self.event(rid, row["first"] + step * (n + 1), EventKind.handed_over, owner, from_team=holder,
                           to_team=to_team)  # fmt: skip
                holder = to_team
            if row["handovers"] > 3:
                row["bounce"] = resolved - step
        if rng.random() < 0.15:
            asked = row["first"] + (resolved - row["first"]) / 3
            self.event(rid, asked, EventKind.asked_asker, owner)
            self.event(rid, asked + (resolved - asked) / 2, EventKind.asker_replied, asker)
        if row["first"] - created > dt.timedelta(hours=RESPONSE_HOURS):
            row["response_breached"] = created + dt.timedelta(hours=RESPONSE_HOURS)
        if resolved - created > dt.timedelta(hours=RESOLUTION_HOURS):
            row["resolution_breached"] = created + dt.timedelta(hours=RESOLUTION_HOURS)
        if rng.random() < 0.05:
            self.event(rid, resolved, EventKind.resolved, owner)
            reopened = resolved + minutes(rng.uniform(60, 2000))
            self.event(rid, reopened, EventKind.reopened, asker)
            resolved = reopened + minutes(rng.lognormvariate(4.5, 1.0))
            row["reopens"] = 1
        if resolved >= now:
            resolved = now - minutes(1)
        row["resolved"] = resolved
        row["cause"] = rng.choice(ROOT_CAUSES)
        self.event(rid, resolved, EventKind.resolved, owner)
        closing = resolved + dt.timedelta(days=rng.choice((0.2, 1, 2, 5)))
        if closing > now:
            row["status"] = RequestStatus.resolved
            self.timers.append((rid, TimerKind.auto_close.value, resolved + dt.timedelta(days=5)))
        else:
            row["closed"] = closing
            row["status"] = RequestStatus.closed
            self.event(rid, closing, EventKind.confirmed if closing - resolved < dt.timedelta(days=5)
                       else EventKind.auto_closed, None)  # fmt: skip
            if rng.random() < 0.4:
                row["rating"] = rng.choices((1, 2, 3, 4, 5), (5, 5, 15, 35, 40))[0]
                self.event(rid, closing, EventKind.rated, asker)


REQUEST_COLUMNS = [
    "id", "site_id", "kind", "asker_id", "title", "details", "team_id", "owner_id", "status", "priority",
    "created_at", "updated_at", "first_response_at", "response_due_at", "resolution_due_at", "response_breached_at",
    "resolution_breached_at", "escalation_level", "paused_at", "resolved_at", "closed_at", "handover_count",
    "bounce_flagged_at", "reopen_count", "root_cause", "resolution", "rating", "rating_comment", "me_too_count",
    "outcome_note", "expected",
]  # fmt: skip
EVENT_COLUMNS = ["request_id", "at", "actor_id", "kind", "body", "internal", "from_team_id", "to_team_id",
                 "to_user_id", "values"]  # fmt: skip


async def seed(url: str, *, requests: int, days: int, seed_value: int = 19) -> World:
    began = time.perf_counter()
    world = World()
    rng = random.Random(seed_value)
    now = utcnow()
    database = Database.from_url(url)
    try:
        async with database.session(write=True) as session:
            site = await accounts.ensure_site(session, name=SITE_NAME, timezone=TIMEZONE, country="CN")
            staff = [
                await accounts.create_user(
                    session,
                    site=site,
                    email=COORDINATOR if n == 0 else f"staff{n}@bench-requests.example.com",
                    display_name=f"Staff {n}",
                    role=Role.coordinator if n < 4 else Role.finance,
                    password=PASSWORD if n == 0 else None,
                )
                for n in range(12)
            ]
            site_id = site.id
            staff_ids = [user.id for user in staff]
        connection = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await connection.copy_records_to_table(
                "users",
                records=[
                    (
                        site_id,
                        f"agent{n:05d}@bench-requests.example.com",
                        f"Agent {n}",
                        "agent",
                        "junior",
                        TIMEZONE,
                        "en",
                        "active",
                        now,
                    )
                    for n in range(AGENTS)
                ],
                columns=[
                    "site_id",
                    "email",
                    "display_name",
                    "role",
                    "tier",
                    "timezone",
                    "locale",
                    "status",
                    "created_at",
                ],
            )
            found = await connection.fetch("SELECT id FROM users WHERE site_id = $1 AND role = 'agent'", site_id)
            agents = [record["id"] for record in found]
            teams = []
            for index, (name, name_zh) in enumerate(TEAMS):
                team_id = await connection.fetchval(
                    "INSERT INTO request_teams (site_id, name, name_zh, calendar, lead_id, created_at) "
                    "VALUES ($1, $2, $3, 'business', $4, $5) RETURNING id",
                    site_id, name, name_zh, staff_ids[index % 4], now,
                )  # fmt: skip
                teams.append(team_id)
            members = {team: [staff_ids[4 + 2 * index], staff_ids[5 + 2 * index]] for index, team in enumerate(teams)}
            members[teams[0]].append(staff_ids[0])  # the signed-in coordinator holds scheduling requests too
            await connection.executemany(
                "INSERT INTO request_team_members (team_id, user_id) VALUES ($1, $2)",
                [(team, user) for team, users in members.items() for user in users],
            )
            await connection.executemany(
                "INSERT INTO request_routing_rules (site_id, kind, team_id) VALUES ($1, $2, $3)",
                [(site_id, kind.value, teams[index]) for kind, index in ROUTED.items()],
            )
            first_id = (await connection.fetchval("SELECT coalesce(max(id), 0) FROM requests")) + 1
        finally:
            await connection.close()
        world.counts["users"] += AGENTS + len(staff_ids)
        seeder = Seeder(rng, now, teams, members, agents, staff_ids[:4])
        span = dt.timedelta(days=days)
        instants = sorted(now - span * rng.random() for _ in range(requests))
        for offset, created in enumerate(instants):
            seeder.one(first_id + offset, site_id, created)
        await copy_rows(url, "requests", REQUEST_COLUMNS, seeder.requests, world)
        await copy_rows(url, "request_events", EVENT_COLUMNS, seeder.events, world)
        await copy_rows(url, "request_timers", ["request_id", "kind", "due_at"], seeder.timers, world)
        connection = await asyncpg.connect(asyncpg_dsn(url))
        try:
            await connection.execute("ANALYZE")
        finally:
            await connection.close()
    finally:
        await database.dispose()
    world.seconds = time.perf_counter() - began
    return world


async def seeded(url: str) -> bool:
    database = Database.from_url(url)
    try:
        async with database.session() as session:
            return bool(await session.scalar(select(func.count()).select_from(Site).where(Site.name == SITE_NAME)))
    finally:
        await database.dispose()


# ---------------------------------------------------------------------------------------------- the timing


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def timing_row(label: str, path: str, samples: list[float], counted: Any, size: int) -> dict[str, Any]:
    slowest_ms, slowest_sql = counted.slowest()
    return {
        "label": label,
        "path": path,
        "median": statistics.median(samples),
        "p95": percentile(samples, 0.95),
        "queries": counted.count,
        "sql_ms": sum(counted.seconds) * 1000,
        "slowest_ms": slowest_ms,
        "slowest_sql": " ".join(slowest_sql.split())[:160],
        "kb": size / 1024,
    }


async def measure_pages(url: str, *, runs: int) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            {"WEFT_DATABASE_URL": url, "WEFT_SECRET_KEY": "bench-" + "k" * 40, "WEFT_DATA_DIR": tmp}
        )
        database = Database.from_url(url)
        app = create_app(settings, database=database)
        rows: list[dict[str, Any]] = []
        async with database.session() as session:
            site = await session.scalar(select(Site).where(Site.name == SITE_NAME))
            assert site is not None
            team_ids = list(
                await session.scalars(
                    text("SELECT id FROM request_teams WHERE site_id = :s ORDER BY id"), {"s": site.id}
                )
            )
            coordinator = await session.scalar(select(User).where(User.email == COORDINATOR))
            assert coordinator is not None
        today = utcnow().astimezone(ZoneInfo(TIMEZONE)).date()
        transport = httpx.ASGITransport(app=app, client=("127.0.0.3", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
            await client.get("/login")
            csrf = client.cookies.get("weft_csrf") or ""
            signed = await client.post("/login", data={"email": COORDINATOR, "password": PASSWORD, "_csrf_token": csrf})
            assert signed.status_code == 303, signed.text
            for label, path in pages(team_ids, today):
                first = await client.get(path)
                if first.status_code != 200:
                    rows.append({"label": label, "path": path, "skipped": f"answered {first.status_code}"})
                    continue
                with count_queries(database.bind) as counted:
                    await client.get(path)
                samples = []
                for _ in range(runs):
                    began = time.perf_counter()
                    response = await client.get(path)
                    samples.append((time.perf_counter() - began) * 1000)
                    assert response.status_code == 200, (path, response.status_code)
                row = timing_row(label, path, samples, counted, len(first.content))
                print(f"  {label}: median {row['median']:.0f} ms, {row['queries']} queries", flush=True)
                rows.append(row)
        for label, call in (
            ("queues.queue(mine)", {"mine": True}),
            ("queues.queue(site)", {}),
            ("queues.queue(team)", {"team_id": team_ids[0]}),
        ):
            samples = []
            for n in range(runs + 1):
                async with database.session() as session:
                    staff = await session.get(User, coordinator.id)
                    began = time.perf_counter()
                    if n == 1:
                        with count_queries(database.bind) as counted:
                            await queues.queue(session, staff=staff, **call)
                    else:
                        await queues.queue(session, staff=staff, **call)
                    if n:
                        samples.append((time.perf_counter() - began) * 1000)
            row = timing_row(label, "(service)", samples, counted, 0)
            print(f"  {label}: median {row['median']:.0f} ms", flush=True)
            rows.append(row)
        await database.dispose()
    return rows


async def arm_timers(database: Database, *, count: int, now: dt.datetime, rng: random.Random) -> None:
    """Give ``count`` requests a due timer each: warnings and breaches on open ones (their breaches and escalations
    reset), auto-closes on resolved ones (set back to resolved); every one due a minute ago."""
    async with database.session(write=True) as session:
        site_id = await session.scalar(select(Site.id).where(Site.name == SITE_NAME))
        open_ids = list(
            await session.scalars(
                select(Request.id)
                .where(
                    Request.site_id == site_id, Request.status.in_((RequestStatus.queued, RequestStatus.in_progress))
                )
                .order_by(Request.id.desc())
                .limit(count)
            )
        )
        closing = count // 10
        resolved_ids = list(
            await session.scalars(
                select(Request.id)
                .where(Request.site_id == site_id, Request.resolved_at.is_not(None), Request.reopen_count == 0)
                .order_by(Request.resolved_at.desc())
                .limit(closing)
            )
        )
        open_ids = open_ids[: count - len(resolved_ids)]
        await session.execute(
            RequestTimer.__table__.delete().where(RequestTimer.request_id.in_(open_ids + resolved_ids))
        )
        await session.execute(
            update(Request)
            .where(Request.id.in_(open_ids))
            .values(
                response_breached_at=None,
                resolution_breached_at=None,
                escalation_level=0,
                response_due_at=now - minutes(1),
                resolution_due_at=now + dt.timedelta(hours=8),
            )
        )
        await session.execute(
            update(Request).where(Request.id.in_(resolved_ids)).values(status=RequestStatus.resolved, closed_at=None)
        )
        due = now - minutes(1)
        rows = [{"request_id": rid, "kind": rng.choice(TIMER_KINDS), "due_at": due} for rid in open_ids]
        rows += [{"request_id": rid, "kind": TimerKind.auto_close, "due_at": due} for rid in resolved_ids]
        await session.execute(RequestTimer.__table__.insert(), rows)


async def measure_timers(url: str, *, rounds: int) -> list[dict[str, Any]]:
    database = Database.from_url(url)
    rng = random.Random(7)
    results = []
    try:
        for round_number in range(1, rounds + 1):
            now = utcnow()
            await arm_timers(database, count=TIMERS, now=now, rng=rng)
            fired, calls = 0, 0
            with count_queries(database.bind) as counted:
                began = time.perf_counter()
                while True:
                    async with database.session(write=True) as session:
                        done = await timers.fire_due_timers(session, now=now)
                    calls += 1
                    fired += done
                    if not done:
                        break
                seconds = time.perf_counter() - began
            print(
                f"  timers round {round_number}: {TIMERS} armed, {fired} fired (the rest planned by firing and due at"
                f" once) in {seconds:.2f} s ({calls} calls, {counted.count} statements,"
                f" {counted.count / max(fired, 1):.2f} a fired timer)",
                flush=True,
            )
            results.append({"fired": fired, "seconds": seconds, "calls": calls, "statements": counted.count})
    finally:
        await database.dispose()
    return results


def report(rows: list[dict[str, Any]], timer_rounds: list[dict[str, Any]], world: World | None, runs: int) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"\n# Requests bench, {dt.date.today()}, PostgreSQL, {machine}")
    if world is not None:
        made = ", ".join(f"{count:,} {table}" for table, count in sorted(world.counts.items()))
        print(f"seeded in {world.seconds:.0f} s: {made}")
    print(f"{runs} timed requests per page after one warm-up; goal: median < {GOAL_MEDIAN_MS:.0f} ms\n")
    print("| page | median ms | p95 ms | queries | SQL ms | slowest query ms | KB | goal |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        if "skipped" in row:
            print(f"| {row['label']} `{row['path']}` | - | - | - | - | - | - | skipped ({row['skipped']}) |")
            continue
        met = "met" if row["median"] < GOAL_MEDIAN_MS else "MISSED"
        print(
            f"| {row['label']} `{row['path']}` | {row['median']:.0f} | {row['p95']:.0f} | {row['queries']} | "
            f"{row['sql_ms']:.0f} | {row['slowest_ms']:.0f} | {row['kb']:.0f} | {met} |"
        )
    if timer_rounds:
        seconds = [r["seconds"] for r in timer_rounds]
        median_s = statistics.median(seconds)
        fired = ", ".join(str(r["fired"]) for r in timer_rounds)
        met = "met" if median_s < GOAL_TIMER_SECONDS else "MISSED"
        spread = f"rounds {min(seconds):.2f}-{max(seconds):.2f} s"
        per_timer = statistics.median(r["statements"] / max(r["fired"], 1) for r in timer_rounds)
        print(
            f"\nClock worker: {TIMERS:,} due timers armed a round, fired ({fired}: escalations planned by a breach and"
            f" due at once fire in the same round) in a median of {median_s:.2f} s"
        )
        print(f"({spread}; {per_timer:.2f} statements a fired timer); goal < {GOAL_TIMER_SECONDS:.0f} s: {met}")
    slow = [row for row in rows if "skipped" not in row and row["slowest_ms"] >= 20]
    if slow:
        print("\nSlowest statement of each page whose slowest took 20 ms or more:")
        for row in slow:
            print(f"- {row['label']}: {row['slowest_ms']:.0f} ms: {row['slowest_sql']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--timer-rounds", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep a fresh database (prints its URL)")
    parser.add_argument("--timers-only", action="store_true", help="time the clock worker only (no pages)")
    args = parser.parse_args()
    given = os.environ.get("WEFT_BENCH_DATABASE_URL")
    url = given or fresh_postgres_database()
    if url is None:
        print("requests bench: PostgreSQL is not reachable; set WEFT_BENCH_DATABASE_URL or start a local server")
        return
    try:
        migrate(url, "head")
        world = None
        if not asyncio.run(seeded(url)):
            world = asyncio.run(seed(url, requests=args.requests, days=args.days))
            print(f"seeded in {world.seconds:.0f} s", flush=True)
        rows = [] if args.timers_only else asyncio.run(measure_pages(url, runs=args.runs))
        timer_rounds = asyncio.run(measure_timers(url, rounds=args.timer_rounds))
        report(rows, timer_rounds, world, args.runs)
    finally:
        if not given:
            if args.keep:
                print(f"\nkept: WEFT_BENCH_DATABASE_URL={url}")
            else:
                drop_postgres_database(url)


if __name__ == "__main__":
    main()
