"""The day's needs read a day, not a week, and a fixed number of statements whatever the skills and seats.

The Today board, the daily report and the intraday proposals all call ``ops.day_need.day_needs``; on a big centre
it forecast every skill's whole week (seven days of Erlang staffing) to show one day and read the seats as ORM
objects. ``demand.service.plan_day`` forecasts only the day, for every skill from one history read, and must give
exactly the numbers the week view (``plan_week``) shows for that day: history, trend, a day factor and a slot
override included.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site
from backend.core.slots import IsoWeek, local_day_slots, slot_of
from backend.demand.models import ContactInterval
from backend.demand.service import plan_day, plan_week, set_day_scale, set_override
from backend.ops.day_need import day_needs
from tests.factories import Factory, a_held_shift, a_skill, an_agent
from tests.sqlcount import count_queries

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 12, 9)  # a Wednesday
NOW = dt.datetime(2026, 12, 9, 10, 0, tzinfo=SHANGHAI)


def at(clock: str, day: dt.date = DAY) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.fromisoformat(clock), tzinfo=SHANGHAI)


async def history(db: AsyncSession, site: Site, skill_id: int, *, base: int) -> None:
    """Six weeks before DAY's week, every day 08:00-12:00: volume growing week on week, AHT 240-300 s."""
    monday = IsoWeek.of(DAY).monday
    for weeks_back in range(1, 7):
        for offset in range(7):
            day = monday - dt.timedelta(weeks=weeks_back) + dt.timedelta(days=offset)
            for index in range(8):
                offered = base + index + offset + (6 - weeks_back) * 2
                db.add(
                    ContactInterval(
                        site_id=site.id,
                        skill_id=skill_id,
                        slot=slot_of(at("08:00", day)) + index,
                        offered=offered,
                        handled=offered,
                        aht_seconds=240 + 10 * index,
                    )
                )
    await db.flush()


async def test_a_day_planned_alone_is_that_day_of_the_week_plan(db: AsyncSession, site: Site) -> None:
    billing = await a_skill(db, site, "billing")
    sales = await a_skill(db, site, "sales")
    await history(db, site, billing.id, base=10)
    await history(db, site, sales.id, base=30)
    await set_day_scale(db, site=site, skill=billing, day=DAY, factor=1.5)
    await set_override(db, site=site, skill=sales, slot=slot_of(at("09:00")), contacts=70)
    await set_day_scale(db, site=site, skill=sales, day=DAY + dt.timedelta(days=1), factor=2.0)  # another day

    alone = await plan_day(db, site=site, skills=[billing, sales], day=DAY)

    for skill in (billing, sales):
        week = await plan_week(db, site=site, skill=skill, week=IsoWeek.of(DAY))
        that_day = [plan for plan in week.slots if plan.start.date() == DAY]
        assert alone[skill.id] == that_day
        assert [plan.slot for plan in alone[skill.id]] == list(local_day_slots(DAY, SHANGHAI))
    at_nine = {skill.id: alone[skill.id][18] for skill in (billing, sales)}  # 09:00 is the 19th half-hour
    assert at_nine[billing.id].day_factor == 1.5
    assert at_nine[billing.id].contacts == pytest.approx(at_nine[billing.id].forecast_contacts * 1.5)
    assert (at_nine[sales.id].contacts, at_nine[sales.id].overridden, at_nine[sales.id].day_factor) == (70, True, 1.0)
    assert at_nine[billing.id].agents > 0
    assert at_nine[sales.id].agents > 0
    assert sum(plan.agents for plan in alone[billing.id][:16]) == 0  # nothing before 08:00 in the history


async def test_day_needs_reads_the_same_few_statements_for_one_skill_or_three(
    db: AsyncSession, site: Site, people: Factory
) -> None:
    """Statements: the seats (one read of plain columns), the skills, the history of every skill, the overrides,
    the day factors, and the day's actual volumes: six, however many skills and seats."""
    billing = await a_skill(db, site, "billing")
    await history(db, site, billing.id, base=10)
    agent = await an_agent(people, skills=[billing], display_name="Ana")
    await a_held_shift(db, agent, at("08:00"), slots=8)
    await db.commit()
    with count_queries(db.bind) as one_skill:
        small = await day_needs(db, site=site, day=DAY, now=NOW)

    for code, base in (("sales", 30), ("tech", 20)):
        skill = await a_skill(db, site, code)
        await history(db, site, skill.id, base=base)
        for name in ("Bo", "Cy", "Di"):
            other = await an_agent(people, skills=[skill], display_name=f"{name} {code}")
            await a_held_shift(db, other, at("09:00"), slots=6, skill=skill)
    await db.commit()
    with count_queries(db.bind) as three_skills:
        big = await day_needs(db, site=site, day=DAY, now=NOW)

    assert (len(small.skills), len(small.seats), len(big.skills), len(big.seats)) == (1, 1, 3, 7)
    reads = [[sql for sql in counted.statements if sql.startswith("SELECT")] for counted in (one_skill, three_skills)]
    assert [len(found) for found in reads] == [6, 6], reads[1]
    ten = slot_of(at("10:00"))
    assert [skill.scheduled[skill.slots.index(ten)] for skill in big.skills] == [1, 3, 3]
