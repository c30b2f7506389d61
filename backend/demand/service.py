"""Demand rules: a skill's week of forecast contacts, the coordinator's adjustments, and the agents it needs.

Reads history, overrides and day scales, runs the pure forecast, and staffs
each slot with Erlang C (or Erlang A, by the site's setting) against the
site's targets. Offered availability comes from the availability domain.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import holidays as holiday_calendars
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, Skill, User
from backend.accounts.site_settings import SiteSettings, site_settings
from backend.accounts.zones import site_zone
from backend.availability.service import agents_available_at, offered_by_slot
from backend.core.errors import DomainError, NotFound
from backend.core.i18n import gettext as _
from backend.core.slots import SLOT_SECONDS, IsoWeek, local_day_slots, local_start, utc_start
from backend.demand import erlang
from backend.demand.forecast import Backtest, Observed, backtest, forecast_days
from backend.demand.models import ContactInterval, DayScale, ForecastOverride, HistoryImport

HISTORY_WEEKS = 12  # loaded before a target week: six for the level, more for the trend and holidays
MAX_DAY_FACTOR = 10.0
MAX_SLOT_CONTACTS = 1_000_000.0


@dataclass(frozen=True)
class SlotPlan:
    """One slot of a skill's week: what is expected and how many agents it needs."""

    slot: int
    start: dt.datetime
    contacts: float
    forecast_contacts: float
    aht_seconds: float
    agents: int
    overridden: bool
    day_factor: float
    holiday: bool


@dataclass(frozen=True)
class WeekPlan:
    skill: Skill
    week: IsoWeek
    zone: ZoneInfo
    model: str
    slots: list[SlotPlan]
    day_factors: dict[dt.date, float]


def public_holidays(country: str, years: set[int]) -> set[dt.date]:
    """The country's public holidays (the ``holidays`` package); none for a code it does not know."""
    try:
        return set(holiday_calendars.country_holidays(country, years=sorted(years)).keys())
    except NotImplementedError:
        return set()


async def skill_by_code(session: AsyncSession, *, site_id: int, code: str) -> Skill:
    skill = await session.scalar(select(Skill).where(Skill.site_id == site_id, Skill.code == code.strip().lower()))
    if skill is None:
        raise NotFound("skill")
    return skill


async def load_history(session: AsyncSession, *, site_id: int, skill_id: int, slots: range) -> dict[int, Observed]:
    return (await load_histories(session, site_id=site_id, skill_ids=[skill_id], slots=slots))[skill_id]


async def load_histories(
    session: AsyncSession, *, site_id: int, skill_ids: Sequence[int], slots: range
) -> dict[int, dict[int, Observed]]:
    """The history of several skills over ``slots`` in one read: skill id → slot → what was observed."""
    rows = await session.execute(
        select(
            ContactInterval.skill_id,
            ContactInterval.slot,
            ContactInterval.offered,
            ContactInterval.handled,
            ContactInterval.aht_seconds,
        )
        .where(ContactInterval.site_id == site_id, ContactInterval.skill_id.in_(skill_ids))
        .where(ContactInterval.slot >= slots.start, ContactInterval.slot < slots.stop)
    )
    found: dict[int, dict[int, Observed]] = {skill_id: {} for skill_id in skill_ids}
    for skill_id, slot, offered, handled, aht in rows:
        found[skill_id][slot] = Observed(offered, handled, aht)
    return found


def _years(slots: range, zone: ZoneInfo) -> set[int]:
    return {local_start(slots.start, zone).year, local_start(slots.stop - 1, zone).year}


def staffing_targets(settings: SiteSettings) -> erlang.Targets:
    return erlang.Targets(
        service_level=settings.service_level_target,
        answer_within_seconds=settings.answer_within_seconds,
        max_occupancy=settings.max_occupancy,
        shrinkage=settings.shrinkage,
    )


def staff_slot(contacts: float, aht_seconds: float, settings: SiteSettings) -> erlang.Staffing:
    """Agents to schedule for one slot, by the site's model and targets."""
    targets = staffing_targets(settings)
    if settings.staffing_model == "erlang_a":
        return erlang.erlang_a_staffing(
            contacts=contacts,
            aht=aht_seconds,
            interval=SLOT_SECONDS,
            targets=targets,
            patience=settings.average_patience_seconds,
        )
    return erlang.erlang_c_staffing(contacts=contacts, aht=aht_seconds, interval=SLOT_SECONDS, targets=targets)


async def _adjustments(
    session: AsyncSession, *, site_id: int, skill_ids: Sequence[int], slots: range, days: Sequence[dt.date]
) -> tuple[dict[tuple[int, int], float], dict[tuple[int, dt.date], float]]:
    """Slot overrides by (skill id, slot) and day factors by (skill id, day), for several skills in two reads."""
    overrides = await session.execute(
        select(ForecastOverride.skill_id, ForecastOverride.slot, ForecastOverride.contacts).where(
            ForecastOverride.site_id == site_id,
            ForecastOverride.skill_id.in_(skill_ids),
            ForecastOverride.slot >= slots.start,
            ForecastOverride.slot < slots.stop,
        )
    )
    scales = await session.execute(
        select(DayScale.skill_id, DayScale.day, DayScale.factor).where(
            DayScale.site_id == site_id, DayScale.skill_id.in_(skill_ids), DayScale.day.in_(days)
        )
    )
    return (
        {(skill_id, slot): contacts for skill_id, slot, contacts in overrides},
        {(skill_id, day): factor for skill_id, day, factor in scales},
    )


