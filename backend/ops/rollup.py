"""The quality dashboard's numbers per agent, skill and week: summed live, or read from the worker's roll-up.

A cell is one agent's work on one skill in one site-local ISO week: pieces handled (the records'
``count``), handle time, CSAT and resolution sums, and the half-hours worked (attendance's
``worked_seats`` rule, counted in the week the shift starts). Every figure the page shows is a ratio
of sums of cells, so summing cells again (by agent, skill, tier or week) never averages averages.

Summing 13 weeks of work records live is too slow for a centre of 2,000 agents, so the worker
(``refresh_quality_rollups``, once a minute) writes each site's weeks into ``ops_quality_weeks`` and
stamps them in ``ops_quality_rollups``. The rule for when a week is summed again:

- a week never summed is summed (newest first);
- a week is summed again ``FRESH_MINUTES`` after its last sum while records for it may still arrive,
  that is until ``LATE_RECORDS_DAYS`` after it ends (the current week and the one before, in practice);
- at most ``WEEKS_PER_RUN`` weeks per site per run, so one run stays short.

A page reads stamped weeks from the roll-up and sums the rest live (``cells``): it never writes.

The same run counts each agent's offered half-hours (availability) per week into ``ops_offer_weeks`` for the
fairness dashboard, under the same stamp (``offered``): counting ~600k availability rows live on every request
was what kept that page over its goal.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Select, and_, case, delete, func, insert, literal, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import ColumnElement

from backend.accounts.models import Role, Site, User
from backend.accounts.zones import site_zone
from backend.availability.models import OfferedSlot
from backend.core.slots import IsoWeek, slot_of, utc_start
from backend.ops.models import OfferWeek, QualityRollup, QualityWeek
from backend.shifts import attendance
from backend.work.models import WorkRecord

ROLLUP_WEEKS = 26  # the roll-up keeps this many weeks up to the current one (the page's longest choice)
FRESH_MINUTES = 15
LATE_RECORDS_DAYS = 7
WEEKS_PER_RUN = 2
ROLLUP_GATE = 0x0F5C  # the advisory-lock class of the roll-up (``work.service`` uses its own for intake)

SUMS = (
    "contacts",
    "timed_contacts",
    "handled_seconds",
    "csat_sum",
    "csat_count",
    "resolved_count",
    "outcome_count",
    "worked_slots",
)


def window(now: dt.datetime, zone: ZoneInfo, weeks: int) -> list[IsoWeek]:
    """The last ``weeks`` site-local weeks, oldest first, ending with the one holding ``now``."""
    current = IsoWeek.containing(now, zone)
    return [current.shifted(offset) for offset in range(1 - weeks, 1)]


def _week_case(column: Any, bounds: list[tuple[str, Any, Any]]) -> ColumnElement[Any]:
    """The label of the week ``column`` falls in (``[start, end)`` bounds), else NULL."""
    return case(*[(and_(column >= start, column < end), label) for label, start, end in bounds], else_=None)


def _in_any(column: Any, bounds: list[tuple[str, Any, Any]]) -> ColumnElement[bool]:
    return or_(*[and_(column >= start, column < end) for _label, start, end in bounds])


def live_cells(*, site_id: int, weeks: list[IsoWeek], zone: ZoneInfo, now: dt.datetime) -> Select[Any]:
    """The cells of ``weeks`` summed from the work records and the seats worked, as one SELECT.

    Columns: ``week`` (text), ``user_id``, ``skill_id`` and the ``SUMS``.
    """
    slot_bounds = [(str(week), week.slots(zone).start, week.slots(zone).stop) for week in weeks]
    time_bounds = [(label, utc_start(start), utc_start(stop)) for label, start, stop in slot_bounds]
    zero = literal(0, Integer)
    record_week = _week_case(WorkRecord.occurred_at, time_bounds).label("week")
    records = (
        select(
            record_week,
            WorkRecord.user_id,
            WorkRecord.skill_id,
            func.sum(WorkRecord.count).label("contacts"),
            func.sum(case((WorkRecord.handled_seconds.is_not(None), WorkRecord.count), else_=0)).label(
                "timed_contacts"
            ),
            func.sum(func.coalesce(WorkRecord.handled_seconds, 0)).label("handled_seconds"),
            func.sum(func.coalesce(WorkRecord.csat, 0)).label("csat_sum"),
            func.count(WorkRecord.csat).label("csat_count"),
            func.sum(case((WorkRecord.resolved.is_(True), 1), else_=0)).label("resolved_count"),
            func.count(WorkRecord.resolved).label("outcome_count"),
            zero.label("worked_slots"),
        )
        .where(WorkRecord.site_id == site_id, _in_any(WorkRecord.occurred_at, time_bounds))
        .group_by(record_week, WorkRecord.user_id, WorkRecord.skill_id)
    )
    worked = attendance.worked_seats(site_id=site_id, until_slot=slot_of(now)).subquery()
    seat_week = _week_case(worked.c.start_slot, slot_bounds).label("week")
    seats = (
        select(
            seat_week,
            worked.c.user_id,
            worked.c.skill_id,
            *[zero.label(name) for name in SUMS[:-1]],
            func.sum(worked.c.end_slot - worked.c.start_slot).label("worked_slots"),
        )
        .where(_in_any(worked.c.start_slot, slot_bounds))
        .group_by(seat_week, worked.c.user_id, worked.c.skill_id)
    )
    both = union_all(records, seats).subquery()
    return select(
        both.c.week, both.c.user_id, both.c.skill_id, *[func.sum(both.c[name]).label(name) for name in SUMS]
    ).group_by(both.c.week, both.c.user_id, both.c.skill_id)


def rolled_cells(*, site_id: int, weeks: list[IsoWeek]) -> Select[Any]:
    """The same columns as ``live_cells``, read from the roll-up."""
    return select(
        QualityWeek.week,
        QualityWeek.user_id,
        QualityWeek.skill_id,
        *[getattr(QualityWeek, name).label(name) for name in SUMS],
    ).where(QualityWeek.site_id == site_id, QualityWeek.week.in_([str(week) for week in weeks]))


async def stamps(session: AsyncSession, *, site_id: int, weeks: list[IsoWeek]) -> dict[str, dt.datetime]:
    """When each of ``weeks`` was last rolled up (weeks never rolled up are absent)."""
    rows = await session.execute(
        select(QualityRollup.week, QualityRollup.computed_at).where(
            QualityRollup.site_id == site_id, QualityRollup.week.in_([str(week) for week in weeks])
        )
    )
    return {week: computed_at for week, computed_at in rows}


def cells(*, site_id: int, weeks: list[IsoWeek], rolled: set[str], zone: ZoneInfo, now: dt.datetime) -> Any:
    """Every cell of ``weeks`` as a subquery: from the roll-up where ``rolled`` names the week, live otherwise."""
    stored = [week for week in weeks if str(week) in rolled]
    live = [week for week in weeks if str(week) not in rolled]
    parts: list[Select[Any]] = []
    if stored:
        parts.append(rolled_cells(site_id=site_id, weeks=stored))
    if live:
        parts.append(live_cells(site_id=site_id, weeks=live, zone=zone, now=now))
    if len(parts) == 1:
        return parts[0].subquery("cells")
    return union_all(*parts).subquery("cells")


def live_offered(*, site_id: int, weeks: list[IsoWeek], zone: ZoneInfo) -> Select[Any]:
    """The half-hours each of the site's agents offered in ``weeks``, counted from availability, as one SELECT.

    Columns: ``week`` (text), ``user_id``, ``offered_slots``; no row where an agent offered nothing.
    """
    bounds = [(str(week), week.slots(zone).start, week.slots(zone).stop) for week in weeks]
    slot_week = _week_case(OfferedSlot.slot, bounds).label("week")
    agents = select(User.id).where(User.site_id == site_id, User.role == Role.agent).scalar_subquery()
    return (
        select(slot_week, OfferedSlot.user_id, func.count().label("offered_slots"))
        .where(OfferedSlot.user_id.in_(agents), _in_any(OfferedSlot.slot, bounds))
        .group_by(slot_week, OfferedSlot.user_id)
    )


def offered(*, site_id: int, weeks: list[IsoWeek], rolled: set[str], zone: ZoneInfo) -> Any:
    """Offered half-hours per agent and week of ``weeks`` as a subquery (``week``, ``user_id``,
    ``offered_slots``): from the roll-up where ``rolled`` names the week, counted live for the other weeks only."""
    stored = [str(week) for week in weeks if str(week) in rolled]
    live = [week for week in weeks if str(week) not in rolled]
    parts: list[Select[Any]] = []
    if stored:
        parts.append(
            select(OfferWeek.week, OfferWeek.user_id, OfferWeek.offered_slots).where(
                OfferWeek.site_id == site_id, OfferWeek.week.in_(stored)
            )
        )
    if live:
        parts.append(live_offered(site_id=site_id, weeks=live, zone=zone))
    if len(parts) == 1:
        return parts[0].subquery("offered")
    return union_all(*parts).subquery("offered")


# The worker's job ------------------------------------------------------------------------------


def due_weeks(
    weeks: list[IsoWeek], stamped: dict[str, dt.datetime], *, zone: ZoneInfo, now: dt.datetime
) -> list[IsoWeek]:
    """The weeks to sum now, by the rule in the module docstring (newest first, at most ``WEEKS_PER_RUN``)."""
    due = []
    for week in reversed(weeks):
        computed_at = stamped.get(str(week))
        ends = utc_start(week.slots(zone).stop)
        settled = computed_at is not None and computed_at >= ends + dt.timedelta(days=LATE_RECORDS_DAYS)
        fresh = computed_at is not None and now - computed_at < dt.timedelta(minutes=FRESH_MINUTES)
        if not settled and not fresh:
            due.append(week)
    return due[:WEEKS_PER_RUN]


async def roll_up(session: AsyncSession, *, site: Site, weeks: list[IsoWeek], now: dt.datetime) -> None:
    """Replace the site's roll-up rows of ``weeks`` with a fresh sum, and stamp them with ``now``."""
    if not weeks:
        return
    labels = [str(week) for week in weeks]
    await session.execute(delete(QualityWeek).where(QualityWeek.site_id == site.id, QualityWeek.week.in_(labels)))
    await session.execute(delete(QualityRollup).where(QualityRollup.site_id == site.id, QualityRollup.week.in_(labels)))
    await session.execute(delete(OfferWeek).where(OfferWeek.site_id == site.id, OfferWeek.week.in_(labels)))
    zone = site_zone(site)
    fresh = live_cells(site_id=site.id, weeks=weeks, zone=zone, now=now).subquery()
    await session.execute(
        insert(QualityWeek).from_select(
            ["site_id", "week", "user_id", "skill_id", *SUMS],
            select(literal(site.id), fresh.c.week, fresh.c.user_id, fresh.c.skill_id, *[fresh.c[n] for n in SUMS]),
        )
    )
    counted = live_offered(site_id=site.id, weeks=weeks, zone=zone).subquery()
    await session.execute(
        insert(OfferWeek).from_select(
            ["site_id", "week", "user_id", "offered_slots"],
            select(literal(site.id), counted.c.week, counted.c.user_id, counted.c.offered_slots),
        )
    )
    session.add_all([QualityRollup(site_id=site.id, week=label, computed_at=now) for label in labels])
    await session.flush()


async def _claim_site(session: AsyncSession, site_id: int) -> bool:
    """Whether this worker may sum the site now: on PostgreSQL a transaction-level advisory lock another worker
    holding it makes us skip the site; SQLite writes one transaction at a time already."""
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return True
    return bool(await session.scalar(select(func.pg_try_advisory_xact_lock(ROLLUP_GATE, site_id % 2**31))))


async def refresh_quality_rollups(session: AsyncSession, *, now: dt.datetime) -> int:
    """The worker's job: sum every site's due weeks (``due_weeks``); answers how many weeks it summed.

    A site another worker is summing right now is left to that worker.
    """
    summed = 0
    for site in list(await session.scalars(select(Site).order_by(Site.id))):
        zone = site_zone(site)
        weeks = window(now, zone, ROLLUP_WEEKS)
        due = due_weeks(weeks, await stamps(session, site_id=site.id, weeks=weeks), zone=zone, now=now)
        if due and await _claim_site(session, site.id):
            await roll_up(session, site=site, weeks=due, now=now)
            summed += len(due)
    return summed
