"""Business hours for requests' clocks: nights, weekends, public holidays, daylight saving, calendar hours."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from backend.requests.hours import (
    WorkingCalendar,
    add_working_minutes,
    holidays_around,
    working_minutes,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = frozenset(range(5))


def office(zone: ZoneInfo = SHANGHAI, *, days: frozenset[int] = WEEKDAYS, country: str = "CN") -> WorkingCalendar:
    return WorkingCalendar(
        zone=zone,
        opens=dt.time(9),
        closes=dt.time(18),
        days=days,
        holidays=holidays_around(country, dt.datetime(2030, 6, 1, tzinfo=dt.UTC)),
    )


def local(zone: ZoneInfo, *parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=zone)  # type: ignore[misc]


def test_a_night_does_not_count() -> None:
    calendar = office()
    tuesday_five_pm = local(SHANGHAI, 2030, 3, 5, 17, 0)
    wednesday_ten_am = local(SHANGHAI, 2030, 3, 6, 10, 0)
    assert working_minutes(calendar, tuesday_five_pm, wednesday_ten_am) == 120
    assert add_working_minutes(calendar, tuesday_five_pm, 120) == wednesday_ten_am


def test_a_weekend_does_not_count() -> None:
    calendar = office()
    friday_five_pm = local(SHANGHAI, 2030, 3, 8, 17, 0)
    monday_ten_am = local(SHANGHAI, 2030, 3, 11, 10, 0)
    assert working_minutes(calendar, friday_five_pm, monday_ten_am) == 120
    assert add_working_minutes(calendar, friday_five_pm, 61) == local(SHANGHAI, 2030, 3, 11, 9, 1)


def test_a_start_outside_hours_counts_from_the_next_opening() -> None:
    calendar = office()
    saturday_noon = local(SHANGHAI, 2030, 3, 9, 12, 0)
    assert add_working_minutes(calendar, saturday_noon, 30) == local(SHANGHAI, 2030, 3, 11, 9, 30)
    assert working_minutes(calendar, saturday_noon, local(SHANGHAI, 2030, 3, 10, 23, 0)) == 0


def test_a_public_holiday_does_not_count() -> None:
    calendar = office(NEW_YORK, country="US")  # Thursday 4 July 2030, Independence Day
    wednesday_five_pm = local(NEW_YORK, 2030, 7, 3, 17, 0)
    friday_ten_am = local(NEW_YORK, 2030, 7, 5, 10, 0)
    assert working_minutes(calendar, wednesday_five_pm, friday_ten_am) == 120
    assert add_working_minutes(calendar, wednesday_five_pm, 120) == friday_ten_am


def test_chinas_national_day_holidays_are_known() -> None:
    calendar = office()
    assert dt.date(2030, 10, 1) in calendar.holidays
    before = local(SHANGHAI, 2030, 9, 30, 17, 30)  # a Monday, half an hour before closing
    due = add_working_minutes(calendar, before, 60).astimezone(SHANGHAI)
    assert due.time() == dt.time(9, 30)
    assert due.date() > dt.date(2030, 10, 1)
    assert due.date() not in calendar.holidays


def test_daylight_saving_moves_the_working_day_with_the_wall_clock() -> None:
    every_day = office(NEW_YORK, days=frozenset(range(7)), country="US")
    saturday_five_pm = local(NEW_YORK, 2030, 3, 9, 17, 0)  # clocks go forward on Sunday 10 March, 02:00
    sunday_ten_am = local(NEW_YORK, 2030, 3, 10, 10, 0)
    assert add_working_minutes(every_day, saturday_five_pm, 120) == sunday_ten_am
    assert working_minutes(every_day, saturday_five_pm, sunday_ten_am) == 120
    assert sunday_ten_am.utcoffset() == dt.timedelta(hours=-4)


def test_calendar_hours_count_every_real_minute_across_daylight_saving() -> None:
    always = WorkingCalendar(
        zone=NEW_YORK, opens=dt.time(9), closes=dt.time(18), days=WEEKDAYS, holidays=frozenset(), always=True
    )
    saturday_noon = local(NEW_YORK, 2030, 3, 9, 12, 0)
    sunday_noon = local(NEW_YORK, 2030, 3, 10, 12, 0)
    assert working_minutes(always, saturday_noon, sunday_noon) == 23 * 60  # the night lost an hour
    assert add_working_minutes(always, saturday_noon, 23 * 60) == sunday_noon


def test_an_end_before_the_start_measures_nothing() -> None:
    calendar = office()
    assert working_minutes(calendar, local(SHANGHAI, 2030, 3, 6, 12, 0), local(SHANGHAI, 2030, 3, 6, 11, 0)) == 0


@given(
    start=st.datetimes(min_value=dt.datetime(2030, 1, 1), max_value=dt.datetime(2030, 12, 31)),
    minutes=st.integers(min_value=0, max_value=20_000),
)
def test_adding_then_measuring_gives_the_minutes_back(start: dt.datetime, minutes: int) -> None:
    calendar = office(NEW_YORK, country="US")
    begin = start.replace(second=0, microsecond=0, tzinfo=dt.UTC)
    end = add_working_minutes(calendar, begin, minutes)
    assert working_minutes(calendar, begin, end) == minutes
    assert end >= begin
