"""The ops bench: every Today, duty, report and dashboard page on a centre of 2,000 agents and 13 weeks of history.

On PostgreSQL (``WEFT_BENCH_DATABASE_URL``, or a fresh database dropped at the end) the bench builds one site in
Asia/Shanghai with three skills, a coordinator, 2,000 agents (one or two skills each) and, for the 13 weeks before
this one, this week and the next:

- shifts every hour from 07:00 to 19:00 local per skill and day (4 or 6 hours), each agent on four days a week;
  a few seats left open;
- attendance on every seat that has begun: 3% no-shows, 5% late starts (12-40 minutes), the rest on time;
  cover requests for half of the no-shows (today's still open), a few swaps;
- work records (about six per worked seat: calls, chats, tickets, callbacks, some with CSAT), contact history
  per skill and half-hour up to now, availability offered for the last four weeks and this one, three
  notifications per agent-week, this week's roster draft (one line per seat);
- three duties a day (07-15, 15-23, 23-07 local) led by four coordinators and eight named shift leads, four log
  items per duty with their updates, and a hand-over for nine in ten past duties with two or three items.

Rows go in by bulk Core inserts (COPY for work records and availability). The ops worker jobs then run as the
worker runs them, until they have nothing left to do (the quality roll-up sums a few weeks a run), each run timed:
a centre whose worker has been running. Then each page is fetched through the
real ASGI app (httpx, in process, no network) signed in as a coordinator: one warm-up, then ``--requests`` timed
requests (default 20). For each page the bench prints the median and 95th percentile in milliseconds, the SQL
statements one request sent, their total time (the rest is Python: building and rendering) and the slowest one's,
and the size of the answer; a page that answers 404 (not built
yet) is listed as skipped.

    python -m tests.bench.ops [--agents 2000] [--weeks 13] [--requests 20] [--keep] [--only PREFIX]

Goal (issue 18): every page and CSV under 300 ms at the median and 600 ms at p95.
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
from sqlalchemy import func, insert, select

from backend.accounts import service as accounts
from backend.accounts.models import Role, Site, Tier, User
from backend.app import create_app
from backend.certifications.models import Certification
from backend.core.db import Database, utcnow
from backend.core.migrate import migrate
from backend.core.settings import load_settings
from backend.core.slots import IsoWeek, local_slot, slot_of, utc_start
from backend.demand.models import ContactInterval
from backend.notify.models import Kind, Notification
from backend.ops import jobs as ops_jobs
from backend.ops.models import (
    Duty,
    DutyLogItem,
    DutyLogUpdate,
    Handover,
    HandoverItem,
    HandoverItemKind,
    LogKind,
    LogStatus,
    ShiftLead,
)
from backend.roster.models import AssignmentSource, Roster, RosterAssignment
from backend.shifts.models import (
    Attendance,
    CoverReason,
    CoverRequest,
    CoverStatus,
    Shift,
    ShiftOrigin,
    ShiftSeat,
    ShiftSwap,
    SwapStatus,
)
from tests.bench.settlement import asyncpg_dsn
from tests.conftest import drop_postgres_database, fresh_postgres_database
from tests.sqlcount import count_queries

SITE_NAME = "Bench Ops"
TIMEZONE = "Asia/Shanghai"
ZONE = ZoneInfo(TIMEZONE)
PASSWORD = "bench ops password"
COORDINATOR = "coordinator@bench-ops.example.com"
SKILLS = (("support", "Support", "支持"), ("sales", "Sales", "销售"), ("tech", "Tech", "技术"))
START_HOURS = range(7, 20)  # a shift starts every hour from 07:00 to 19:00 local
SHIFTS_A_WEEK = 4
CHUNK = 5_000
KINDS = ("call", "chat", "ticket", "callback")
TIERS = (Tier.junior, Tier.mid, Tier.senior)
DUTY_HOURS = ((7, 8), (15, 8), (23, 8))  # (start hour, length in hours)
GOAL_MEDIAN_MS, GOAL_P95_MS = 300.0, 600.0
TOO_SLOW_SECONDS = 10.0  # a page whose warm-up takes longer is reported, not timed 20 times more


def pages(week: IsoWeek, day: dt.date) -> list[tuple[str, str]]:
    """(label, URL) of every page the bench times."""
    w, d = str(week), day.isoformat()
    today_parts = [(f"Today part {p}", f"/admin/today/parts/{p}") for p in PARTS]
    return [
        ("Today board", "/admin/today"),
        *today_parts,
        ("Duty roster", f"/admin/duty?week={w}"),
        ("Duty log", f"/admin/duty/log?day={d}"),
        ("Hand-over form", "/admin/duty/handover"),
        ("Daily report", f"/admin/reports/day?day={d}"),
        ("Daily report CSV", f"/admin/reports/day.csv?day={d}"),
        ("Daily report print", f"/admin/reports/day/print?day={d}"),
        ("Duty KPIs", f"/admin/reports/duty?week={w}"),
        ("Duty KPIs CSV", f"/admin/reports/duty.csv?week={w}"),
        ("Week dashboard", f"/admin/reports/week?week={w}"),
        ("Week CSV", f"/admin/reports/week.csv?week={w}"),
        ("Quality dashboard", f"/admin/reports/quality?week={w}"),
        ("Quality CSV", f"/admin/reports/quality.csv?week={w}"),
        ("Fairness dashboard", f"/admin/reports/fairness?week={w}"),
        ("Fairness CSV", f"/admin/reports/fairness.csv?week={w}"),
        ("Roster week", f"/admin/roster/?week={w}"),
        ("Attendance (admin)", "/admin/attendance/"),
        ("Cover requests (admin)", "/admin/cover/"),
    ]


PARTS = ("chart", "table", "now", "seats", "cover", "log", "duty", "proposals")


# ---------------------------------------------------------------------------------------------- the centre


class World:
    """What the seeding made, for the timing and the summary."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)
        self.seconds = 0.0


