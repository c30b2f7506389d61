"""The contact forecast: pure arithmetic on history, no database.

A slot's forecast is the weighted average of the same weekday and local time
over the last ``weeks_used`` weeks before the target week (weights fall by
``decay`` a week, so recent weeks count most), times a damped and bounded
weekly trend carried forward over the average's mean age. Public holidays
are left out of the history used for ordinary days, and a holiday in the
target week gets the ordinary forecast times the holiday factor the history
showed (the median of past holidays' actual over expected volume), or
``default_holiday_factor`` when the history holds no holiday.

The backtest forecasts the last two weeks of history from what came before
(one and two weeks ahead, as a coordinator would have seen them) and scores
it by WAPE, ``Σ|actual - forecast| / Σ actual``.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple
from zoneinfo import ZoneInfo

from backend.core.slots import SLOT_SECONDS, IsoWeek, local_day_slots, local_slot, local_start, utc_start

DEFAULT_AHT_SECONDS = 300.0
_EPOCH_DAY = dt.date(1970, 1, 1)  # the date of slot 0


class Observed(NamedTuple):
    """One slot of history."""

    offered: float
    handled: float
    aht_seconds: float


@dataclass(frozen=True)
class Method:
    """The forecast's knobs; the defaults are what the backtest on synthetic data was tuned and tested with."""

    weeks_used: int = 6
    decay: float = 0.75
    trend_damping: float = 0.8
    max_weekly_trend: float = 0.10
    default_holiday_factor: float = 0.6
    default_aht_seconds: float = DEFAULT_AHT_SECONDS


@dataclass(frozen=True)
class SlotForecast:
    slot: int
    contacts: float
    aht_seconds: float
    holiday: bool = False


class _Calendar:
    """History seen through local days: which days have data, and each day's total."""

    def __init__(self, history: Mapping[int, Observed], zone: ZoneInfo) -> None:
        self.history = history
        self.zone = zone
        self.day_totals: dict[dt.date, float] = {}
        dates = _local_dates(history, zone)
        for slot, observed in history.items():
            day = dates[slot]
            self.day_totals[day] = self.day_totals.get(day, 0.0) + observed.offered

    def has(self, day: dt.date) -> bool:
        return day in self.day_totals


