"""The agent's shifts as an iCalendar feed (RFC 5545) that phone calendars subscribe to.

A subscribed calendar is a read-only mirror: the app re-fetches the whole
feed every so often and replaces what it showed. So a shift the agent no
longer holds (released, or cancelled by the coordinator) is simply left out
and disappears on the next refresh. ``STATUS:CANCELLED`` is for invitations
(iTIP) that a client merges into a calendar it owns; in a subscription some
apps draw a cancelled event struck through but still in place, which on a
small screen reads as "still on" - the wrong answer for an agent deciding
whether to turn up.

Times are UTC (``...Z``), so no VTIMEZONE is needed and the phone shows them
in whatever zone it is in. Each event's UID is the shift's, so a moved shift
updates in place rather than appearing twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from icalendar import Calendar, Event, vDuration

from backend.core.i18n import gettext as _
from backend.core.slots import utc_start
from backend.shifts.service import HeldShift

PRODID = "-//Weft//Shifts//EN"
REFRESH_INTERVAL = dt.timedelta(hours=1)


def shift_uid(shift_id: int) -> str:
    return f"shift-{shift_id}@weft"


def shifts_calendar(
    shifts: Iterable[HeldShift], *, user_id: int, display_name: str, locale: str, now: dt.datetime
) -> bytes:
    """The ICS body: one VEVENT per held shift, summaries in the agent's language (set by the caller)."""
    calendar = Calendar.new(
        prodid=PRODID,
        name=_("Weft shifts: %(name)s", name=display_name),
        uid=f"calendar-{user_id}@weft",
        refresh_interval=REFRESH_INTERVAL,
    )
    calendar["REFRESH-INTERVAL"].params["VALUE"] = "DURATION"  # RFC 7986 requires the parameter
    calendar.add("X-PUBLISHED-TTL", vDuration(REFRESH_INTERVAL))  # the older hint Outlook and Google read
    stamp = now.astimezone(dt.UTC).replace(microsecond=0)
    for shift in shifts:
        calendar.add_component(
            Event.new(
                uid=shift_uid(shift.shift_id),
                start=utc_start(shift.start_slot),
                end=utc_start(shift.end_slot),
                stamp=stamp,
                summary=_("%(skill)s shift", skill=shift.skill_label(locale)),
            )
        )
    return calendar.to_ical()
