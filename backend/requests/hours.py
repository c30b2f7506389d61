"""Business hours: the working minutes between two instants, and the instant a number of them after a start.

A team's clock counts the site's working hours (site-local, on its working weekdays, less the country's
public holidays) or, for a team on ``Calendar.calendar``, every minute. Days are walked in the site's zone, so a
daylight-saving change moves the working day with the wall clock; instants are compared in UTC, so a day that
is 23 or 25 hours long counts its real minutes. Seconds count inside; whole minutes come out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts import service as accounts
from backend.accounts.site_settings import site_settings
from backend.accounts.zones import site_zone
from backend.core.db import utcnow
from backend.demand.service import public_holidays
from backend.requests.models import Calendar, RequestTeam

MAX_DAYS_WALKED = 3660  # a clock that finds no working day in ten years has a broken calendar
HOLIDAY_YEARS_AROUND = (1, 2)  # a calendar knows the holidays from a year before its instant to two after


@dataclasses.dataclass(frozen=True, kw_only=True)
class WorkingCalendar:
    zone: ZoneInfo
    opens: dt.time
    closes: dt.time
    days: frozenset[int]  # 0 = Monday
    holidays: frozenset[dt.date]
    always: bool = False  # every minute counts (a team on calendar hours)

    def window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
        """The day's working hours as UTC instants; None on a day off."""
        if day.weekday() not in self.days or day in self.holidays:
            return None
        opens = dt.datetime.combine(day, self.opens, tzinfo=self.zone).astimezone(dt.UTC)
        closes = dt.datetime.combine(day, self.closes, tzinfo=self.zone).astimezone(dt.UTC)
        return (opens, closes) if closes > opens else None


def _utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("a naive time has no place on a clock; give an offset")
    return moment.astimezone(dt.UTC)


def working_seconds(calendar: WorkingCalendar, start: dt.datetime, end: dt.datetime) -> int:
    """The working seconds in ``[start, end)`` (0 when ``end`` is not after ``start``)."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        return 0
    if calendar.always:
        return int((end - start).total_seconds())
    total = 0.0
    day = start.astimezone(calendar.zone).date() - dt.timedelta(days=1)  # a window may begin the day before
    last = end.astimezone(calendar.zone).date()
    while day <= last:
        window = calendar.window(day)
        if window is not None:
            overlap = (min(end, window[1]) - max(start, window[0])).total_seconds()
            total += max(0.0, overlap)
        day += dt.timedelta(days=1)
    return int(total)


def working_minutes(calendar: WorkingCalendar, start: dt.datetime, end: dt.datetime) -> int:
    """The whole working minutes in ``[start, end)``."""
    return working_seconds(calendar, start, end) // 60


def add_working_seconds(calendar: WorkingCalendar, start: dt.datetime, seconds: float) -> dt.datetime:
    """The instant at which ``seconds`` working seconds have passed since ``start`` (UTC)."""
    start = _utc(start)
    if calendar.always:
        return start + dt.timedelta(seconds=max(0.0, seconds))
    if seconds <= 0:
        return start
    left = dt.timedelta(seconds=seconds)
    day = start.astimezone(calendar.zone).date() - dt.timedelta(days=1)
    for _ in range(MAX_DAYS_WALKED):
        window = calendar.window(day)
        day += dt.timedelta(days=1)
        if window is None or window[1] <= start:
            continue
        begin = max(start, window[0])
        available = window[1] - begin
        if left <= available:
            return begin + left
        left -= available
    raise ValueError("the working calendar has no working day within ten years")


def add_working_minutes(calendar: WorkingCalendar, start: dt.datetime, minutes: float) -> dt.datetime:
    """The instant at which ``minutes`` working minutes have passed since ``start`` (UTC)."""
    return add_working_seconds(calendar, start, minutes * 60)


@functools.lru_cache(maxsize=256)
def _holidays_of(country: str, year: int) -> frozenset[dt.date]:
    return frozenset(public_holidays(country, {year}))


def holidays_around(country: str, moment: dt.datetime) -> frozenset[dt.date]:
    before, after = HOLIDAY_YEARS_AROUND
    years = range(moment.year - before, moment.year + after + 1)
    return frozenset().union(*(_holidays_of(country.upper(), year) for year in years))


def _clock_time(text: str) -> dt.time:
    hour, minute = text.split(":")
    return dt.time(int(hour), int(minute))


async def calendar_of(
    session: AsyncSession, site_id: int, team: RequestTeam | None, *, around: dt.datetime | None = None
) -> WorkingCalendar:
    """The calendar ``team``'s clocks count (the site queue's: the site's business hours).

    Holidays are known from a year before ``around`` to two years after (default: the present), which covers
    any request's clock planned at ``around``.
    """
    site = await accounts.get_site(session, site_id)
    settings = site_settings(site)
    return WorkingCalendar(
        zone=site_zone(site),
        opens=_clock_time(settings.request_hours_open),
        closes=_clock_time(settings.request_hours_close),
        days=frozenset(settings.request_working_days),
        holidays=holidays_around(site.country, around or utcnow()),
        always=team is not None and team.calendar == Calendar.calendar,
    )