async def _plans(
    session: AsyncSession, *, site: Site, skills: Sequence[Skill], week: IsoWeek, days: Sequence[dt.date]
) -> dict[int, tuple[list[SlotPlan], dict[dt.date, float]]]:
    """Each skill's plan for ``days`` of ``week`` (skill id → slots and day factors): the forecast from the
    history before the week, the coordinator's day factors and slot overrides, and required agents per slot.
    History and adjustments are read once for all ``skills``; only the slots of ``days`` are forecast."""
    zone = site_zone(site)
    span = range(local_day_slots(min(days), zone).start, local_day_slots(max(days), zone).stop)
    history_slots = range(week.shifted(-HISTORY_WEEKS).slots(zone).start, week.slots(zone).start)
    ids = [skill.id for skill in skills]
    histories = await load_histories(session, site_id=site.id, skill_ids=ids, slots=history_slots)
    holidays = public_holidays(site.country, _years(history_slots, zone) | _years(span, zone))
    overrides, factors = await _adjustments(session, site_id=site.id, skill_ids=ids, slots=span, days=days)
    settings = site_settings(site)
    staffed: dict[tuple[float, float], int] = {}
    found = {}
    for skill_id in ids:
        forecasts = forecast_days(histories[skill_id], week=week, days=days, zone=zone, holidays=holidays)
        plans = []
        for forecast in forecasts:
            start = local_start(forecast.slot, zone)
            factor = factors.get((skill_id, start.date()), 1.0)
            contacts = overrides.get((skill_id, forecast.slot), forecast.contacts * factor)
            key = (round(contacts, 2), round(forecast.aht_seconds, 1))
            if key not in staffed:
                staffed[key] = staff_slot(key[0], key[1], settings).agents
            plans.append(
                SlotPlan(
                    slot=forecast.slot,
                    start=start,
                    contacts=contacts,
                    forecast_contacts=forecast.contacts,
                    aht_seconds=forecast.aht_seconds,
                    agents=staffed[key],
                    overridden=(skill_id, forecast.slot) in overrides,
                    day_factor=factor,
                    holiday=forecast.holiday,
                )
            )
        found[skill_id] = (plans, {day: f for (sid, day), f in factors.items() if sid == skill_id})
    return found


async def plan_week(session: AsyncSession, *, site: Site, skill: Skill, week: IsoWeek) -> WeekPlan:
    """Forecast, the coordinator's day factors and slot overrides, and required agents for every slot."""
    plans, factors = (await _plans(session, site=site, skills=[skill], week=week, days=week.days()))[skill.id]
    model = site_settings(site).staffing_model
    return WeekPlan(skill=skill, week=week, zone=site_zone(site), model=model, slots=plans, day_factors=factors)


async def plan_day(
    session: AsyncSession, *, site: Site, skills: Sequence[Skill], day: dt.date
) -> dict[int, list[SlotPlan]]:
    """The plan of one local day for each of ``skills`` (skill id → its slots, equal to that day's slots of
    ``plan_week``), forecasting that day only and reading history and adjustments once for all the skills."""
    found = await _plans(session, site=site, skills=skills, week=IsoWeek.of(day), days=[day])
    return {skill_id: plans for skill_id, (plans, _factors) in found.items()}


async def backtest_skill(session: AsyncSession, *, site: Site, skill: Skill) -> Backtest | None:
    """The forecast's accuracy on the skill's last two weeks of history (None with too little history)."""
    last = await session.scalar(
        select(func.max(ContactInterval.slot)).where(
            ContactInterval.site_id == site.id, ContactInterval.skill_id == skill.id
        )
    )
    if last is None:
        return None
    zone = site_zone(site)
    last_week = IsoWeek.containing(utc_start(last), zone)
    span = range(last_week.shifted(-HISTORY_WEEKS).slots(zone).start, last + 1)
    history = await load_history(session, site_id=site.id, skill_id=skill.id, slots=span)
    return backtest(history, zone=zone, holidays=public_holidays(site.country, _years(span, zone)))