def _local_dates(slots: Iterable[int], zone: ZoneInfo) -> dict[int, dt.date]:
    """Each slot's local date, as ``local_start(slot, zone).date()``, with the zone's offset looked up once per
    UTC day instead of once per slot (twelve weeks of history are thousands of slots); a UTC day in which the
    offset changes is worked out slot by slot."""
    per_day = 86_400 // SLOT_SECONDS
    offsets: dict[int, int | None] = {}
    dates: dict[int, dt.date] = {}
    for slot in slots:
        utc_day = slot // per_day
        if utc_day not in offsets:
            first = local_start(utc_day * per_day, zone).utcoffset()
            last = local_start(utc_day * per_day + per_day - 1, zone).utcoffset()
            offsets[utc_day] = int(first.total_seconds()) if first is not None and first == last else None
        offset = offsets[utc_day]
        if offset is None:
            dates[slot] = local_start(slot, zone).date()
        else:
            dates[slot] = _EPOCH_DAY + dt.timedelta(days=(slot * SLOT_SECONDS + offset) // 86_400)
    return dates


def _usable_days(
    day: dt.date, calendar: _Calendar, holidays: set[dt.date], method: Method
) -> list[tuple[int, dt.date]]:
    """(weeks back, day) for the same weekday in earlier weeks with data and no holiday, newest first."""
    found = []
    for weeks_back in range(1, 53):
        past = day - dt.timedelta(weeks=weeks_back)
        if calendar.has(past) and past not in holidays:
            found.append((weeks_back, past))
            if len(found) == method.weeks_used:
                break
        if past < min(calendar.day_totals, default=past):
            break
    return found


def weekly_trend(target: IsoWeek, calendar: _Calendar, holidays: set[dt.date], method: Method) -> float:
    """Growth per week, from the two most recent usable weeks against the two before, on like weekdays."""
    weeks = []
    for weeks_back in range(1, 53):
        week = target.shifted(-weeks_back)
        days = [d for d in week.days() if calendar.has(d) and d not in holidays]
        if days:
            weeks.append((weeks_back, {d.weekday(): calendar.day_totals[d] for d in days}))
        if len(weeks) == 4:
            break
    if len(weeks) < 4:
        return 0.0
    common = set.intersection(*(set(totals) for _, totals in weeks))
    recent = sum(totals[d] for _, totals in weeks[:2] for d in common)
    older = sum(totals[d] for _, totals in weeks[2:] for d in common)
    if recent <= 0 or older <= 0:
        return 0.0
    spacing = (weeks[2][0] + weeks[3][0] - weeks[0][0] - weeks[1][0]) / 2
    growth = (recent / older) ** (1 / spacing) - 1
    bound = method.max_weekly_trend
    return max(-bound, min(bound, growth * method.trend_damping))


def _slot_level(
    start: dt.datetime, usable: list[tuple[int, dt.date]], calendar: _Calendar, method: Method
) -> tuple[float, float, float]:
    """Weighted average contacts, weighted mean age in weeks, and weighted AHT at this local time."""
    weight_sum = contacts = age = aht_weight = aht_sum = 0.0
    for weeks_back, past in usable:
        weight = method.decay ** (weeks_back - 1)
        observed = calendar.history.get(local_slot(past, start.hour, start.minute, calendar.zone))
        offered = observed.offered if observed else 0.0
        weight_sum += weight
        contacts += weight * offered
        age += weight * weeks_back
        if observed and observed.handled > 0:
            aht_weight += weight * observed.handled
            aht_sum += weight * observed.handled * observed.aht_seconds
    if not weight_sum:
        return 0.0, 0.0, 0.0
    return contacts / weight_sum, age / weight_sum, aht_sum / aht_weight if aht_weight else 0.0


def _overall_aht(history: Mapping[int, Observed], method: Method) -> float:
    handled = sum(o.handled for o in history.values())
    if not handled:
        return method.default_aht_seconds
    return sum(o.handled * o.aht_seconds for o in history.values()) / handled


def _expected_day(day: dt.date, calendar: _Calendar, holidays: set[dt.date]) -> float | None:
    """What an ordinary day like ``day`` carried: the mean of the same weekday up to three weeks either side."""
    around = [day + dt.timedelta(weeks=w) for w in (-3, -2, -1, 1, 2, 3)]
    totals = [calendar.day_totals[d] for d in around if calendar.has(d) and d not in holidays]
    return statistics.fmean(totals) if totals else None


def holiday_factor(calendar: _Calendar, holidays: set[dt.date], method: Method) -> float:
    """How a holiday's volume compares with an ordinary day's, from the holidays in the history."""
    ratios = []
    for day in sorted(holidays):
        if calendar.has(day) and (expected := _expected_day(day, calendar, holidays)):
            ratios.append(calendar.day_totals[day] / expected)
    if not ratios:
        return method.default_holiday_factor
    return max(0.05, min(1.5, statistics.median(ratios)))


def forecast_week(
    history: Mapping[int, Observed],
    *,
    week: IsoWeek,
    zone: ZoneInfo,
    holidays: set[dt.date],
    method: Method | None = None,
) -> list[SlotForecast]:
    """Contacts and AHT for every slot of ``week``, from the history before it."""
    return forecast_days(history, week=week, days=week.days(), zone=zone, holidays=holidays, method=method)


def forecast_days(
    history: Mapping[int, Observed],
    *,
    week: IsoWeek,
    days: Sequence[dt.date],
    zone: ZoneInfo,
    holidays: set[dt.date],
    method: Method | None = None,
) -> list[SlotForecast]:
    """Contacts and AHT for every slot of ``days`` (days of ``week``), from the history before the week: a day
    forecast alone is the same as in its week's forecast (the Today board asks for one day, not seven)."""
    method = method or Method()
    start = week.slots(zone).start
    calendar = _Calendar({s: o for s, o in history.items() if s < start}, zone)
    trend = weekly_trend(week, calendar, holidays, method)
    on_holiday = holiday_factor(calendar, holidays, method)
    fallback_aht = _overall_aht(calendar.history, method)
    forecasts = []
    for day in days:
        usable = _usable_days(day, calendar, holidays, method)
        for slot in local_day_slots(day, zone):
            local = local_start(slot, zone)
            level, age, aht = _slot_level(local, usable, calendar, method)
            contacts = level * (1 + trend) ** age * (on_holiday if day in holidays else 1.0)
            forecasts.append(SlotForecast(slot, contacts, aht or fallback_aht, day in holidays))
    return forecasts


@dataclass(frozen=True)
class Backtest:
    """How the method did on the last two weeks of history: WAPE and the weeks scored."""

    wape: float
    weeks: tuple[IsoWeek, IsoWeek]
    actual_contacts: float


def backtest(
    history: Mapping[int, Observed], *, zone: ZoneInfo, holidays: set[dt.date], method: Method | None = None
) -> Backtest | None:
    """Forecast the last two weeks of history from the weeks before them and score the forecast.

    None when there is too little history (nothing before the two weeks, or
    no contacts in them).
    """
    if not history:
        return None
    last = IsoWeek.containing(utc_start(max(history)), zone)
    first = last.shifted(-1)
    cutoff = first.slots(zone).start
    earlier = {s: o for s, o in history.items() if s < cutoff}
    if not earlier:
        return None
    calendar = _Calendar(history, zone)
    error = actual_total = 0.0
    for week in (first, last):
        for forecast in forecast_week(earlier, week=week, zone=zone, holidays=holidays, method=method):
            if not calendar.has(local_start(forecast.slot, zone).date()):
                continue  # a day the history does not cover is not scored
            observed = history.get(forecast.slot)
            actual = observed.offered if observed else 0.0
            error += abs(actual - forecast.contacts)
            actual_total += actual
    if actual_total <= 0 or math.isnan(error):
        return None
    return Backtest(wape=error / actual_total, weeks=(first, last), actual_contacts=actual_total)


def wape(actual: list[float], forecast: list[float]) -> float:
    """Weighted absolute percentage error: total absolute error over total actual volume."""
    total = sum(actual)
    return sum(abs(a - f) for a, f in zip(actual, forecast, strict=True)) / total if total else math.nan
