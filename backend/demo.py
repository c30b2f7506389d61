"""Demo data: a Shanghai contact centre with three skills, about sixty part-time agents, their courses, a case
library and handover notes.

Agents follow the habits real part-timers have: students free in the
evenings, parents in school hours, retirees in the mornings, freelancers in
scattered blocks. The agents and their habits are data in ``backend.accounts.demo``,
where the availability demo can read them too. Loading is idempotent: people are
matched by email, skills and courses by code, so a second run changes nothing.

The sixty agents were certified by an admin's override so the marketplace
works at once; one extra agent, the new starter, has passed nothing, so the
Learn tab has required courses to show and pass.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service
from backend.accounts.demo import DEMO_DOMAIN, HABITS, SEED, demo_agents
from backend.accounts.models import Role, Site, Skill, Tier, User
from backend.accounts.site_settings import update_site_settings
from backend.accounts.zones import site_zone
from backend.availability.demo import load_demo_availability
from backend.certifications.service import ADMIN_OVERRIDE, grant_certification, mark_onboarded
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.settings import Settings
from backend.core.slots import local_slot, slot_of, utc_start
from backend.demand.demo import load_demo_actuals, load_demo_history
from backend.handover import service as handover
from backend.handover.models import HandoverNote
from backend.learning import cases as case_library
from backend.learning.case_models import Case
from backend.learning.courses import import_course
from backend.learning.models import Course
from backend.ops.clock import day_bounds
from backend.ops.duty import add_duty, duties_between, name_lead
from backend.ops.log import LeadEntry, record_item
from backend.ops.models import LogKind, LogStatus
from backend.pay import periods, rate_cards
from backend.pay.models import PayPeriod, PeriodStatus
from backend.requests import actions, intake, routing
from backend.requests.models import Calendar, IdeaOutcome, Involvement, RequestKind, RequestTeam
from backend.requests.schemas import RequestDraft
from backend.shifts.market import create_open_shift
from backend.shifts.models import Attendance, Shift, ShiftOrigin, ShiftSeat
from backend.work.service import bulk_ingest_rows

DEMO_PASSWORD = "weft-demo-2026"

SKILLS = [
    ("general", "General enquiries", "综合咨询"),
    ("billing", "Billing disputes", "账单争议"),
    ("tech", "Technical support triage", "技术支持分诊"),
]

STAFF = [
    (Role.admin, "admin", "Ada Admin"),
    (Role.coordinator, "coordinator", "陈协调 Chen Coordinator"),
    (Role.finance, "finance", "Fay Finance"),
    # A second finance user: a payout run is approved by someone other than the one who prepared it.
    (Role.finance, "finance2", "冯财务 Feng Finance"),
]
COORDINATOR_EMAIL = f"coordinator@{DEMO_DOMAIN}"
# Not onboarded and certified for general enquiries only: the agent who shows what passing a course unlocks.
NEW_STARTER_EMAIL = f"newstarter@{DEMO_DOMAIN}"
NEW_STARTER_NAME = "林晓 Lin Xiao"
DEMO_LOGINS = [(role.value, f"{local}@{DEMO_DOMAIN}", DEMO_PASSWORD) for role, local, _ in STAFF] + [
    ("agent", f"agent01@{DEMO_DOMAIN}", DEMO_PASSWORD),
    ("new agent", NEW_STARTER_EMAIL, DEMO_PASSWORD),
]
# A second site in a country Stripe serves, so payouts through Stripe Connect can be walked (the Shanghai site pays
# CNY through its bank file): a handful of agents, two finance users (four eyes), a rate card, last week locked.
LONDON = ("Weft London", "Europe/London", "GB")
LONDON_STAFF = [(Role.finance, "london-finance", "Lena Finance"), (Role.finance, "london-finance2", "Leo Finance")]
LONDON_AGENTS = ["Amelia Clarke", "Oliver Bennett", "Priya Shah", "Tom Walsh", "Grace Okafor", "Jack Murphy"]
LONDON_RATES = {
    "base_hourly_minor": {"junior": 1200, "mid": 1350, "senior": 1500},
    "pieces": [{"kind": "call", "rate_minor": 20}],
    "urgent_bonus_minor": 1000,
}
# Each London agent worked these (weekday, local start hour) for four hours last week.
LONDON_SHIFTS = [(0, 9), (2, 13)]
DEMO_LOGINS += [(role.value + " (London)", f"{local}@{DEMO_DOMAIN}", DEMO_PASSWORD) for role, local, _ in LONDON_STAFF]
DEMO_LOGINS += [("agent (London)", f"london-agent1@{DEMO_DOMAIN}", DEMO_PASSWORD)]

# course code -> its weft-course/1 document in learning/demo_courses, published in this order
DEMO_COURSES = {
    "onboarding-basics": "onboarding.json",
    "billing-disputes": "billing.json",
    "tech-triage": "tech.json",
}
DEMO_COURSE_DIR = Path(__file__).resolve().parent / "learning" / "demo_courses"
# the case library and handover notes the demo coordinator wrote, and agents' marks and comments on the cases
DEMO_CASE_DIR = Path(__file__).resolve().parent / "learning" / "demo_cases"
DEMO_LOGIN_AGENT = f"agent01@{DEMO_DOMAIN}"  # marks nothing, so the "I used this" button is theirs to tap


class DemoLoaded(msgspec.Struct, frozen=True):
    users: int
    availability_weeks: int
    history_rows: int
    open_shifts: int = 0
    courses: int = 0
    cases: int = 0
    handover_notes: int = 0
    rate_cards: int = 0
    work_records: int = 0
    locked_periods: int = 0
    actual_rows: int = 0
    duties: int = 0
    requests: int = 0


async def load_demo(session: AsyncSession, settings: Settings) -> DemoLoaded:
    """Create what is missing of the demo world: people, availability, eight weeks of history, open shifts, courses."""
    site = await service.ensure_site(session, name=settings.site_name, timezone=settings.site_timezone, country="CN")
    users = await load_demo_people(session, site)
    now = utcnow()
    weeks = await load_demo_availability(session, site=site, now=now)
    rows = await load_demo_history(session, site=site, now=now)
    shifts = await load_demo_open_shifts(session, site=site, now=now)
    await load_demo_next_shift(session, site=site, now=now)
    courses = await load_demo_courses(session, site=site)
    cases = await load_demo_cases(session, site=site, now=now)
    notes = await load_demo_handover(session, site=site, now=now)
    pay = await load_demo_pay(session, site=site, now=now)
    users += await load_demo_london(session, now=now)
    actuals = await load_demo_actuals(session, site=site, now=now)
    duties = await load_demo_duty(session, site=site, now=now)
    requests = await load_demo_requests(session, site=site, now=now)
    return DemoLoaded(
        requests=requests,
        actual_rows=actuals,
        duties=duties,
        users=users,
        availability_weeks=weeks,
        history_rows=rows,
        open_shifts=shifts,
        courses=courses,
        cases=cases,
        handover_notes=notes,
        rate_cards=pay.rate_cards,
        work_records=pay.work_records,
        locked_periods=pay.locked_periods,
    )


async def load_demo_courses(session: AsyncSession, *, site: Site) -> int:
    """Import and publish the demo courses the site lacks, authored by the coordinator; return how many were new.

    A course whose code the site already has is left alone, edits and newer versions included.
    """
    author = await service.find_user_by_email(session, COORDINATOR_EMAIL)
    if author is None:  # the coordinator was removed: the staff look after courses now
        return 0
    existing = set(await session.scalars(select(Course.code).where(Course.site_id == site.id)))
    imported = 0
    for code, file_name in DEMO_COURSES.items():
        if code in existing:
            continue
        raw = (DEMO_COURSE_DIR / file_name).read_bytes()
        await import_course(session, site=site, raw=raw, author=author, publish=True)
        imported += 1
    return imported


class DemoComment(msgspec.Struct, frozen=True):
    author: str  # a demo agent's email
    body: str


class DemoCase(msgspec.Struct, frozen=True):
    """A case of ``demo_cases/cases.json``: the template's fields, its week, and the agents' reactions."""

    weeks_ago: int  # 0: this week, 1: last week, in the site's time zone
    skill: str
    language: str
    title: str
    situation: str
    strategy: str
    key_points: list[str]
    phrases: list[str]
    uses: int  # how many demo agents with the skill marked it "I used this"
    comments: list[DemoComment] = []


class DemoCases(msgspec.Struct, frozen=True):
    cases: list[DemoCase]


class DemoNote(msgspec.Struct, frozen=True):
    """A handover note of ``demo_cases/handover.json``: on a time block of today (tomorrow once it is over), or
    on the next open shift of the skill."""

    on: str  # "block" or "open_shift"
    skill: str
    kind: str
    body: str
    start: str = ""  # the block's local wall-clock times
    end: str = ""


class DemoNotes(msgspec.Struct, frozen=True):
    notes: list[DemoNote]


async def load_demo_cases(session: AsyncSession, *, site: Site, now: dt.datetime) -> int:
    """Publish the demo cases the coordinator has not written yet (matched by title), with some agents' "I used
    this" marks and "I would add" comments; return how many cases were new.

    Everything goes through the case library's service, so the cases pass the same checks as the form. A case
    is published on the Monday of its week (never later than now), and its marks and comments come after.
    """
    author = await service.find_user_by_email(session, COORDINATOR_EMAIL)
    if author is None:
        return 0
    written = set(
        await session.scalars(select(Case.title).where(Case.site_id == site.id, Case.created_by_id == author.id))
    )
    document = msgspec.json.decode((DEMO_CASE_DIR / "cases.json").read_bytes(), type=DemoCases)
    zone = site_zone(site)
    this_week = case_library.current_week(site, now)
    agents = demo_agents()
    created = 0
    for order, demo in enumerate(document.cases):
        if demo.title in written:
            continue
        week = this_week.shifted(-demo.weeks_ago)
        published = min(now, utc_start(local_slot(week.monday, 9, 0, zone)) + dt.timedelta(hours=order))
        draft = case_library.CaseDraft(
            title=demo.title,
            situation=demo.situation,
            strategy=demo.strategy,
            key_points="\n".join(demo.key_points),
            phrases="\n".join(demo.phrases),
            week=str(week),
            language=demo.language,
            skill=demo.skill,
        )
        case = await case_library.create_case(session, author=author, draft=draft, publish=True, now=published)
        created += 1

        def later(share: float, published: dt.datetime = published) -> dt.datetime:
            return published + (now - published) * share

        users = [
            str(agent["email"])
            for agent in agents
            if demo.skill in agent["skills"] and agent["email"] != DEMO_LOGIN_AGENT  # type: ignore[operator]
        ]
        for index, email in enumerate(users[: demo.uses]):
            agent = await service.find_user_by_email(session, email)
            if agent is not None:
                at = later((index + 1) / (demo.uses + 1))
                await case_library.set_used(session, case_id=case.id, agent=agent, used=True, now=at)
        for comment in demo.comments:
            agent = await service.find_user_by_email(session, comment.author)
            if agent is not None:
                at = later(0.5)
                await case_library.add_comment(session, case_id=case.id, author=agent, body=comment.body, now=at)
    await session.flush()
    return created


async def load_demo_handover(session: AsyncSession, *, site: Site, now: dt.datetime) -> int:
    """Leave the coordinator's demo handover notes they have not left yet (matched by text); return how many.

    A block note covers today's block in the site's time zone, or tomorrow's once today's is over (the service
    refuses a block that is over). A shift note goes on the next unstarted open shift of its skill, if any.
    """
    author = await service.find_user_by_email(session, COORDINATOR_EMAIL)
    if author is None:
        return 0
    written = set(
        await session.scalars(
            select(HandoverNote.body).where(HandoverNote.site_id == site.id, HandoverNote.author_id == author.id)
        )
    )
    document = msgspec.json.decode((DEMO_CASE_DIR / "handover.json").read_bytes(), type=DemoNotes)
    zone = site_zone(site)
    today = now.astimezone(zone).date()
    left = 0
    for demo in document.notes:
        if demo.body in written:
            continue
        if demo.on == "block":
            start, end = handover.block_of_clock(today.isoformat(), demo.start, "", demo.end, zone)
            if utc_start(end) <= now:
                tomorrow = (today + dt.timedelta(days=1)).isoformat()
                start, end = handover.block_of_clock(tomorrow, demo.start, "", demo.end, zone)
            await handover.write_on_block(
                session,
                staff=author,
                start_slot=start,
                end_slot=end,
                skill=demo.skill,
                kind=demo.kind,
                body=demo.body,
                now=now,
            )
        else:
            shift_id = await session.scalar(
                select(Shift.id)
                .join(Skill, Skill.id == Shift.skill_id)
                .where(Shift.site_id == site.id, Shift.origin == ShiftOrigin.manual, Shift.cancelled_at.is_(None))
                .where(Skill.code == demo.skill, Shift.start_slot > slot_of(now))
                .order_by(Shift.start_slot, Shift.id)
                .limit(1)
            )
            if shift_id is None:
                continue
            await handover.write_on_shift(
                session, shift_id=shift_id, staff=author, kind=demo.kind, body=demo.body, now=now
            )
        left += 1
    return left


# (days ahead, local start, hours, skill, seats, urgent bonus in minor units)
OPEN_SHIFTS = [(1, 18, 4, "general", 5, 0), (2, 9, 4, "billing", 2, 2000), (3, 19, 4, "tech", 1, 0)]


async def load_demo_open_shifts(session: AsyncSession, *, site: Site, now: dt.datetime) -> int:
    """A few hand-made open shifts in the coming days, so the marketplace has something to claim.

    Made only when the site has no unstarted hand-made shift, so a second run changes nothing.
    """
    upcoming = await session.scalar(
        select(Shift.id)
        .where(Shift.site_id == site.id, Shift.origin == ShiftOrigin.manual)
        .where(Shift.start_slot > slot_of(now))
    )
    if upcoming is not None:
        return 0
    zone = site_zone(site)
    today = now.astimezone(zone).date()
    opened = now - dt.timedelta(hours=1)  # every tier's window has passed: the demo agent can claim at once
    for days, hour, hours, skill, seats, bonus_minor in OPEN_SHIFTS:
        start = dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour), tzinfo=zone)
        end = start + dt.timedelta(hours=hours)
        await create_open_shift(
            session, site=site, skill=skill, start=start, end=end, seats=seats, bonus_minor=bonus_minor, now=opened
        )
    return len(OPEN_SHIFTS)


# The demo agent's next shift, so Home shows one with its Confirm button: (local start, local end, skill). Four hours,
# so the demo agent's 8-hour weekly cap still leaves an open shift they can claim from Home.
NEXT_SHIFT = ((17, 0), (21, 0), "general")
NEXT_SHIFT_LEAD = dt.timedelta(hours=2)  # later than this before today's start, the shift is tomorrow's


async def load_demo_next_shift(session: AsyncSession, *, site: Site, now: dt.datetime) -> bool:
    """Give the demo login agent a rostered shift today (tomorrow once today's is near), so Home has a next shift.

    Within the confirm window by construction (it starts in at most about a day), so Home offers "Confirm shift";
    the coordinator's follow-up handover note, left on the next general shift, lands on it. Made only when the
    agent holds no shift before the end of tomorrow, so a second run changes nothing.
    """
    agent = await service.find_user_by_email(session, DEMO_LOGIN_AGENT)
    if agent is None:
        return False
    zone = site_zone(site)
    today = now.astimezone(zone).date()
    (start_hour, start_minute), (end_hour, end_minute), code = NEXT_SHIFT
    day = (
        today
        if utc_start(local_slot(today, start_hour, start_minute, zone)) - NEXT_SHIFT_LEAD > now
        else today + dt.timedelta(days=1)
    )
    start_slot, end_slot = local_slot(day, start_hour, start_minute, zone), local_slot(day, end_hour, end_minute, zone)
    held = await session.scalar(
        select(Shift.id)
        .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
        .where(ShiftSeat.user_id == agent.id, ShiftSeat.released_at.is_(None), Shift.cancelled_at.is_(None))
        .where(Shift.end_slot > slot_of(now), Shift.start_slot < local_slot(today + dt.timedelta(days=2), 0, 0, zone))
    )
    skill = await session.scalar(select(Skill).where(Skill.site_id == site.id, Skill.code == code))
    if held is not None or skill is None:
        return False
    shift = Shift(
        site_id=site.id,
        skill_id=skill.id,
        start_slot=start_slot,
        end_slot=end_slot,
        seats=1,
        taken=1,
        origin=ShiftOrigin.manual,
    )
    session.add(shift)
    await session.flush()
    session.add(ShiftSeat(shift_id=shift.id, user_id=agent.id, taken_at=now - dt.timedelta(days=1)))
    await session.flush()
    return True


async def load_demo_people(session: AsyncSession, site: Site) -> int:
    """The site's skills, the staff and the agents; return how many users were new."""
    skills = {
        code: await service.ensure_skill(session, site=site, code=code, name=name, name_zh=name_zh)
        for code, name, name_zh in SKILLS
    }
    password_hash = service.hash_password(DEMO_PASSWORD)
    created = 0
    for role, local, name in STAFF:
        email = f"{local}@{DEMO_DOMAIN}"
        if await service.find_user_by_email(session, email) is None:
            user = await service.create_user(session, site=site, email=email, display_name=name, role=role)
            user.password_hash = password_hash
            created += 1
    for agent in demo_agents():
        if await service.find_user_by_email(session, str(agent["email"])) is not None:
            continue
        user = await service.create_user(
            session,
            site=site,
            email=str(agent["email"]),
            display_name=str(agent["name"]),
            role=Role.agent,
            tier=agent["tier"],  # type: ignore[arg-type]
            locale=str(agent["locale"]),
        )
        user.password_hash = password_hash
        for code in agent["skills"]:  # type: ignore[attr-defined]
            await grant_certification(session, user=user, skill=skills[code], source=ADMIN_OVERRIDE)
        await mark_onboarded(session, user=user)
        created += 1
    if await service.find_user_by_email(session, NEW_STARTER_EMAIL) is None:
        user = await service.create_user(
            session, site=site, email=NEW_STARTER_EMAIL, display_name=NEW_STARTER_NAME, role=Role.agent
        )
        user.password_hash = password_hash
        await grant_certification(session, user=user, skill=skills["general"], source=ADMIN_OVERRIDE)
        created += 1
    await session.flush()
    return created


# Pay: a rate card, work records, last week's worked shifts, a locked period and the open one ---------------

FINANCE_EMAIL = f"finance@{DEMO_DOMAIN}"
WORK_SOURCE = "demo"
# The demo rate card (CNY, minor units): from the first day of last month.
DEMO_RATES = {
    "base_hourly_minor": {"junior": 2800, "mid": 3200, "senior": 3800},
    "pieces": [
        {"kind": "call", "rate_minor": 60},
        {"kind": "chat", "rate_minor": 50},
        {"kind": "ticket", "rate_minor": 120},
        {"kind": "callback", "rate_minor": 80},
        {"kind": "call", "tier": "senior", "skill": "billing", "rate_minor": 90},
    ],
    "urgent_bonus_minor": 3000,
    "quality_bonus": {"min_csat_average": 4.5, "percent_of_piece_pay": 10, "min_rated_contacts": 10},
}
# kind -> (weight, typical handled seconds)
WORK_KINDS = {"call": (6, 300), "chat": (3, 480), "ticket": (2, 900), "callback": (1, 240)}
# Last week's worked shifts: this many demo agents, each working these (weekday, local start hour) for 4 hours;
# the first one's Wednesday shift filled a cover request with a 20.00 bonus on the shift.
WORKED_AGENTS = 12
WORKED_SHIFTS = {
    "student": [(0, 18), (2, 18), (4, 18)],
    "parent": [(1, 10), (3, 10)],
    "retiree": [(0, 8), (2, 8), (4, 8)],
    "freelancer": [(2, 14), (5, 10)],
}
WORKED_HOURS = 4
URGENT_BONUS_MINOR = 2000


class DemoPay(msgspec.Struct, frozen=True):
    rate_cards: int = 0
    work_records: int = 0
    locked_periods: int = 0


async def load_demo_pay(session: AsyncSession, *, site: Site, now: dt.datetime) -> DemoPay:
    """Pay for the demo, so Earnings and the finance pages have something on the first run:

    - a rate card from the first day of last month (only if the site has none; the site then pre-withholds
      China's tax on labour remuneration, as a Shanghai centre would);
    - work records (source ``demo``, one per contact) for every demo agent on the days of last week and of this
      week before today: seeded per agent and day, and unique by external id, so a second run adds none;
    - a few shifts last week worked by the first demo agents (with their check-ins), unless last week's period
      is already locked or has hand-made shifts;
    - last week's period locked by the demo finance user (with every earlier open period, oldest first), and the
      current period open. A locked period stays as it is.
    """

    finance = await service.find_user_by_email(session, FINANCE_EMAIL)
    if finance is None:  # the finance user was removed: the demo leaves pay alone
        return DemoPay()
    zone = site_zone(site)
    today = now.astimezone(zone).date()
    this_monday = today - dt.timedelta(days=today.weekday())
    last_monday = this_monday - dt.timedelta(days=7)

    cards = 0
    if not await rate_cards.rate_cards_of(session, site_id=site.id):
        first_of_last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        # Backdated on purpose: the demo's history starts before today (the form refuses past dates).
        await rate_cards.create_rate_card(
            session,
            site=site,
            effective_from=first_of_last_month,
            rates=DEMO_RATES,
            by=finance,
            today=first_of_last_month,
        )
        await update_site_settings(session, site, withholding_policy="cn_labour")
        cards = 1

    agents = {str(agent["email"]): agent for agent in demo_agents()}
    users = {
        user.email: user
        for user in await session.scalars(select(User).where(User.site_id == site.id, User.email.in_(list(agents))))
    }
    skills = {skill.code: skill.id for skill in await service.list_skills(session, site_id=site.id)}
    last_week = await periods.period_for(session, site=site, day=last_monday)
    if last_week.status is PeriodStatus.open:
        await _demo_worked_shifts(session, site=site, agents=agents, users=users, skills=skills, monday=last_monday)

    days = [last_monday + dt.timedelta(days=n) for n in range((today - last_monday).days)]
    rows = (
        row
        for email, agent in agents.items()
        if email in users
        for day in days
        for row in _demo_work_rows(agent, users[email].id, day, zone, skills)
    )
    records = await bulk_ingest_rows(session, site_id=site.id, rows=rows, now=now)

    locked = 0
    ended = await session.scalars(
        select(PayPeriod)
        .where(PayPeriod.site_id == site.id, PayPeriod.status == PeriodStatus.open, PayPeriod.ends_on <= this_monday)
        .order_by(PayPeriod.starts_on)
    )
    for period in list(ended):
        try:
            async with session.begin_nested():
                await periods.lock_period(session, period_id=period.id, by=finance, now=now)
        except DomainError:  # e.g. a shift of it is still under way: finance locks it later
            break
        locked += 1
    await periods.ensure_periods(session, site=site, today=today)
    await session.flush()
    return DemoPay(rate_cards=cards, work_records=records, locked_periods=locked)


def _demo_work_rows(
    agent: dict[str, object], user_id: int, day: dt.date, zone: ZoneInfo, skills: dict[str, int]
) -> list[dict[str, object]]:
    """One agent's contacts on one day, the same on every run: within their persona's free hours, on their days."""
    email = str(agent["email"])
    rng = random.Random(f"{SEED}:{email}:{day.isoformat()}")
    _share, windows, weekdays = HABITS[str(agent["persona"])]
    if day.weekday() not in weekdays or rng.random() < 0.3:
        return []
    careful = random.Random(f"{SEED}:{email}").random() < 0.35  # about a third earn the quality bonus
    agent_skills = [code for code in agent["skills"] if code in skills]  # type: ignore[attr-defined]
    kinds = list(WORK_KINDS)
    weights = [WORK_KINDS[kind][0] for kind in kinds]
    first, last = rng.choice(windows)
    rows = []
    for index in range(rng.randint(6, 22)):
        kind = rng.choices(kinds, weights=weights)[0]
        start = dt.datetime.combine(day, dt.time(first), tzinfo=zone)
        moment = start + dt.timedelta(seconds=rng.randrange(max(last - first, 1) * 3600))
        skill = rng.choice(agent_skills) if agent_skills else None
        rated = rng.random() < 0.6
        csat = (
            (
                rng.choices([5, 4, 3], weights=[8, 2, 0])[0]
                if careful
                else rng.choices([5, 4, 3, 2], weights=[4, 4, 2, 1])[0]
            )
            if rated
            else None
        )
        rows.append(
            {
                "user_id": user_id,
                "source": WORK_SOURCE,
                "external_id": f"{email.split('@')[0]}-{day.isoformat()}-{index:02d}",
                "occurred_at": moment.astimezone(dt.UTC),
                "kind": kind,
                "count": 1,
                "handled_seconds": int(WORK_KINDS[kind][1] * rng.uniform(0.5, 1.6)),
                "csat": csat,
                "resolved": rng.random() < 0.85,
                "skill_id": skills.get(skill) if skill else None,
            }
        )
    return rows


async def _demo_worked_shifts(
    session: AsyncSession,
    *,
    site: Site,
    agents: dict[str, dict[str, object]],
    users: dict[str, User],
    skills: dict[str, int],
    monday: dt.date,
) -> None:
    """Shifts the first demo agents worked in the week from ``monday`` (hand-made, held, checked in)."""
    zone = site_zone(site)
    week = range(local_slot(monday, 0, 0, zone), local_slot(monday + dt.timedelta(days=7), 0, 0, zone))
    made = await session.scalar(
        select(Shift.id).where(
            Shift.site_id == site.id,
            Shift.origin == ShiftOrigin.manual,
            Shift.start_slot >= week.start,
            Shift.start_slot < week.stop,
        )
    )
    if made is not None:
        return
    for number, (email, agent) in enumerate(list(agents.items())[:WORKED_AGENTS]):
        user = users.get(email)
        if user is None:
            continue
        codes = [code for code in agent["skills"] if code in skills]  # type: ignore[attr-defined]
        for index, (weekday, hour) in enumerate(WORKED_SHIFTS[str(agent["persona"])]):
            start_slot = local_slot(monday + dt.timedelta(days=weekday), hour, 0, zone)
            starts = utc_start(start_slot)
            shift = Shift(
                site_id=site.id,
                skill_id=skills[codes[index % len(codes)]],
                start_slot=start_slot,
                end_slot=start_slot + WORKED_HOURS * 2,
                seats=1,
                taken=1,
                origin=ShiftOrigin.manual,
                bonus_minor=URGENT_BONUS_MINOR if number == 0 and weekday == 2 else 0,
                opened_at=starts - dt.timedelta(days=3),
            )
            session.add(shift)
            await session.flush()
            seat = ShiftSeat(shift_id=shift.id, user_id=user.id, taken_at=starts - dt.timedelta(days=2))
            session.add(seat)
            await session.flush()
            session.add(
                Attendance(
                    seat_id=seat.id,
                    confirmed_at=starts - dt.timedelta(hours=20),
                    started_at=starts + dt.timedelta(minutes=2),
                )
            )
    await session.flush()


async def load_demo_london(session: AsyncSession, *, now: dt.datetime) -> int:
    """The London site (GBP, paid through Stripe): its finance users and agents, a rate card from the first of last
    month, each agent's shifts last week, and every ended period locked; return how many users were new."""
    name, timezone, country = LONDON
    site = await service.ensure_site(session, name=name, timezone=timezone, country=country)
    if not site.settings:
        await update_site_settings(session, site, currency="GBP", payout_rail="stripe", payout_minimum_minor=500)
    general = await service.ensure_skill(
        session, site=site, code="general", name="General enquiries", name_zh="综合咨询"
    )
    password_hash = service.hash_password(DEMO_PASSWORD)
    created = 0
    people = [(role, local, display) for role, local, display in LONDON_STAFF] + [
        (Role.agent, f"london-agent{n}", display) for n, display in enumerate(LONDON_AGENTS, start=1)
    ]
    agents: list[User] = []
    for role, local, display in people:
        user = await service.find_user_by_email(session, f"{local}@{DEMO_DOMAIN}")
        if user is None:
            user = await service.create_user(
                session, site=site, email=f"{local}@{DEMO_DOMAIN}", display_name=display, role=role
            )
            user.password_hash = password_hash
            if role is Role.agent:
                await grant_certification(session, user=user, skill=general, source=ADMIN_OVERRIDE)
                await mark_onboarded(session, user=user)
            created += 1
        if role is Role.agent:
            agents.append(user)
    finance = await service.find_user_by_email(session, f"{LONDON_STAFF[0][1]}@{DEMO_DOMAIN}")
    if finance is None or finance.site_id != site.id:
        return created
    zone = site_zone(site)
    today = now.astimezone(zone).date()
    this_monday = today - dt.timedelta(days=today.weekday())
    last_monday = this_monday - dt.timedelta(days=7)
    if not await rate_cards.rate_cards_of(session, site_id=site.id):
        first_of_last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        await rate_cards.create_rate_card(
            session,
            site=site,
            effective_from=first_of_last_month,
            rates=LONDON_RATES,
            by=finance,
            today=first_of_last_month,
        )
    last_week = await periods.period_for(session, site=site, day=last_monday)
    week = range(local_slot(last_monday, 0, 0, zone), local_slot(this_monday, 0, 0, zone))
    made = await session.scalar(
        select(Shift.id).where(Shift.site_id == site.id, Shift.start_slot >= week.start, Shift.start_slot < week.stop)
    )
    if last_week.status is PeriodStatus.open and made is None:
        for agent in agents:
            for weekday, hour in LONDON_SHIFTS:
                start_slot = local_slot(last_monday + dt.timedelta(days=weekday), hour, 0, zone)
                starts = utc_start(start_slot)
                shift = Shift(
                    site_id=site.id,
                    skill_id=general.id,
                    start_slot=start_slot,
                    end_slot=start_slot + WORKED_HOURS * 2,
                    seats=1,
                    taken=1,
                    origin=ShiftOrigin.manual,
                    opened_at=starts - dt.timedelta(days=3),
                )
                session.add(shift)
                await session.flush()
                session.add(ShiftSeat(shift_id=shift.id, user_id=agent.id, taken_at=starts - dt.timedelta(days=2)))
        await session.flush()
    ended = await session.scalars(
        select(PayPeriod)
        .where(PayPeriod.site_id == site.id, PayPeriod.status == PeriodStatus.open, PayPeriod.ends_on <= this_monday)
        .order_by(PayPeriod.starts_on)
    )
    for period in list(ended):
        try:
            async with session.begin_nested():
                await periods.lock_period(session, period_id=period.id, by=finance, now=now)
        except DomainError:
            break
    await periods.ensure_periods(session, site=site, today=today)
    await session.flush()
    return created


async def load_demo_duty(session: AsyncSession, *, site: Site, now: dt.datetime) -> int:
    """Today's duty roster and log, so the Today board and the duty pages open on a day already under way:
    the coordinator leads until 16:00, a senior agent (named a shift lead) from 16:00 to 23:00, and the log holds
    a closed system problem and a queue spike being handled. Returns the duties written (none if today has some).
    """
    zone = site_zone(site)
    today = now.astimezone(zone).date()
    start, end = day_bounds(site, today)
    if await duties_between(session, site_id=site.id, start=start, end=end):
        return 0
    coordinator = await service.find_user_by_email(session, COORDINATOR_EMAIL)
    senior = next((agent for agent in demo_agents() if agent["tier"] == Tier.senior), None)
    lead = await service.find_user_by_email(session, str(senior["email"])) if senior else None
    if coordinator is None or lead is None:
        return 0
    await name_lead(session, site_id=site.id, user_id=lead.id, by=coordinator, now=now)
    for person, begins, ends in ((coordinator, dt.time(8), dt.time(16)), (lead, dt.time(16), dt.time(23))):
        await add_duty(
            session, site=site, user_id=person.id, day=today, start=begins, end=ends, by=coordinator, now=now
        )
    for entry in demo_log_entries(now):
        await record_item(session, site=site, entry=entry, author=coordinator, now=now)
    return 2


def demo_log_entries(now: dt.datetime) -> list[LeadEntry]:
    """Two items a lead would have written by mid-morning; times relative to ``now`` so they are never in the future."""
    return [
        LeadEntry(
            kind=LogKind.system_problem,
            started_at=now - dt.timedelta(hours=3),
            summary="CRM slow to open customer history",
            details={"system": "CRM", "symptom": "Customer history takes 20 s to load", "affected": "12"},
            action="Raised with IT; agents told to use the order search meanwhile. Fixed by a restart.",
            told="IT on-call, team chat",
            status=LogStatus.closed,
        ),
        LeadEntry(
            kind=LogKind.queue_spike,
            started_at=now - dt.timedelta(minutes=40),
            summary="Billing queue spiking after the invoice run",
            details={"queue": "billing", "size": "35", "wait": "12"},
            action="Asked two general agents to take billing calls.",
            told="Team chat",
            status=LogStatus.in_progress,
        ),
    ]


# Requests: four teams of the demo staff, the routing rules, the responsibility matrix and a dozen requests ------


class DemoStep(msgspec.Struct, frozen=True):
    """One thing done to a demo request: ``who`` a staff login (``coordinator``...), ``asker``, or an agent's
    login (``agent07``: a "me too"); ``what`` the action, ``text`` its words, ``code`` its choice (a pause
    reason, a root cause, a team's key, an outcome, a rating)."""

    who: str
    what: str
    text: str = ""
    code: str = ""


class DemoRequest(msgspec.Struct, frozen=True):
    asker: str  # an agent's login (``agent01``)
    kind: RequestKind
    title: str
    details: str
    expected: str = ""
    hours_ago: int = 2
    steps: tuple[DemoStep, ...] = ()


# team key -> (name, Chinese name, lead's login, members' logins)
DEMO_TEAMS = {
    "scheduling": ("Scheduling", "排班", "coordinator", ("coordinator",)),
    "finance": ("Finance", "财务", "finance", ("finance", "finance2")),
    "systems": ("Systems", "系统", "admin", ("admin",)),
    "training": ("Training", "培训", "coordinator", ("coordinator",)),
}
# kind -> (team key, owner's login or ""); "other" has no rule: the site's queue
DEMO_RULES = {
    RequestKind.schedule: ("scheduling", ""),
    RequestKind.pay: ("finance", ""),
    RequestKind.system: ("systems", "admin"),
    RequestKind.learning: ("training", ""),
    RequestKind.idea: ("scheduling", ""),
}
# (kind, involvement, team key)
DEMO_MATRIX = [
    (RequestKind.schedule, Involvement.acts, "scheduling"),
    (RequestKind.schedule, Involvement.informed, "training"),
    (RequestKind.pay, Involvement.acts, "finance"),
    (RequestKind.pay, Involvement.consulted, "scheduling"),
    (RequestKind.system, Involvement.acts, "systems"),
    (RequestKind.system, Involvement.informed, "scheduling"),
    (RequestKind.learning, Involvement.acts, "training"),
    (RequestKind.idea, Involvement.acts, "scheduling"),
    (RequestKind.idea, Involvement.informed, "systems"),
]
DEMO_REQUESTS = [
    DemoRequest(
        asker="agent01",
        kind=RequestKind.schedule,
        title="My shift shows the wrong end time",
        details="The shift ends at 21:00 on the rota, but my confirmation said 20:00.",
        expected="Tell me which end time is right.",
        hours_ago=30,
        steps=(
            DemoStep("coordinator", "take"),
            DemoStep("coordinator", "answer", "The rota is right: 21:00. The confirmation text was old."),
            DemoStep("coordinator", "resolve", "The confirmation template is fixed.", "schedule_error"),
        ),
    ),
    DemoRequest(
        asker="agent02",
        kind=RequestKind.schedule,
        title="My swap is not showing",
        details="I offered my Saturday shift to a colleague yesterday; neither of us sees the offer.",
        expected="The swap offered again, or told why it failed.",
        hours_ago=1,
    ),
    DemoRequest(
        asker="agent03",
        kind=RequestKind.pay,
        title="Evening hours missing last week",
        details="Wednesday evening's four hours are not on my earnings for last week.",
        expected="Four hours at my base rate.",
        hours_ago=20,
        steps=(
            DemoStep("finance", "take"),
            DemoStep("finance", "ask", "Did you check in for that shift on the phone?", "more_information"),
        ),
    ),
    DemoRequest(
        asker="agent01",
        kind=RequestKind.pay,
        title="How is the quality bonus worked out?",
        details="My earnings show no quality bonus although my ratings were good.",
        hours_ago=6,
        steps=(
            DemoStep("finance2", "take"),
            DemoStep("finance2", "answer", "The bonus needs ten rated contacts in the period; you had seven."),
        ),
    ),
    DemoRequest(
        asker="agent04",
        kind=RequestKind.system,
        title="The softphone drops calls after ten minutes",
        details="Three calls this evening dropped at about ten minutes. The caller hears silence.",
        expected="Calls that stay up.",
        hours_ago=4,
        steps=(
            DemoStep("admin", "note", "Same pattern on two other seats: the VPN's idle timeout?"),
            DemoStep("admin", "answer", "We are looking at it. Until then, dial back if a call drops."),
        ),
    ),
    DemoRequest(
        asker="agent05",
        kind=RequestKind.system,
        title="Signing in takes a minute",
        details="Every morning the sign-in page spins for about a minute.",
        hours_ago=72,
        steps=(
            DemoStep("admin", "answer", "A slow certificate check; it is switched off now."),
            DemoStep("admin", "resolve", "The certificate check is off; sign-in takes two seconds.", "system_fault"),
            DemoStep("asker", "confirm"),
            DemoStep("asker", "rate", "Quick and clear, thank you.", "5"),
        ),
    ),
    DemoRequest(
        asker="agent06",
        kind=RequestKind.learning,
        title="Question 3 of the onboarding quiz",
        details="Two answers seem right to me: both refund routes are allowed in the handbook.",
        hours_ago=3,
    ),
    DemoRequest(
        asker="agent02",
        kind=RequestKind.learning,
        title="Where is the refund policy lesson?",
        details="The course says to read the refund policy, but I cannot find the lesson.",
        hours_ago=50,
        steps=(
            DemoStep("coordinator", "take"),
            DemoStep("coordinator", "resolve", "It is lesson 4 of Billing disputes.", "rules_unclear"),
            DemoStep("asker", "reopen", "Lesson 4 is about chargebacks, not refunds."),
        ),
    ),
    DemoRequest(
        asker="agent03",
        kind=RequestKind.idea,
        title="A darker theme for night shifts",
        details="The white pages are tiring after midnight; a dark theme would help.",
        hours_ago=96,
        steps=(
            DemoStep("agent07", "me_too"),
            DemoStep("agent08", "me_too"),
            DemoStep("agent09", "me_too"),
            DemoStep("agent10", "me_too"),
            DemoStep("coordinator", "outcome", "", "planned"),
        ),
    ),
    DemoRequest(
        asker="agent04",
        kind=RequestKind.idea,
        title="Show the queue size on Home",
        details="Knowing how long the queue is would help me decide to take an extra hour.",
        hours_ago=200,
        steps=(
            DemoStep("agent05", "me_too"),
            DemoStep("agent06", "me_too"),
            DemoStep("coordinator", "outcome", "On the Today board and on Home since this week.", "done"),
        ),
    ),
    DemoRequest(
        asker="agent05",
        kind=RequestKind.idea,
        title="A printed rota on the notice board",
        details="Some of us would like the week's rota on paper too.",
        hours_ago=150,
        steps=(
            DemoStep(
                "coordinator",
                "outcome",
                "The rota changes too often for paper; the app's is always current.",
                "declined",
            ),
        ),
    ),
    DemoRequest(
        asker="agent06",
        kind=RequestKind.other,
        title="I lost my locker key",
        details="I think I left it in the break room on Friday.",
        expected="A spare key before my next shift.",
        hours_ago=2,
    ),
    DemoRequest(
        asker="agent07",
        kind=RequestKind.schedule,
        title="Training session clashes with my shift",
        details="The refresher session is during my Thursday shift.",
        expected="Move me to another session.",
        hours_ago=8,
        steps=(
            DemoStep("coordinator", "take"),
            DemoStep(
                "coordinator",
                "hand_over",
                "The shift stays; the training team books another session. Checked: Tuesday's has seats.",
                "training",
            ),
        ),
    ),
]


async def load_demo_requests(session: AsyncSession, *, site: Site, now: dt.datetime) -> int:
    """Requests for the demo: the teams scheduling, finance, systems and training (the demo staff), their routing
    rules and responsibility matrix, and a dozen requests in every state (queued, worked, waiting for the asker,
    handed over, resolved, reopened, closed and rated; ideas with "me too"s and their outcomes). Made only when the
    site has no team yet, so a second run changes nothing; returns the requests raised."""
    if await session.scalar(select(RequestTeam.id).where(RequestTeam.site_id == site.id).limit(1)) is not None:
        return 0
    people = {
        user.email.split("@")[0]: user
        for user in await session.scalars(
            select(User).where(User.site_id == site.id, User.email.like(f"%@{DEMO_DOMAIN}"))
        )
    }
    logins = {login for _, _, lead, members in DEMO_TEAMS.values() for login in (lead, *members)}
    if not logins <= people.keys():  # a demo staff user was removed: the demo leaves requests alone
        return 0
    coordinator = people["coordinator"]
    teams = {}
    for key, (name, name_zh, lead, members) in DEMO_TEAMS.items():
        team = await routing.create_team(
            session,
            staff=coordinator,
            name=name,
            name_zh=name_zh,
            calendar=Calendar.business,
            lead_id=people[lead].id,
            now=now,
        )
        for local in members:
            await routing.add_member(session, staff=coordinator, team_id=team.id, user_id=people[local].id)
        teams[key] = team
    for kind, (key, owner) in DEMO_RULES.items():
        await routing.set_rule(
            session,
            staff=coordinator,
            kind=kind,
            skill_id=None,
            team_id=teams[key].id,
            owner_id=people[owner].id if owner else None,
        )
    for kind, involvement, key in DEMO_MATRIX:
        await routing.set_responsibility(
            session, staff=coordinator, kind=kind, involvement=involvement, team_id=teams[key].id
        )
    raised = 0
    for demo in DEMO_REQUESTS:
        asker = people.get(demo.asker)
        if asker is None:
            continue
        started = now - dt.timedelta(hours=demo.hours_ago)
        draft = await _demo_draft(session, site=site, asker=asker, demo=demo, now=started)
        if draft is None:
            continue
        request = await intake.raise_request(session, asker=asker, draft=draft, now=started)
        gap = (now - started) / (len(demo.steps) + 1)
        for number, step in enumerate(demo.steps, start=1):
            actor = asker if step.who == "asker" else people.get(step.who)
            if actor is not None:
                await _demo_step(
                    session, request_id=request.id, actor=actor, step=step, teams=teams, now=started + gap * number
                )
        raised += 1
    await session.flush()
    return raised


async def _demo_draft(
    session: AsyncSession, *, site: Site, asker: User, demo: DemoRequest, now: dt.datetime
) -> RequestDraft | None:
    """The demo request's template with the link its kind takes (the asker's latest shift, the latest locked pay period,
    the onboarding course); None when the demo has no such thing to link."""
    link: dict[str, object] = {}
    if demo.kind is RequestKind.schedule:
        shift_id = await session.scalar(
            select(Shift.id)
            .join(ShiftSeat, ShiftSeat.shift_id == Shift.id)
            .where(ShiftSeat.user_id == asker.id, Shift.cancelled_at.is_(None))
            .order_by(Shift.start_slot.desc())
            .limit(1)
        )
        if shift_id is None:
            return None
        link["shift"] = shift_id
    elif demo.kind is RequestKind.pay:
        # The latest period the demo locked, read rather than computed: a request raised late on a Sunday and a
        # demo run just after midnight on Monday disagree about which week is "last week" (and asking for a week
        # the demo never made would make it, open, behind a locked one).
        period_id = await session.scalar(
            select(PayPeriod.id)
            .where(PayPeriod.site_id == site.id, PayPeriod.status != PeriodStatus.open)
            .order_by(PayPeriod.starts_on.desc())
            .limit(1)
        )
        if period_id is None:
            return None
        link["period"] = period_id
    elif demo.kind is RequestKind.learning:
        course_id = await session.scalar(
            select(Course.id).where(Course.site_id == site.id, Course.code == "onboarding-basics")
        )
        if course_id is None:
            return None
        link["course"] = course_id
    return RequestDraft(kind=demo.kind, title=demo.title, details=demo.details, expected=demo.expected, **link)  # type: ignore[arg-type]


async def _demo_step(
    session: AsyncSession,
    *,
    request_id: int,
    actor: User,
    step: DemoStep,
    teams: dict[str, RequestTeam],
    now: dt.datetime,
) -> None:
    done = {"request_id": request_id, "actor": actor, "now": now}
    if step.what == "take":
        await actions.take(session, **done)
    elif step.what == "answer":
        await actions.answer(session, **done, body=step.text)
    elif step.what == "note":
        await actions.note(session, **done, body=step.text)
    elif step.what == "ask":
        await actions.ask_asker(session, **done, body=step.text, reason=step.code)
    elif step.what == "hand_over":
        await actions.hand_over(session, **done, to_team_id=teams[step.code].id, to_user_id=None, note=step.text)
    elif step.what == "resolve":
        await actions.resolve(session, **done, root_cause=step.code, resolution=step.text)
    elif step.what == "confirm":
        await actions.confirm(session, **done)
    elif step.what == "rate":
        await actions.rate(session, **done, rating=int(step.code), comment=step.text)
    elif step.what == "reopen":
        await actions.reopen(session, **done, reason=step.text)
    elif step.what == "me_too":
        await actions.me_too(session, **done, on=True)
    elif step.what == "outcome":
        await actions.set_idea_outcome(session, **done, outcome=IdeaOutcome(step.code), note=step.text)