async def set_override(
    session: AsyncSession, *, site: Site, skill: Skill, slot: int, contacts: float | None
) -> ForecastOverride | None:
    """Fix a slot's contacts (None removes the override and lets the forecast speak again)."""
    existing = await session.scalar(
        select(ForecastOverride).where(
            ForecastOverride.site_id == site.id, ForecastOverride.skill_id == skill.id, ForecastOverride.slot == slot
        )
    )
    if contacts is None:
        if existing is not None:
            await session.delete(existing)
            await session.flush()
        return None
    if not math.isfinite(contacts) or not 0 <= contacts <= MAX_SLOT_CONTACTS:
        raise DomainError(
            _("contacts must be a number from 0 to %(max)d.", max=int(MAX_SLOT_CONTACTS)), field="contacts"
        )
    if existing is None:
        existing = ForecastOverride(site_id=site.id, skill_id=skill.id, slot=slot, contacts=contacts)
        session.add(existing)
    else:
        existing.contacts = contacts
    await session.flush()
    return existing


async def set_day_scale(
    session: AsyncSession, *, site: Site, skill: Skill, day: dt.date, factor: float
) -> DayScale | None:
    """Scale one local day's forecast ('campaign Tuesday' is 1.3); a factor of 1 removes the scale."""
    if not math.isfinite(factor) or not 0 < factor <= MAX_DAY_FACTOR:
        raise DomainError(_("factor must be more than 0 and at most %(max)d.", max=int(MAX_DAY_FACTOR)), field="factor")
    existing = await session.scalar(
        select(DayScale).where(DayScale.site_id == site.id, DayScale.skill_id == skill.id, DayScale.day == day)
    )
    if factor == 1:
        if existing is not None:
            await session.delete(existing)
            await session.flush()
        return None
    if existing is None:
        existing = DayScale(site_id=site.id, skill_id=skill.id, day=day, factor=factor)
        session.add(existing)
    else:
        existing.factor = factor
    await session.flush()
    return existing


async def recent_imports(session: AsyncSession, *, site_id: int, limit: int = 5) -> list[tuple[HistoryImport, str]]:
    """The latest accepted uploads with who made them."""
    rows = await session.execute(
        select(HistoryImport, User.display_name)
        .outerjoin(User, User.id == HistoryImport.imported_by_id)
        .where(HistoryImport.site_id == site_id)
        .order_by(HistoryImport.at.desc(), HistoryImport.id.desc())
        .limit(limit)
    )
    return [(record, name or "") for record, name in rows]


def calculate_staffing(
    *,
    model: str,
    contacts: float | None,
    aht: float | None,
    interval: float,
    settings: SiteSettings,
    service_level: float | None = None,
    answer_within: float | None = None,
    shrinkage: float | None = None,
    max_occupancy: float | None = None,
    patience: float | None = None,
) -> erlang.Staffing:
    """The staffing calculator: the site's targets unless the caller gives others."""
    if contacts is None:
        raise DomainError(_("contacts is required: the contacts expected in the interval."), field="contacts")
    if aht is None:
        raise DomainError(_("aht is required: the average handle time in seconds."), field="aht")
    site_targets = staffing_targets(settings)
    targets = erlang.Targets(
        service_level=site_targets.service_level if service_level is None else service_level,
        answer_within_seconds=site_targets.answer_within_seconds if answer_within is None else answer_within,
        max_occupancy=site_targets.max_occupancy if max_occupancy is None else max_occupancy,
        shrinkage=site_targets.shrinkage if shrinkage is None else shrinkage,
    )
    if model == "erlang_a":
        patience = float(settings.average_patience_seconds) if patience is None else patience
        return erlang.erlang_a_staffing(
            contacts=contacts, aht=aht, interval=interval, targets=targets, patience=patience
        )
    return erlang.erlang_c_staffing(contacts=contacts, aht=aht, interval=interval, targets=targets)


# Coverage: demand against the availability agents offer --------------------------


@dataclass(frozen=True)
class SlotCoverage:
    """A slot's plan beside the agents offering it; a gap is more agents needed than offered at all."""

    plan: SlotPlan
    preferred: int
    if_needed: int

    @property
    def offered(self) -> int:
        return self.preferred + self.if_needed

    @property
    def status(self) -> str:
        if self.plan.agents > self.offered:
            return "gap"
        if self.plan.agents > self.preferred:
            return "tight"
        return "ok" if self.plan.agents else "idle"


async def week_coverage(
    session: AsyncSession, *, site: Site, skill: Skill, week: IsoWeek
) -> tuple[WeekPlan, list[SlotCoverage]]:
    plan = await plan_week(session, site=site, skill=skill, week=week)
    offered = await offered_by_slot(session, site_id=site.id, skill_id=skill.id, slots=week.slots(plan.zone))
    return plan, [SlotCoverage(slot, *offered.get(slot.slot, (0, 0))) for slot in plan.slots]


async def slot_coverage(
    session: AsyncSession, *, site: Site, skill: Skill, slot: int
) -> tuple[SlotCoverage, list[tuple[User, str]]]:
    """One slot of the week view in detail: its figures and the agents available then."""
    week = IsoWeek.containing(utc_start(slot), site_zone(site))
    _plan, coverage = await week_coverage(session, site=site, skill=skill, week=week)
    found = next((c for c in coverage if c.plan.slot == slot), None)
    if found is None:
        raise NotFound("slot")
    agents = await agents_available_at(session, site_id=site.id, skill_id=skill.id, slot=slot)
    return found, agents
