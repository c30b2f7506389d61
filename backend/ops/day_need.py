"""A local day's staffing per skill and half-hour: what the plan needs, what the reforecast needs, who is there.

- ``required``: the plan's need, exactly as the demand week view shows it (``demand.service.plan_day``: that
  day of ``plan_week``, forecast, the coordinator's overrides and day factors, Erlang staffing at the site's
  targets; only the day's half-hours are forecast).
- ``reforecast``: from the half-hours of the day that have ended and have actual volumes, the ratio method
  (``ops.reforecast``) scales the plan's contacts for the half-hours not yet ended, and the same staffing
  function (``demand.service.staff_slot``) turns them into agents; None where not reforecast (the past, or
  too few actual half-hours yet).
- ``scheduled``: seats held that are worked in the slot (an accepted extension or VTO moves a seat's end),
  not counting no-shows. ``started``: those whose agent pressed "Start shift"; None for slots not yet begun.

Reads only; the board, the daily report and the intraday proposals all call ``day_needs``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, Skill, skill_label
from backend.accounts.service import list_skills
from backend.accounts.site_settings import site_settings
from backend.accounts.zones import site_zone
from backend.core.slots import local_day_slots, slot_of
from backend.demand.forecast import Observed
from backend.demand.service import SlotPlan, load_histories, plan_day, staff_slot
from backend.ops.reforecast import Reforecast, reforecast
from backend.shifts.attendance import WorkingSeat, seats_during


@dataclass(frozen=True)
class SkillDay:
    """One skill's day, slot by slot (index ``i`` is ``slots[i]``)."""

    skill_id: int
    code: str
    label: str
    slots: list[int]
    required: list[int | None]
    reforecast: list[int | None]
    scheduled: list[int | None]
    started: list[int | None]
    forecast_contacts: list[float]
    actual_contacts: list[float | None]
    ratio: Reforecast
    _index: dict[int, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update({slot: i for i, slot in enumerate(self.slots)})

    def need(self, slot: int) -> int:
        """Agents needed: the reforecast where there is one, else the plan."""
        i = self._index[slot]
        found = self.reforecast[i] if self.reforecast[i] is not None else self.required[i]
        return found or 0

    def gap(self, slot: int) -> int:
        """Agents short: the need above the seats scheduled (0 when covered)."""
        return max(0, self.need(slot) - (self.scheduled[self._index[slot]] or 0))

    def surplus(self, slot: int) -> int:
        """Agents over: the seats scheduled above the need (0 when none spare)."""
        return max(0, (self.scheduled[self._index[slot]] or 0) - self.need(slot))

    @property
    def has_demand(self) -> bool:
        return any(self.required) or any(a is not None for a in self.actual_contacts)


@dataclass(frozen=True)
class DayNeeds:
    day: dt.date
    slots: list[int]
    now_slot: int
    skills: list[SkillDay]
    seats: list[WorkingSeat]  # every seat of the day, for the board's lists (one read serves both)

    def skill(self, skill_id: int) -> SkillDay | None:
        return next((s for s in self.skills if s.skill_id == skill_id), None)


def _counts(seats: list[WorkingSeat], slots: list[int], now_slot: int) -> dict[int, tuple[list[int], list[int]]]:
    """Seats held and seats started per slot, by skill id, in one pass over the day's seats."""
    first = slots[0] if slots else 0
    counts: dict[int, tuple[list[int], list[int]]] = {}
    for seat in seats:
        if not seat.held or seat.state.no_show_at is not None:
            continue
        if seat.skill_id not in counts:
            counts[seat.skill_id] = ([0] * len(slots), [0] * len(slots))
        scheduled, started = counts[seat.skill_id]
        for slot in range(max(seat.work_start_slot, first), min(seat.work_end_slot, first + len(slots))):
            scheduled[slot - first] += 1
            if seat.state.started_at is not None and slot <= now_slot:
                started[slot - first] += 1
    return counts


def _skill_day(
    *,
    site: Site,
    skill: Skill,
    slots: list[int],
    now_slot: int,
    plan: list[SlotPlan],
    history: dict[int, Observed],
    counts: tuple[list[int], list[int]] | None,
) -> SkillDay:
    settings = site_settings(site)
    by_slot = {p.slot: p for p in plan}
    plans = [by_slot.get(slot) for slot in slots]
    forecast = [p.contacts if p else 0.0 for p in plans]
    actual = [float(history[slot].offered) if slot in history else None for slot in slots]
    ratio = reforecast(
        forecast,
        actual,
        damping=settings.reforecast_damping,
        low=settings.reforecast_low,
        high=settings.reforecast_high,
        min_slots=settings.reforecast_min_slots,
    )
    staffed: dict[tuple[float, float], int] = {}
    again: list[int | None] = []
    for slot, plan_slot in zip(slots, plans, strict=True):
        if not ratio.applied or slot < now_slot or plan_slot is None:
            again.append(None)
            continue
        key = (round(ratio.scale(plan_slot.contacts), 2), round(plan_slot.aht_seconds, 1))
        if key not in staffed:
            staffed[key] = staff_slot(key[0], key[1], settings).agents
        again.append(staffed[key])
    scheduled, started = counts or ([0] * len(slots), [0] * len(slots))
    return SkillDay(
        skill_id=skill.id,
        code=skill.code,
        label=skill_label(skill),
        slots=slots,
        required=[p.agents if p else 0 for p in plans],
        reforecast=again,
        scheduled=list(scheduled),
        started=[n if slot <= now_slot else None for slot, n in zip(slots, started, strict=True)],
        forecast_contacts=forecast,
        actual_contacts=actual,
        ratio=ratio,
    )


async def day_needs(session: AsyncSession, *, site: Site, day: dt.date, now: dt.datetime) -> DayNeeds:
    """Every skill's need, reforecast, scheduled and started seats over the site's local ``day``.

    A few reads whatever the number of skills and seats: the day's seats as plain columns, the skills, the
    plan of that day only (``demand.service.plan_day``: one history read for every skill), and the day's
    actual volumes so far for every skill."""
    slots = list(local_day_slots(day, site_zone(site)))
    now_slot = slot_of(now)
    seats = await seats_during(session, site=site, slots=range(slots[0], slots[-1] + 1))
    skills = await list_skills(session, site_id=site.id)
    if not skills:
        return DayNeeds(day=day, slots=slots, now_slot=now_slot, skills=[], seats=seats)
    ids = [skill.id for skill in skills]
    plans = await plan_day(session, site=site, skills=skills, day=day)
    ended = range(slots[0], min(now_slot, slots[-1] + 1))
    actuals = await load_histories(session, site_id=site.id, skill_ids=ids, slots=ended) if ended else {}
    counts = _counts(seats, slots, now_slot)
    days = [
        _skill_day(
            site=site,
            skill=skill,
            slots=slots,
            now_slot=now_slot,
            plan=plans[skill.id],
            history=actuals.get(skill.id, {}),
            counts=counts.get(skill.id),
        )
        for skill in skills
    ]
    return DayNeeds(day=day, slots=slots, now_slot=now_slot, skills=days, seats=seats)
