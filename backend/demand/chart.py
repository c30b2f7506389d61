"""The week view's heatmap laid out for an inline SVG: days across, local times down, one cell per slot.

Pure layout: coordinates, labels and a status class per cell, so the
template only draws. Colours live in app.css (the CSP forbids inline styles);
rows with neither demand nor offers at any day are trimmed off both ends.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from backend.core.i18n import gettext as _
from backend.demand.service import SlotCoverage

LABEL_WIDTH = 52
HEADER_HEIGHT = 40
CELL_WIDTH = 64
CELL_HEIGHT = 20
HOUR_LABEL_EVERY = 2  # rows


@dataclass(frozen=True)
class Cell:
    x: int
    y: int
    slot: int
    status: str
    label: str
    title: str


@dataclass(frozen=True)
class Column:
    x: int
    day: dt.date
    weekday: str
    total_contacts: int
    gaps: int
    factor: float
    holiday: bool


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    cell_width: int
    cell_height: int
    columns: list[Column]
    rows: list[tuple[int, str]]  # (y, "09:30") for labelled rows
    cells: list[Cell]


def weekday_names() -> list[str]:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


def _title(cell: SlotCoverage, weekday: str) -> str:
    return _(
        "%(day)s %(time)s: %(contacts).1f contacts, %(agents)d agents needed, "
        "%(preferred)d preferred and %(if_needed)d if needed",
        day=weekday,
        time=cell.plan.start.strftime("%H:%M"),
        contacts=cell.plan.contacts,
        agents=cell.plan.agents,
        preferred=cell.preferred,
        if_needed=cell.if_needed,
    )


def week_chart(days: list[dt.date], coverage: list[SlotCoverage]) -> Chart:
    names = weekday_names()
    by_time: dict[tuple[dt.date, dt.time], SlotCoverage] = {}
    for cell in coverage:
        by_time.setdefault((cell.plan.start.date(), cell.plan.start.time()), cell)  # a repeated DST hour shows once
    times = [dt.time(hour, minute) for hour in range(24) for minute in (0, 30)]
    busy = [t for t in times if any((c := by_time.get((d, t))) and (c.plan.agents or c.offered) for d in days)]
    shown = times[times.index(busy[0]) : times.index(busy[-1]) + 1] if busy else times[16:46]
    cells, columns = [], []
    for index, day in enumerate(days):
        x = LABEL_WIDTH + index * CELL_WIDTH
        day_cells = [c for c in coverage if c.plan.start.date() == day]
        columns.append(
            Column(
                x=x,
                day=day,
                weekday=names[day.weekday()],
                total_contacts=round(sum(c.plan.contacts for c in day_cells)),
                gaps=sum(1 for c in day_cells if c.status == "gap"),
                factor=day_cells[0].plan.day_factor if day_cells else 1.0,
                holiday=any(c.plan.holiday for c in day_cells),
            )
        )
        for row, moment in enumerate(shown):
            found = by_time.get((day, moment))
            if found is None:
                continue
            label = f"{found.plan.agents}/{found.offered}" if found.plan.agents or found.offered else ""
            y = HEADER_HEIGHT + row * CELL_HEIGHT
            cells.append(Cell(x, y, found.plan.slot, found.status, label, _title(found, names[day.weekday()])))
    rows = [
        (HEADER_HEIGHT + row * CELL_HEIGHT, moment.strftime("%H:%M"))
        for row, moment in enumerate(shown)
        if row % HOUR_LABEL_EVERY == 0
    ]
    return Chart(
        width=LABEL_WIDTH + len(days) * CELL_WIDTH,
        height=HEADER_HEIGHT + len(shown) * CELL_HEIGHT,
        cell_width=CELL_WIDTH,
        cell_height=CELL_HEIGHT,
        columns=columns,
        rows=rows,
        cells=cells,
    )