async def bulk(session: Any, model: Any, rows: list[dict[str, Any]], world: World) -> None:
    """Insert ``rows`` in chunks; rows that leave out a column get None there (one statement needs one shape)."""
    names = {name for row in rows for name in row}
    rows = [row if len(row) == len(names) else {**dict.fromkeys(names), **row} for row in rows]
    for start in range(0, len(rows), CHUNK):
        await session.execute(insert(model), rows[start : start + CHUNK])
    world.counts[model.__tablename__] += len(rows)


async def copy_rows(url: str, table: str, columns: list[str], rows: list[tuple[Any, ...]], world: World) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        for start in range(0, len(rows), 100_000):
            await connection.copy_records_to_table(table, records=rows[start : start + 100_000], columns=columns)
    finally:
        await connection.close()
    world.counts[table] += len(rows)


def local_instant(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour % 24), tzinfo=ZONE).astimezone(dt.UTC) + dt.timedelta(days=hour // 24)


async def seed(url: str, *, agents: int, weeks: int, seed_value: int = 18) -> World:
    """Build the centre (see the module's docstring); answers what it made."""
    began = time.perf_counter()
    world = World()
    rng = random.Random(seed_value)
    now = utcnow()
    today = now.astimezone(ZONE).date()
    this_week = IsoWeek.of(today)
    first_week = this_week.shifted(-weeks)
    days = [first_week.monday + dt.timedelta(days=n) for n in range((weeks + 2) * 7)]
    database = Database.from_url(url)
    async with database.session(write=True) as session:
        site = await accounts.ensure_site(session, name=SITE_NAME, timezone=TIMEZONE, country="CN")
        skills = [
            await accounts.add_skill(session, site=site, code=code, name=name, name_zh=zh) for code, name, zh in SKILLS
        ]
        skill_ids = [skill.id for skill in skills]
        coordinators = [
            await accounts.create_user(
                session,
                site=site,
                email=COORDINATOR if n == 0 else f"coordinator{n}@bench-ops.example.com",
                display_name=f"Coordinator {n}",
                role=Role.coordinator,
                password=PASSWORD if n == 0 else None,
            )
            for n in range(4)
        ]
        coordinator_ids = [c.id for c in coordinators]
        await bulk(
            session,
            User,
            [
                {
                    "email": f"agent{n:05d}@bench-ops.example.com",
                    "display_name": f"Agent {n} 坐席{n}",
                    "role": Role.agent,
                    "timezone": TIMEZONE,
                    "tier": TIERS[n % 3],
                    "site_id": site.id,
                    "password_hash": None,
                    "created_at": now - dt.timedelta(days=200),
                }
                for n in range(agents)
            ],
            world,
        )
        agent_ids = list(
            await session.scalars(
                select(User.id).where(User.site_id == site.id, User.role == Role.agent).order_by(User.id)
            )
        )
        agent_skills = {
            uid: rng.sample(skill_ids, 1 if rng.random() < 0.6 else 2) for uid in agent_ids
        }  # 60% single-skilled
        await bulk(
            session,
            Certification,
            [
                {"user_id": uid, "skill_id": sid, "granted_at": now - dt.timedelta(days=150), "source": "admin"}
                for uid, owned in agent_skills.items()
                for sid in owned
            ],
            world,
        )

        # Shifts and seats: each agent on SHIFTS_A_WEEK days a week, one shift of one of their skills a day.
        wanted: dict[tuple[dt.date, int, int], list[int]] = defaultdict(list)
        for monday in range(0, len(days), 7):
            for uid in agent_ids:
                for day in rng.sample(days[monday : monday + 7], SHIFTS_A_WEEK):
                    wanted[day, rng.choice(agent_skills[uid]), rng.choice(START_HOURS)].append(uid)
        shift_rows = []
        keys = sorted(wanted)
        for day, sid, hour in keys:
            start = local_slot(day, hour, 0, ZONE)
            taken = len(wanted[day, sid, hour])
            shift_rows.append(
                {
                    "site_id": site.id,
                    "skill_id": sid,
                    "start_slot": start,
                    "end_slot": start + (8 if hour % 2 else 12),
                    "seats": taken + (1 if rng.random() < 0.15 else 0),
                    "taken": taken,
                    "origin": ShiftOrigin.roster,
                    "created_at": utc_start(start) - dt.timedelta(days=10),
                    "opened_at": utc_start(start) - dt.timedelta(days=10),
                    "created_by_id": coordinator_ids[0],
                }
            )
        await bulk(session, Shift, shift_rows, world)
        shifts = {
            (row.skill_id, row.start_slot): (row.id, row.end_slot)
            for row in await session.execute(
                select(Shift.id, Shift.skill_id, Shift.start_slot, Shift.end_slot).where(Shift.site_id == site.id)
            )
        }
        seat_rows = []
        for day, sid, hour in keys:
            start = local_slot(day, hour, 0, ZONE)
            shift_id, _end = shifts[sid, start]
            for uid in wanted[day, sid, hour]:
                seat_rows.append(
                    {"shift_id": shift_id, "user_id": uid, "taken_at": utc_start(start) - dt.timedelta(days=9)}
                )
        await bulk(session, ShiftSeat, seat_rows, world)
        seats = list(
            await session.execute(
                select(ShiftSeat.id, ShiftSeat.user_id, Shift.id, Shift.start_slot, Shift.end_slot, Shift.skill_id)
                .join(Shift, Shift.id == ShiftSeat.shift_id)
                .where(Shift.site_id == site.id)
            )
        )

        # Attendance on every seat that has begun; confirmations for the next day and a half.
        attendance_rows, no_shows, worked = [], [], []
        for seat_id, uid, shift_id, start, end, sid in seats:
            begins = utc_start(start)
            if begins > now:
                if begins - now < dt.timedelta(hours=36) and rng.random() < 0.7:
                    attendance_rows.append({"seat_id": seat_id, "confirmed_at": begins - dt.timedelta(hours=20)})
                continue
            draw = rng.random()
            row: dict[str, Any] = {"seat_id": seat_id, "confirmed_at": begins - dt.timedelta(hours=20)}
            if draw < 0.03:
                if now - begins < dt.timedelta(minutes=20):
                    continue  # too soon to call it: the board shows them late
                row["no_show_at"] = begins + dt.timedelta(minutes=20)
                row["marked_by_id"] = coordinator_ids[0]
                no_shows.append((shift_id, uid, begins, start, end))
            elif draw < 0.08:
                late = dt.timedelta(minutes=rng.randint(12, 40))
                if now - begins < late:
                    continue  # not started yet: late on the board
                row["started_at"] = begins + late
                worked.append((uid, sid, begins, end - start))
            else:
                row["started_at"] = begins - dt.timedelta(minutes=rng.randint(0, 10))
                worked.append((uid, sid, begins, end - start))
            attendance_rows.append(row)
        await bulk(session, Attendance, attendance_rows, world)

        cover_rows = []
        for shift_id, uid, begins, _start, _end in no_shows:
            if rng.random() < 0.5:
                continue
            created = begins + dt.timedelta(minutes=21)
            is_today = begins.astimezone(ZONE).date() == today
            covered = not is_today and rng.random() < 0.6
            cover_rows.append(
                {
                    "site_id": site.id,
                    "shift_id": shift_id,
                    "absent_user_id": uid,
                    "reason": CoverReason.no_show,
                    "status": CoverStatus.open
                    if is_today
                    else (CoverStatus.covered if covered else CoverStatus.expired),
                    "created_by_id": coordinator_ids[0],
                    "created_at": created,
                    "covered_by_id": rng.choice(agent_ids) if covered else None,
                    "covered_at": created + dt.timedelta(minutes=rng.randint(3, 50)) if covered else None,
                    "closed_at": None if is_today else created + dt.timedelta(hours=1),
                    "wave": 1 if is_today else 3,
                    "next_wave_at": created + dt.timedelta(minutes=10) if is_today else None,
                }
            )
        await bulk(session, CoverRequest, cover_rows, world)
        swap_rows = []
        for _seat, uid, shift_id, start, _end, _sid in rng.sample(seats, min(len(seats), weeks * 60)):
            created = utc_start(start) - dt.timedelta(days=2)
            status = rng.choice([SwapStatus.accepted, SwapStatus.expired, SwapStatus.cancelled, SwapStatus.offered])
            swap_rows.append(
                {
                    "shift_id": shift_id,
                    "from_user_id": uid,
                    "status": status,
                    "created_at": created,
                    "accepted_by_id": rng.choice(agent_ids) if status is SwapStatus.accepted else None,
                    "accepted_at": created + dt.timedelta(hours=3) if status is SwapStatus.accepted else None,
                }
            )
        await bulk(session, ShiftSwap, swap_rows, world)

        # This week's roster draft: one line per seat.
        roster = Roster(site_id=site.id, week=str(this_week), published_version=1, updated_at=now)
        session.add(roster)
        await session.flush()
        week_slots = this_week.slots(ZONE)
        await bulk(
            session,
            RosterAssignment,
            [
                {
                    "roster_id": roster.id,
                    "user_id": uid,
                    "skill_id": sid,
                    "start_slot": start,
                    "end_slot": end,
                    "source": AssignmentSource.solver,
                }
                for _seat, uid, _shift, start, end, sid in seats
                if start in week_slots
            ],
            world,
        )

        # Contact history per skill and half-hour, up to the slot now running.
        now_slot = slot_of(now)
        history = []
        for day in days:
            for hour in range(7, 23):
                for half in (0, 30):
                    slot = local_slot(day, hour, half, ZONE)
                    if slot >= now_slot:
                        continue
                    for index, sid in enumerate(skill_ids):
                        offered = max(0, int(rng.gauss(60 - 15 * index + 25 * (hour in (10, 11, 19, 20)), 8)))
                        history.append(
                            {
                                "site_id": site.id,
                                "skill_id": sid,
                                "slot": slot,
                                "offered": offered,
                                "handled": int(offered * 0.95),
                                "aht_seconds": 300.0,
                                "abandoned": offered - int(offered * 0.95),
                            }
                        )
        await bulk(session, ContactInterval, history, world)

        # Notifications: three per agent-week.
        notes = []
        for monday in range(0, weeks * 7, 7):
            at = local_instant(days[monday], 9)
            for uid in agent_ids:
                for n in range(3):
                    notes.append(
                        {
                            "user_id": uid,
                            "kind": (Kind.open_shift, Kind.shift_reminder, Kind.roster_published)[n],
                            "title": "Bench",
                            "created_at": at + dt.timedelta(days=2 * n),
                        }
                    )
        await bulk(session, Notification, notes, world)

        # The duty routine: named leads, three duties a day, four log items each, hand-overs.
        leads = rng.sample(agent_ids, 8)
        await bulk(
            session,
            ShiftLead,
            [
                {
                    "site_id": site.id,
                    "user_id": uid,
                    "named_by_id": coordinator_ids[0],
                    "named_at": now - dt.timedelta(days=120),
                }
                for uid in leads
            ],
            world,
        )
        duty_rows = []
        for day in days:
            for hour, length in DUTY_HOURS:
                starts = local_instant(day, hour)
                duty_rows.append(
                    {
                        "site_id": site.id,
                        "user_id": rng.choice(coordinator_ids + leads),
                        "starts_at": starts,
                        "ends_at": starts + dt.timedelta(hours=length),
                        "created_by_id": coordinator_ids[0],
                        "created_at": starts - dt.timedelta(days=7),
                    }
                )
        await bulk(session, Duty, duty_rows, world)
        duties = list(
            await session.execute(
                select(Duty.id, Duty.user_id, Duty.starts_at, Duty.ends_at)
                .where(Duty.site_id == site.id)
                .order_by(Duty.starts_at)
            )
        )
        item_rows = []
        for duty_id, uid, starts, ends in duties:
            if starts > now:
                continue
            for n in range(4):
                at = starts + dt.timedelta(minutes=rng.randint(0, 470))
                if at > now:
                    continue
                kind = rng.choice(list(LogKind))
                closed = ends < now and rng.random() < 0.8
                item_rows.append(
                    {
                        "site_id": site.id,
                        "duty_id": duty_id,
                        "kind": kind,
                        "source_key": f"bench:{duty_id}:{n}",
                        "started_at": at,
                        "summary": f"Bench item {n} of duty {duty_id}",
                        "details": {"what": "bench"},
                        "author_id": uid,
                        "created_at": at,
                        "status": LogStatus.closed if closed else LogStatus.in_progress,
                        "first_action_at": at + dt.timedelta(minutes=rng.randint(1, 30)),
                        "closed_at": at + dt.timedelta(minutes=rng.randint(30, 240)) if closed else None,
                    }
                )
        await bulk(session, DutyLogItem, item_rows, world)
        items = list(
            await session.execute(
                select(DutyLogItem.id, DutyLogItem.author_id, DutyLogItem.first_action_at, DutyLogItem.closed_at).where(
                    DutyLogItem.site_id == site.id
                )
            )
        )
        update_rows = []
        for item_id, author, first, closed in items:
            update_rows.append(
                {
                    "item_id": item_id,
                    "author_id": author,
                    "at": first,
                    "action": "Looked into it",
                    "told": "team",
                    "status": LogStatus.in_progress,
                }
            )
            if closed is not None:
                update_rows.append(
                    {
                        "item_id": item_id,
                        "author_id": author,
                        "at": closed,
                        "action": "Fixed",
                        "told": "",
                        "status": LogStatus.closed,
                    }
                )
        await bulk(session, DutyLogUpdate, update_rows, world)
        handover_rows = []
        for index, (duty_id, uid, _starts, ends) in enumerate(duties):
            if ends > now or rng.random() < 0.1:
                continue
            following = duties[index + 1][0] if index + 1 < len(duties) else None
            submitted = ends + dt.timedelta(minutes=rng.randint(-20, 50))
            acknowledged = rng.random() < 0.8
            handover_rows.append(
                {
                    "site_id": site.id,
                    "duty_id": duty_id,
                    "from_user_id": uid,
                    "to_duty_id": following,
                    "focus": "Keep the evening queue short",
                    "warnings": "",
                    "submitted_at": submitted,
                    "acknowledged_at": submitted + dt.timedelta(minutes=15) if acknowledged else None,
                    "acknowledged_by_id": rng.choice(coordinator_ids) if acknowledged else None,
                }
            )
        await bulk(session, Handover, handover_rows, world)
        handovers = list(
            await session.execute(
                select(Handover.id, Handover.submitted_at, Handover.acknowledged_at).where(Handover.site_id == site.id)
            )
        )
        await bulk(
            session,
            HandoverItem,
            [
                {
                    "handover_id": handover_id,
                    "kind": HandoverItemKind.open_item if n == 0 else HandoverItemKind.follow_up,
                    "text": f"Bench hand-over item {n}",
                    "owner_id": rng.choice(coordinator_ids),
                    "acknowledged_at": acknowledged,
                    "closed_at": submitted + dt.timedelta(hours=4) if n and acknowledged else None,
                }
                for handover_id, submitted, acknowledged in handovers
                for n in range(rng.randint(2, 3))
            ],
            world,
        )
        site_id = site.id
    await database.dispose()

    # Work records (about six per worked seat) and availability offered (four days a week, 8 hours), by COPY.
    records = []
    for number, (uid, sid, begins, length) in enumerate(worked):
        for n in range(rng.randint(4, 8)):
            records.append(
                (
                    site_id,
                    uid,
                    "bench",
                    f"w{number}-{n}",
                    begins + dt.timedelta(minutes=rng.randrange(length * 30)),
                    KINDS[rng.randrange(4)],
                    1,
                    rng.randrange(60, 900),
                    rng.randint(1, 5) if rng.random() < 0.3 else None,
                    rng.random() < 0.8,
                    sid,
                    begins + dt.timedelta(hours=length / 2 + 1),
                )
            )
    record_columns = ["site_id", "user_id", "source", "external_id", "occurred_at", "kind", "count",
                      "handled_seconds", "csat", "resolved", "skill_id", "received_at"]  # fmt: skip
    await copy_rows(url, "work_records", record_columns, records, world)
    offered: list[tuple[int, int, str]] = []
    for week in (this_week.shifted(-n) for n in range(4, -1, -1)):
        for uid in agent_ids:
            for day in rng.sample(week.days(), 4):
                start = local_slot(day, rng.choice((8, 10, 12)), 0, ZONE)
                preference = "preferred" if rng.random() < 0.2 else "if_needed"
                offered += [(uid, slot, preference) for slot in range(start, start + 16)]
    await copy_rows(url, "availability_slots", ["user_id", "slot", "preference"], offered, world)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    world.seconds = time.perf_counter() - began
    return world


async def settle(url: str, *, runs: int = 20) -> list[str]:
    """Run the ops worker jobs the way the worker does (each minute, one transaction) until they have nothing left
    to do (the quality roll-up sums a few weeks a run), as a centre whose worker has been running would be;
    answers a line per run with what each job did and how long it took."""
    database = Database.from_url(url)
    lines = []
    try:
        for run in range(1, runs + 1):
            done = []
            async with database.session(write=True) as session:
                for name, job in ops_jobs.EVERY_MINUTE:
                    began = time.perf_counter()
                    count = await job(session, now=utcnow())
                    done.append((name, count, time.perf_counter() - began))
            lines.append(f"worker run {run}: " + ", ".join(f"{n} {c} ({s * 1000:.0f} ms)" for n, c, s in done))
            if not any(count for _name, count, _s in done):
                break
    finally:
        await database.dispose()
    return lines


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


async def measure(url: str, *, requests: int, only: str) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            {"WEFT_DATABASE_URL": url, "WEFT_SECRET_KEY": "bench-" + "k" * 40, "WEFT_DATA_DIR": tmp}
        )
        database = Database.from_url(url)
        app = create_app(settings, database=database)
        today = utcnow().astimezone(ZONE).date()
        rows: list[dict[str, Any]] = []
        transport = httpx.ASGITransport(app=app, client=("127.0.0.3", 1))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
            await client.get("/login")
            csrf = client.cookies.get("weft_csrf") or ""
            signed = await client.post("/login", data={"email": COORDINATOR, "password": PASSWORD, "_csrf_token": csrf})
            assert signed.status_code == 303, signed.text
            for label, path in pages(IsoWeek.of(today), today):
                if only and not path.startswith(only):
                    continue
                began = time.perf_counter()
                first = await client.get(path)
                warm_up = time.perf_counter() - began
                if first.status_code == 404:
                    rows.append({"label": label, "path": path, "skipped": "404: not built yet"})
                    continue
                if first.status_code != 200:
                    rows.append({"label": label, "path": path, "skipped": f"answered {first.status_code}"})
                    continue
                if warm_up > TOO_SLOW_SECONDS:
                    rows.append(
                        {"label": label, "path": path, "skipped": f"too slow: one request took {warm_up:.0f} s"}
                    )
                    print(f"  {label}: one request took {warm_up:.0f} s; not timed further", flush=True)
                    continue
                with count_queries(database.bind) as counted:
                    await client.get(path)
                samples = []
                for _ in range(requests):
                    began = time.perf_counter()
                    response = await client.get(path)
                    samples.append((time.perf_counter() - began) * 1000)
                    assert response.status_code == 200, (path, response.status_code)
                slowest_ms, slowest_sql = counted.slowest()
                print(f"  {label}: median {statistics.median(samples):.0f} ms, {counted.count} queries", flush=True)
                rows.append(
                    {
                        "label": label,
                        "path": path,
                        "median": statistics.median(samples),
                        "p95": percentile(samples, 0.95),
                        "queries": counted.count,
                        "sql_ms": sum(counted.seconds) * 1000,
                        "slowest_ms": slowest_ms,
                        "slowest_sql": " ".join(slowest_sql.split())[:160],
                        "kb": len(first.content) / 1024,
                    }
                )
        await database.dispose()
    return rows


