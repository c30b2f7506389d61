"""Demo data: a Shanghai contact centre with three skills and about sixty part-time agents.

Agents follow the habits real part-timers have: students free in the
evenings, parents in school hours, retirees in the mornings, freelancers in
scattered blocks. The habits are kept here as data so the availability issue
can turn them into offered half-hours. Loading is idempotent: people are
matched by email and skills by code, so a second run changes nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service
from backend.accounts.models import Role, Site, Tier
from backend.availability.demo import load_demo_availability
from backend.core.db import utcnow
from backend.core.settings import Settings
from backend.core.slots import slot_of
from backend.demand.demo import load_demo_history
from backend.learning.service import ADMIN_OVERRIDE, grant_certification, mark_onboarded
from backend.shifts.market import create_open_shift
from backend.shifts.models import Shift, ShiftOrigin

DEMO_PASSWORD = "weft-demo-2026"
DEMO_DOMAIN = "weft.demo"
AGENT_COUNT = 60
SEED = 20261121

SKILLS = [
    ("general", "General enquiries", "综合咨询"),
    ("billing", "Billing disputes", "账单争议"),
    ("tech", "Technical support triage", "技术支持分诊"),
]

# persona -> (share of agents, typical free windows as (first hour, last hour) local time, weekdays 0=Mon)
HABITS: dict[str, tuple[float, list[tuple[int, int]], list[int]]] = {
    "student": (0.40, [(18, 22)], [0, 1, 2, 3, 4, 5, 6]),
    "parent": (0.25, [(9, 15)], [0, 1, 2, 3, 4]),
    "retiree": (0.20, [(8, 12)], [0, 1, 2, 3, 4, 5]),
    "freelancer": (0.15, [(10, 12), (14, 17), (20, 23)], [0, 2, 4, 5, 6]),
}

SURNAMES = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林"]
GIVEN = [
    "芳",
    "伟",
    "娜",
    "敏",
    "静",
    "磊",
    "洋",
    "艳",
    "勇",
    "军",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "霞",
    "平",
    "刚",
    "婷",
    "欣",
]

STAFF = [
    (Role.admin, "admin", "Ada Admin"),
    (Role.coordinator, "coordinator", "陈协调 Chen Coordinator"),
    (Role.finance, "finance", "Fay Finance"),
]
DEMO_LOGINS = [(role.value, f"{local}@{DEMO_DOMAIN}", DEMO_PASSWORD) for role, local, _ in STAFF] + [
    ("agent", f"agent01@{DEMO_DOMAIN}", DEMO_PASSWORD)
]


def demo_agents() -> list[dict[str, object]]:
    """The demo agents, the same on every run (a fixed seed)."""
    rng = random.Random(SEED)
    personas = [name for name, (share, _, _) in HABITS.items() for _ in range(round(share * AGENT_COUNT))]
    agents = []
    for index, persona in enumerate(personas[:AGENT_COUNT], start=1):
        skills = ["general"] + [code for code, chance in (("billing", 0.45), ("tech", 0.35)) if rng.random() < chance]
        tier = rng.choices([Tier.junior, Tier.mid, Tier.senior], weights=[5, 3, 2])[0]
        agents.append(
            {
                "email": f"agent{index:02d}@{DEMO_DOMAIN}",
                "name": rng.choice(SURNAMES) + rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.5 else ""),
                "persona": persona,
                "tier": tier,
                "locale": "zh-Hans" if rng.random() < 0.7 else "en",
                "skills": skills,
            }
        )
    return agents


class DemoLoaded(msgspec.Struct, frozen=True):
    users: int
    availability_weeks: int
    history_rows: int
    open_shifts: int = 0


async def load_demo(session: AsyncSession, settings: Settings) -> DemoLoaded:
    """Create what is missing of the demo world: people, their availability, eight weeks of contact history."""
    site = await service.ensure_site(session, name=settings.site_name, timezone=settings.site_timezone, country="CN")
    users = await load_demo_people(session, site)
    now = utcnow()
    weeks = await load_demo_availability(session, site=site, now=now)
    rows = await load_demo_history(session, site=site, now=now)
    shifts = await load_demo_open_shifts(session, site=site, now=now)
    return DemoLoaded(users=users, availability_weeks=weeks, history_rows=rows, open_shifts=shifts)


# (days ahead, local start, hours, skill, seats, urgent bonus in minor units)
OPEN_SHIFTS = [(1, 18, 3, "general", 5, 0), (2, 9, 4, "billing", 2, 2000), (3, 20, 3, "tech", 1, 0)]


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
    zone = ZoneInfo(site.timezone)
    today = now.astimezone(zone).date()
    opened = now - dt.timedelta(hours=1)  # every tier's window has passed: the demo agent can claim at once
    for days, hour, hours, skill, seats, bonus_minor in OPEN_SHIFTS:
        start = dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour), tzinfo=zone)
        end = start + dt.timedelta(hours=hours)
        await create_open_shift(
            session, site=site, skill=skill, start=start, end=end, seats=seats, bonus_minor=bonus_minor, now=opened
        )
    return len(OPEN_SHIFTS)


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
    await session.flush()
    return created
