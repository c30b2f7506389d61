"""Slot arithmetic and local weeks, including daylight-saving weeks."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.core.slots import (
    IsoWeek,
    SlotError,
    check_slot_zone,
    local_day_slots,
    local_start,
    ranges_of,
    slot_at,
    slot_of,
    utc_start,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def test_slot_is_unix_seconds_over_1800() -> None:
    moment = dt.datetime(2026, 12, 1, 18, 0, tzinfo=SHANGHAI)
    assert slot_of(moment) == int(moment.timestamp()) // 1800
    assert utc_start(slot_of(moment)) == moment


def test_misaligned_time_is_refused() -> None:
    with pytest.raises(SlotError, match="30-minute boundary"):
        slot_at(dt.datetime(2026, 12, 1, 18, 15, tzinfo=SHANGHAI))
    with pytest.raises(SlotError, match="naive"):
        slot_of(dt.datetime(2026, 12, 1, 18, 0))


def test_an_ordinary_week_has_336_slots() -> None:
    assert len(IsoWeek.parse("2026-W49").slots(SHANGHAI)) == 336


@pytest.mark.parametrize(
    ("zone", "week", "count"),
    [
        (BERLIN, "2026-W13", 334),  # clocks go forward on Sunday 29 March: an hour, two slots, fewer
        (BERLIN, "2026-W43", 338),  # clocks go back on Sunday 25 October: two slots more
        (NEW_YORK, "2026-W10", 334),  # forward on Sunday 8 March
        (BERLIN, "2026-W20", 336),
    ],
)
def test_daylight_saving_weeks_have_the_right_number_of_slots(zone: ZoneInfo, week: str, count: int) -> None:
    assert len(IsoWeek.parse(week).slots(zone)) == count


def test_spring_forward_day_has_46_slots_and_fall_back_day_50() -> None:
    assert len(local_day_slots(dt.date(2026, 3, 29), BERLIN)) == 46
    assert len(local_day_slots(dt.date(2026, 10, 25), BERLIN)) == 50


def test_iso_weeks_parse_and_step() -> None:
    week = IsoWeek.parse("2026-W53")
    assert str(week.shifted(1)) == "2027-W01"
    assert IsoWeek.parse("2027-W01").weeks_after(week) == 1
    for bad in ("2026-W54", "2025-W53", "2026-49", "W49"):
        with pytest.raises(SlotError):
            IsoWeek.parse(bad)


def test_zones_off_the_half_hour_are_refused() -> None:
    check_slot_zone(ZoneInfo("Asia/Kolkata"))
    with pytest.raises(SlotError):
        check_slot_zone(ZoneInfo("Asia/Kathmandu"))


def test_ranges_of_slots() -> None:
    assert ranges_of({3, 4, 5, 9}) == [(3, 6), (9, 10)]
    assert ranges_of([]) == []


@given(st.integers(min_value=0, max_value=2**31 // 1800))
def test_local_start_round_trips(slot: int) -> None:
    assert slot_of(local_start(slot, SHANGHAI)) == slot
    assert slot_at(utc_start(slot)) == slot
