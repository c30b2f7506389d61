"""Demo availability: the demo agents' personas turned into offered half-hours.

Students offer evenings, parents school hours, retirees mornings and
freelancers scattered blocks (``backend.accounts.demo.HABITS``); each agent skips some
days, trims some windows, marks some blocks "if needed" and wants a weekly
cap. The randomness is seeded per agent and week, so every run offers the
same, and only weeks an agent has not answered yet are written.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.demo import DEMO_DOMAIN, HABITS, SEED, demo_agents
from backend.accounts.models import Role, Site, User
from backend.accounts.zones import user_zone
from backend.availability import service
from backend.availability.models import AvailabilityWeek, Preference
from backend.core.slots import IsoWeek, local_slot

DEMO_WEEKS_AHEAD = 2
SKIP_DAY_CHANCE = 0.25
IF_NEEDED_CHANCE = 0.25
FREELANCE_WINDOW_CHANCE = 0.5
CAP_HOURS = [8, 10, 12, 14, 16, 20]
DEMO_EDITOR = "system"


def persona_offers(persona: str, week: IsoWeek, user: User, rng: random.Random) -> tuple[service.Offers, float]:
    """A plausible week for one persona, and the cap the agent wants."""
    _share, windows, weekdays = HABITS[persona]
    zone = user_zone(user)
    offers: service.Offers = {}
    for weekday in weekdays:
        if rng.random() < SKIP_DAY_CHANCE:
            continue
        day = week.days()[weekday]
        for first_hour, last_hour in windows:
            if persona == "freelancer" and rng.random() > FREELANCE_WINDOW_CHANCE:
                continue
            start = local_slot(day, first_hour, 0, zone) + rng.choice([0, 0, 1, 2])
            stop = local_slot(day, last_hour, 0, zone) - rng.choice([0, 0, 1, 2])
            preference = Preference.if_needed if rng.random() < IF_NEEDED_CHANCE else Preference.preferred
            offers.update(dict.fromkeys(range(start, stop), preference))
    return offers, float(rng.choice(CAP_HOURS))


async def load_demo_availability(session: AsyncSession, *, site: Site, now: dt.datetime) -> int:
    """Offer availability for every demo agent this week and the next two; return how many weeks were written."""
    personas = {str(agent["email"]): str(agent["persona"]) for agent in demo_agents()}
    agents = await session.scalars(
        select(User).where(User.site_id == site.id, User.role == Role.agent, User.email.in_(personas)).order_by(User.id)
    )
    written = 0
    for user in agents:
        answered = set(await session.scalars(select(AvailabilityWeek.week).where(AvailabilityWeek.user_id == user.id)))
        current = IsoWeek.containing(now, user_zone(user))
        for week in (current.shifted(n) for n in range(DEMO_WEEKS_AHEAD + 1)):
            if str(week) in answered:
                continue
            rng = random.Random(f"{SEED}:{DEMO_DOMAIN}:{user.email}:{week}")
            offers, cap = persona_offers(personas[user.email], week, user, rng)
            rules = service.week_rules(user=user, site=site, week=week, now=now, editor_role=DEMO_EDITOR)
            await service.replace_week(session, user=user, rules=rules, offers=offers, max_hours=cap, editor_id=None)
            written += 1
    return written