def report(rows: list[dict[str, Any]], world: World | None, requests: int) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    print(f"# Ops bench, {dt.date.today()}, PostgreSQL, {machine}")
    if world is not None:
        made = ", ".join(f"{count:,} {table}" for table, count in sorted(world.counts.items()))
        print(f"seeded in {world.seconds:.0f} s: {made}")
    print(f"{requests} timed requests per page after one warm-up; goal: median < {GOAL_MEDIAN_MS:.0f} ms, "
          f"p95 < {GOAL_P95_MS:.0f} ms\n")  # fmt: skip
    print("| page | median ms | p95 ms | queries | SQL ms | slowest query ms | KB | goal |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        if "skipped" in row:
            print(f"| {row['label']} `{row['path']}` | - | - | - | - | - | - | skipped ({row['skipped']}) |")
            continue
        met = row["median"] < GOAL_MEDIAN_MS and row["p95"] < GOAL_P95_MS
        print(
            f"| {row['label']} `{row['path']}` | {row['median']:.0f} | {row['p95']:.0f} | {row['queries']} | "
            f"{row['sql_ms']:.0f} | {row['slowest_ms']:.0f} | {row['kb']:.0f} | {'met' if met else 'MISSED'} |"
        )
    slow = [row for row in rows if "skipped" not in row and row["slowest_ms"] >= 20]
    if slow:
        print("\nSlowest statement of each page whose slowest took 20 ms or more:")
        for row in slow:
            print(f"- {row['label']}: {row['slowest_ms']:.0f} ms: {row['slowest_sql']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=13)
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--keep", action="store_true", help="keep a fresh database (prints its URL)")
    parser.add_argument("--only", default="", help="time only the pages whose path starts with this")
    args = parser.parse_args()
    given = os.environ.get("WEFT_BENCH_DATABASE_URL")
    url = given or fresh_postgres_database()
    if url is None:
        print("ops bench: PostgreSQL is not reachable; set WEFT_BENCH_DATABASE_URL or start a local server")
        return
    try:
        migrate(url, "head")
        world = None
        if not asyncio.run(seeded(url)):
            world = asyncio.run(seed(url, agents=args.agents, weeks=args.weeks))
            print(f"seeded in {world.seconds:.0f} s", flush=True)
        for line in asyncio.run(settle(url)):
            print(line, flush=True)
        rows = asyncio.run(measure(url, requests=args.requests, only=args.only))
        report(rows, world, args.requests)
    finally:
        if not given:
            if args.keep:
                print(f"\nkept: WEFT_BENCH_DATABASE_URL={url}")
            else:
                drop_postgres_database(url)


if __name__ == "__main__":
    main()
