"""A day's forecast alone equals that day of its week's forecast (the Today board asks for one day, not seven),
and the calendar's quick local dates equal the zone's own, across daylight-saving changes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from backend.core.slots import IsoWeek, local_day_slots, local_start, slot_of
from backend.demand.forecast import Observed, _local_dates, forecast_days, forecast_week

TARGET = IsoWeek(2026, 44)  # Europe and New York leave summer time in the weeks before and in this one


def history(zone: ZoneInfo, weeks: int = 8) -> dict[int, Observed]:
    """Every slot of the weeks before TARGET: a daily shape, a weekly rise, AHT by the hour."""
    found = {}
    for weeks_back in range(1, weeks + 1):
        for slot in TARGET.shifted(-weeks_back).slots(zone):
            local = local_start(slot, zone)
            offered = float(5 + local.hour + local.weekday() + 2 * (weeks - weeks_back))
            found[slot] = Observed(offered, offered, 200.0 + 5 * local.hour)
    return found


@pytest.mark.parametrize("zone_name", ["Asia/Shanghai", "Europe/Berlin", "America/New_York"])
def test_a_day_forecast_alone_is_that_day_of_the_week_forecast(zone_name: str) -> None:
    zone = ZoneInfo(zone_name)
    past = history(zone)
    holidays = {TARGET.days()[2], TARGET.shifted(-2).days()[2]}  # a Wednesday this week and two weeks ago
    week = forecast_week(past, week=TARGET, zone=zone, holidays=holidays)
    for day in TARGET.days():
        alone = forecast_days(past, week=TARGET, days=[day], zone=zone, holidays=holidays)
        assert alone == [f for f in week if local_start(f.slot, zone).date() == day]
        assert [f.slot for f in alone] == list(local_day_slots(day, zone))  # 46, 48 or 50 half-hours
    assert any(f.holiday for f in week)
    assert len(week) == len(TARGET.slots(zone))


@pytest.mark.parametrize(
    "zone_name",
    ["Asia/Shanghai", "America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "America/Santiago", "UTC"],
)
def test_local_dates_match_the_zone_across_a_year(zone_name: str) -> None:
    """Lord Howe moves its clock by half an hour, Kathmandu is 5:45 ahead, Santiago changed at midnight."""
    zone = ZoneInfo(zone_name)
    slots = range(slot_of(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)), slot_of(dt.datetime(2027, 1, 1, tzinfo=dt.UTC)))
    assert _local_dates(slots, zone) == {slot: local_start(slot, zone).date() for slot in slots}
