"""Demo contact history: eight weeks for the demo skills, shaped like a real Chinese contact centre.

Volume has a daily shape (a morning ramp, a lunch dip, an evening peak after
work), a weekly one (quieter weekends), slow growth, a public holiday with
far fewer contacts, and Poisson noise from a fixed seed, so the forecast and
its backtest have something honest to work on. The rows go in through the
real CSV import, so the demo exercises the same validation as an upload.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, Skill
from backend.accounts.zones import site_zone
from backend.core.slots import IsoWeek, local_day_slots, local_start, slot_of, utc_start
from backend.demand.actuals import Actual, record_actuals
from backend.demand.history import chunks_of, import_history
from backend.demand.models import ContactInterval
from backend.demand.service import public_holidays

DEMO_WEEKS = 8
SEED = 20261122
WEEKLY_GROWTH = 0.01
HOLIDAY_FACTOR = 0.35
WEEKDAY_FACTOR = (1.0, 0.97, 0.95, 0.93, 0.9, 0.62, 0.5)  # Monday .. Sunday
# skill code -> (peak contacts per slot, mean AHT seconds)
SKILL_PROFILES = {"general": (60.0, 240.0), "billing": (24.0, 420.0), "tech": (32.0, 360.0)}


def daily_shape(hour: float) -> float:
    """Share of the peak at a local time: open 08:00-23:00, busy mid-morning and after work, dipping at lunch."""
    if hour < 8 or hour >= 23:
        return 0.0
    ramp = min(1.0, (hour - 7.5) / 2)
    morning = 0.55 * math.exp(-(((hour - 10.5) / 1.8) ** 2))
    evening = 0.75 * math.exp(-(((hour - 20.0) / 1.6) ** 2))
    lunch = 0.25 * math.exp(-(((hour - 12.5) / 0.6) ** 2))
    return max(0.0, ramp * (0.35 + morning + evening - lunch))


def poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 40:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def demo_holidays(span: range, zone: ZoneInfo, country: str) -> set[dt.date]:
    """The public holidays inside the span or, if none falls there, the nearest one moved in by whole weeks."""
    first, last = local_start(span.start, zone).date(), local_start(span.stop - 1, zone).date()
    known = public_holidays(country, {first.year - 1, first.year, last.year, last.year + 1})
    inside = {day for day in known if first <= day <= last}
    if inside or not known:
        return inside
    nearest = min(known, key=lambda day: min(abs((day - first).days), abs((day - last).days)))
    weeks = (first - nearest).days // 7 + 1 if nearest < first else -((nearest - last).days // 7 + 1)
    return {nearest + dt.timedelta(weeks=weeks)}


def demo_rows(skills: list[Skill], span: range, zone: ZoneInfo, holidays: set[dt.date]) -> Iterator[str]:
    """CSV lines (header first) for the span, the same on every run."""
    rng = random.Random(SEED)
    yield "interval_start,skill,offered,handled,aht_seconds,abandoned\n"
    for slot in span:
        local = local_start(slot, zone)
        week_index = (slot - span.start) // (7 * 48)
        day_factor = WEEKDAY_FACTOR[local.weekday()] * (HOLIDAY_FACTOR if local.date() in holidays else 1.0)
        for skill in skills:
            peak, aht = SKILL_PROFILES[skill.code]
            mean = peak * daily_shape(local.hour + local.minute / 60) * day_factor * (1 + WEEKLY_GROWTH) ** week_index
            offered = poisson(rng, mean)
            abandoned = sum(1 for _ in range(offered) if rng.random() < 0.04)
            handled = offered - abandoned
            handle_time = round(aht * rng.uniform(0.85, 1.15), 1) if handled else 0
            start = utc_start(slot).isoformat()
            yield f"{start},{skill.code},{offered},{handled},{handle_time},{abandoned}\n"


async def load_demo_history(session: AsyncSession, *, site: Site, now: dt.datetime) -> int:
    """Eight weeks of history ending at the start of the current week (site time); returns rows written.

    Idempotent: a site that already has history in those weeks is left alone.
    """
    zone = site_zone(site)
    this_week = IsoWeek.containing(now, zone)
    span = range(this_week.shifted(-DEMO_WEEKS).slots(zone).start, this_week.slots(zone).start)
    existing = await session.scalar(
        select(func.count())
        .select_from(ContactInterval)
        .where(ContactInterval.site_id == site.id, ContactInterval.slot >= span.start, ContactInterval.slot < span.stop)
    )
    skills = list(
        await session.scalars(
            select(Skill).where(Skill.site_id == site.id, Skill.code.in_(SKILL_PROFILES)).order_by(Skill.code)
        )
    )
    if existing or not skills:
        return 0
    holidays = demo_holidays(span, zone, site.country)
    lines = demo_rows(skills, span, zone, holidays)
    result = await import_history(session, site_id=site.id, chunks=chunks_of(lines), imported_by_id=None, now=now)
    return result.rows


# Today runs a little busier than the plan, so the demo board has a reforecast to show.
DEMO_TODAY_FACTOR = 1.2


def demo_actuals(skills: list[Skill], span: range, zone: ZoneInfo) -> list[Actual]:
    """Today's finished half-hours as the contact-centre system would post them, the same on every run."""
    rng = random.Random(SEED + 1)
    rows = []
    for slot in span:
        local = local_start(slot, zone)
        for skill in skills:
            peak, aht = SKILL_PROFILES[skill.code]
            offered = poisson(rng, peak * daily_shape(local.hour + local.minute / 60) * DEMO_TODAY_FACTOR)
            abandoned = sum(1 for _ in range(offered) if rng.random() < 0.04)
            handled = offered - abandoned
            rows.append(
                Actual(utc_start(slot), skill.code, offered, handled, round(aht * rng.uniform(0.9, 1.1), 1), abandoned)
            )
    return rows


async def load_demo_actuals(session: AsyncSession, *, site: Site, now: dt.datetime) -> int:
    """Actual volumes for today's finished half-hours (local day, site time); returns rows posted.

    Posting again replaces the same intervals, so a second run changes nothing.
    """
    zone = site_zone(site)
    today = local_day_slots(now.astimezone(zone).date(), zone)
    span = range(today.start, max(today.start, slot_of(now)))
    skills = list(
        await session.scalars(
            select(Skill).where(Skill.site_id == site.id, Skill.code.in_(SKILL_PROFILES)).order_by(Skill.code)
        )
    )
    rows = demo_actuals(skills, span, zone)
    if rows:
        await record_actuals(session, site_id=site.id, rows=rows, now=now)
    return len(rows)
