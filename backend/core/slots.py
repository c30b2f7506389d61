"""Slots: time cut into 30-minute pieces, ``slot = unix_seconds // 1800`` (UTC).

Availability, demand, staffing, shifts and rosters are sets or ranges of
slots. This module is the one place that converts between slots and local
time; everything else works in slots. A local week is the slots from Monday
00:00 to the next Monday 00:00 in a time zone, so a week with a daylight-saving
change has 334 or 338 slots (an hour is two slots), not 336.

Time zones whose offset is not a whole number of half-hours (Asia/Kathmandu,
+05:45) cannot put local :00 and :30 on slot boundaries; ``check_slot_zone``
refuses them.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SLOT_SECONDS = 1800
SLOT_MINUTES = SLOT_SECONDS // 60
SLOTS_PER_HOUR = 2
WEEK_PATTERN = re.compile(r"^(\d{4})-W(\d{2})$")
# The span of days Weft takes from outside (``core.bounds`` holds bodies and forms to it; weeks are held here).
EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2099, 12, 31)

Slot = int


class SlotError(ValueError):
    """A time that is not on a slot boundary, or a week that does not exist."""


def slot_of(moment: dt.datetime) -> Slot:
    """The slot containing ``moment`` (an aware datetime)."""
    if moment.tzinfo is None:
        raise SlotError("a naive time has no place on the slot line; give an offset")
    return int(moment.timestamp()) // SLOT_SECONDS


def is_on_boundary(moment: dt.datetime) -> bool:
    return moment.tzinfo is not None and moment.timestamp() % SLOT_SECONDS == 0


def slot_at(moment: dt.datetime) -> Slot:
    """The slot that starts exactly at ``moment``; a time off the :00/:30 grid is an error."""
    if not is_on_boundary(moment):
        raise SlotError(f"{moment.isoformat()} is not on a 30-minute boundary (:00 or :30)")
    return slot_of(moment)


def utc_start(slot: Slot) -> dt.datetime:
    return dt.datetime.fromtimestamp(slot * SLOT_SECONDS, dt.UTC)


def time_zone(name: str) -> ZoneInfo:
    """The IANA time zone called ``name`` (``Asia/Shanghai``): every site's and person's clock starts here."""
    return ZoneInfo(name)


def known_time_zone(name: str | None) -> ZoneInfo | None:
    """The zone called ``name``, or None when it is empty or not an IANA name (to check input, or to fall back)."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_start(slot: Slot, zone: ZoneInfo) -> dt.datetime:
    return utc_start(slot).astimezone(zone)


def hours(slot_count: int) -> float:
    return slot_count / SLOTS_PER_HOUR


def check_slot_zone(zone: ZoneInfo, around: dt.datetime | None = None) -> None:
    """Refuse zones whose UTC offset is not a multiple of 30 minutes."""
    offset = (around or dt.datetime.now(dt.UTC)).astimezone(zone).utcoffset() or dt.timedelta()
    if offset.total_seconds() % SLOT_SECONDS:
        raise SlotError(f"{zone.key} is offset {offset} from UTC, not a whole number of half-hours")


@dataclass(frozen=True, order=True)
class IsoWeek:
    """An ISO 8601 week such as ``2026-W49`` (Monday to Sunday)."""

    year: int
    week: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        match = WEEK_PATTERN.match(text.strip())
        if not match:
            raise SlotError(f"{text!r} is not an ISO week like 2026-W49")
        year, week = int(match.group(1)), int(match.group(2))
        try:
            dt.date.fromisocalendar(year, week, 1)
        except ValueError:
            raise SlotError(f"{text!r}: {year} has no week {week}") from None
        if not EARLIEST <= dt.date.fromisocalendar(year, week, 1) <= LATEST:
            raise SlotError(f"{text!r} is outside {EARLIEST.year}-{LATEST.year}")
        return cls(year, week)

    @classmethod
    def of(cls, day: dt.date) -> IsoWeek:
        year, week, _weekday = day.isocalendar()
        return cls(year, week)

    @classmethod
    def containing(cls, moment: dt.datetime, zone: ZoneInfo) -> IsoWeek:
        return cls.of(moment.astimezone(zone).date())

    def __str__(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def monday(self) -> dt.date:
        return dt.date.fromisocalendar(self.year, self.week, 1)

    def days(self) -> list[dt.date]:
        return [self.monday + dt.timedelta(days=offset) for offset in range(7)]

    def shifted(self, weeks: int) -> IsoWeek:
        return IsoWeek.of(self.monday + dt.timedelta(weeks=weeks))

    def weeks_after(self, other: IsoWeek) -> int:
        return (self.monday - other.monday).days // 7

    def slots(self, zone: ZoneInfo) -> range:
        """The week's slots in ``zone``: local Monday 00:00 up to the next Monday 00:00."""
        return local_day_slots(self.monday, zone, days=7)


def local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone)


def local_day_slots(day: dt.date, zone: ZoneInfo, days: int = 1) -> range:
    """The slots of ``days`` local days from ``day``; 46 or 50 on a daylight-saving day."""
    start = slot_of(local_midnight(day, zone))
    end = slot_of(local_midnight(day + dt.timedelta(days=days), zone))
    return range(start, end)


def local_slot(day: dt.date, hour: int, minute: int, zone: ZoneInfo) -> Slot:
    """The slot starting at a local wall-clock time (the first, if the clock repeats it)."""
    return slot_of(dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone))


def ranges_of(slots: list[Slot] | set[Slot]) -> list[tuple[Slot, Slot]]:
    """Sorted slots as half-open runs ``[start, end)``: {3, 4, 5, 9} -> [(3, 6), (9, 10)]."""
    runs: list[tuple[Slot, Slot]] = []
    for slot in sorted(slots):
        if runs and runs[-1][1] == slot:
            runs[-1] = (runs[-1][0], slot + 1)
        else:
            runs.append((slot, slot + 1))
    return runs


def first_unstarted_slot(moment: dt.datetime) -> Slot:
    """The first slot that has not begun at ``moment``: the one containing it has already started."""
    return slot_of(moment) + 1


def wall_clock_slot(day: dt.date, clock: str, zone: ZoneInfo) -> Slot:
    """The slot starting at ``clock`` ("HH:MM", or "24:00" for the end of ``day``) on a local day."""
    if clock == "24:00":
        return slot_of(local_midnight(day + dt.timedelta(days=1), zone))
    hour, minute = (int(part) for part in clock.split(":"))
    return local_slot(day, hour, minute, zone)
