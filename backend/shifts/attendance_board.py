"""The coordinator's attendance board, a page at a time: a busy day is a thousand seats and more.

The day's seats are grouped by their shift's start; the board shows one group (by default the shifts running
now or next), the day's problems (seats whose start window closed without a start), or one shift's seats (the
duty log links a seat as ``?day=…&shift=S#seat-S-U``), problems first, ``PAGE_SIZE`` a page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site, Skill, localized_skill_name
from backend.accounts.zones import site_zone
from backend.core.slots import local_day_slots, utc_start
from backend.shifts.attendance import SeatState
from backend.shifts.models import Shift

PAGE_SIZE = 50


def seat_row_link(*, day: dt.date, shift_id: int, user_id: int) -> str:
    """Where a seat's row is on the attendance board: its shift's own view, so the anchor is always on the page."""
    return f"/admin/attendance?day={day.isoformat()}&shift={shift_id}#seat-{shift_id}-{user_id}"


PROBLEMS = "problems"


@dataclass(frozen=True)
class StartGroup:
    """The seats on the shifts that start at one time, and how many of them need a no-show decision."""

    start_slot: int
    starts: dt.datetime
    ends: dt.datetime  # the latest of its shifts' ends
    seats: int
    problems: int


@dataclass(frozen=True)
class BoardPage:
    """One page of a day's board: what the picker offers and the seats shown."""

    groups: list[StartGroup]
    shown: int | Literal["problems"] | None  # a start slot, the problems, or None (one shift, or no seats)
    shift_id: int | None
    seats: list[SeatState]
    total: int  # seats of the day (of the skill)
    problems: int  # of the day
    matching: int  # seats of the shown group, over every page
    page: int
    pages: int


def is_problem(seat: SeatState, now: dt.datetime) -> bool:
    """The start window closed without a start, and nobody has marked the no-show yet."""
    return seat.can_mark_no_show(now)


def board_page(
    seats: list[SeatState],
    *,
    now: dt.datetime,
    start: int | Literal["problems"] | None = None,
    shift_id: int | None = None,
    page: int = 1,
) -> BoardPage:
    """The page of ``seats`` (a day's, by start then name) asked for; by default the earliest start whose
    shifts are still running or yet to come, else (the day is over) the problems, else the first start."""
    groups: dict[int, list[SeatState]] = {}
    for seat in seats:
        groups.setdefault(seat.start_slot, []).append(seat)
    summary = [
        StartGroup(
            slot,
            utc_start(slot),
            utc_start(max(seat.end_slot for seat in group)),
            len(group),
            sum(is_problem(seat, now) for seat in group),
        )
        for slot, group in groups.items()
    ]
    problems = sum(group.problems for group in summary)
    shown: int | Literal["problems"] | None
    if shift_id is not None and any(seat.shift_id == shift_id for seat in seats):
        shown = None
        chosen = [seat for seat in seats if seat.shift_id == shift_id]
    else:
        shift_id = None
        shown = start if start == PROBLEMS or start in groups else _default(summary, problems, now)
        if shown == PROBLEMS:
            chosen = [seat for seat in seats if is_problem(seat, now)]
        else:
            chosen = groups.get(shown, []) if isinstance(shown, int) else []
    chosen = sorted(chosen, key=lambda seat: not is_problem(seat, now))  # stable: by start then name within
    pages = max(1, -(-len(chosen) // PAGE_SIZE)) if shift_id is None else 1
    page = min(max(page, 1), pages)
    shown_seats = chosen if shift_id is not None else chosen[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    return BoardPage(
        groups=summary,
        shown=shown,
        shift_id=shift_id,
        seats=shown_seats,
        total=len(seats),
        problems=problems,
        matching=len(chosen),
        page=page,
        pages=pages,
    )


def _default(groups: list[StartGroup], problems: int, now: dt.datetime) -> int | Literal["problems"] | None:
    return next(
        (group.start_slot for group in groups if group.ends > now),
        PROBLEMS if problems else (groups[0].start_slot if groups else None),
    )


async def day_skills(session: AsyncSession, *, site: Site, day: dt.date) -> list[tuple[int, str]]:
    """The skills of the site's live shifts that start on a local day, by name: the board's skill filter."""
    span = local_day_slots(day, site_zone(site))
    query = (
        select(Skill.id, Skill.name, Skill.name_zh)
        .join(Shift, Shift.skill_id == Skill.id)
        .where(Shift.site_id == site.id, Shift.start_slot >= span.start, Shift.start_slot < span.stop)
        .where(Shift.cancelled_at.is_(None))
        .distinct()
    )
    found = [(row.id, localized_skill_name(row.name, row.name_zh)) for row in await session.execute(query)]
    return sorted(found, key=lambda skill: skill[1])
