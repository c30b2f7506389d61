"""The roster page laid out in plain values: coverage charts, schedules, fairness, changes, a solve's state.

Pure: no database and no web. Routes hand in models and the week's facts;
templates only draw what comes out. Times are shown in the site's zone and
read back from it (a manual edit's day and wall-clock times become slots
here). Every sentence is translated when the page is built, so the request's
locale applies.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.slots import local_start, wall_clock_slot
from backend.roster.models import SolveRun, SolveStatus

LABEL_WIDTH = 52
HEADER_HEIGHT = 40
CELL_WIDTH = 64
CELL_HEIGHT = 20
HOUR_LABEL_EVERY = 2  # rows
DEFAULT_ROWS = slice(16, 44)  # 08:00 to 22:00 when nothing is needed or scheduled
CLOCK = re.compile(r"^(\d{1,2}):(\d{2})$")


def weekday_names() -> list[str]:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")]


def reason_texts() -> dict[str, str]:
    """The solver's unused-slot reason codes (``solver.Reason``) in the request's language."""
    return {
        "already_covered": _("already covered"),
        "not_certified": _("not certified for the skill needed then"),
        "weekly_cap": _("weekly cap reached"),
        "shorter_than_minimum": _("would make a shift shorter than the minimum"),
        "rest_or_daily_limit": _("rest, shifts-per-day or maximum-length rule"),
        "fairness": _("fairness: given to agents further below their share"),
    }


def stage_names() -> dict[str, str]:
    return {
        "": _("starting"),
        "bound": _("lower bound"),
        "coverage": _("coverage"),
        "stability": _("keeping the draft stable"),
        "fairness": _("fairness"),
        "preference": _("preferences"),
        "pool": _("pool"),
        "cost": _("cost"),
    }


def hours_of(slots: int | None) -> float | None:
    return None if slots is None else slots / 2


def clock(moment: dt.datetime) -> str:
    return moment.strftime("%H:%M")


def span_text(start_slot: int, end_slot: int, zone: ZoneInfo) -> str:
    """``Tue 2 09:00-13:00`` (an en dash) in the zone; an end on a later day is marked ``(+1)``."""
    start, end = local_start(start_slot, zone), local_start(end_slot, zone)
    names = weekday_names()
    later = (end.date() - start.date()).days
    suffix = f" (+{later})" if later > 0 and not (later == 1 and end.time() == dt.time(0)) else ""
    end_text = "24:00" if later == 1 and end.time() == dt.time(0) else clock(end)
    return f"{names[start.weekday()]} {start.day} {clock(start)}\u2013{end_text}{suffix}"


# Reading an edit ----------------------------------------------------------------


def _clock_parts(text: str, name: str) -> tuple[int, int]:
    match = CLOCK.match(text.strip())
    if not match:
        raise DomainError(_("Give the time like 09:30."), field=name)
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 24 or minute > 59 or (hour == 24 and minute):
        raise DomainError(_("Give the time like 09:30."), field=name)
    if minute not in (0, 30):
        raise DomainError(_("Times are on the half hour (:00 or :30)."), field=name)
    return hour, minute


def _slot_at(day: dt.date, hour: int, minute: int, zone: ZoneInfo, name: str) -> int:
    slot = wall_clock_slot(day, f"{hour:02d}:{minute:02d}", zone)
    if hour < 24 and clock(local_start(slot, zone)) != f"{hour:02d}:{minute:02d}":
        raise DomainError(_("That time does not exist on that day (the clocks change)."), field=name)
    return slot


def local_range(days: list[dt.date], zone: ZoneInfo, *, day: str, start: str, end: str) -> tuple[int, int]:
    """A day of the week and two wall-clock times as ``[start_slot, end_slot)``.

    An end at or before the start is on the next day (``22:00`` to ``02:00``);
    ``24:00`` is the end of the day.
    """
    try:
        chosen = dt.date.fromisoformat(day.strip())
    except ValueError:
        raise DomainError(_("Choose a day of the week."), field="day") from None
    if chosen not in days:
        raise DomainError(_("Choose a day of the week."), field="day")
    start_hour, start_minute = _clock_parts(start, "start")
    if start_hour == 24:
        raise DomainError(_("Give the time like 09:30."), field="start")
    end_hour, end_minute = _clock_parts(end, "end")
    if (end_hour, end_minute) == (start_hour, start_minute):
        raise DomainError(_("The end must be after the start."), field="end")
    end_day = chosen if (end_hour, end_minute) > (start_hour, start_minute) else chosen + dt.timedelta(days=1)
    return _slot_at(chosen, start_hour, start_minute, zone, "start"), _slot_at(
        end_day, end_hour, end_minute, zone, "end"
    )


# The coverage chart -------------------------------------------------------------


@dataclass(frozen=True)
class ChartCell:
    x: int
    y: int
    slot: int
    status: str  # idle, met, under, over
    label: str
    title: str


@dataclass(frozen=True)
class ChartColumn:
    x: int
    label: str
    under_slots: int


@dataclass(frozen=True)
class CoverageChart:
    code: str
    name: str
    width: int
    height: int
    cell_width: int
    cell_height: int
    columns: list[ChartColumn]
    rows: list[tuple[int, str]]  # (y, "09:00") for labelled rows
    cells: list[ChartCell]
    under_slots: int  # agent-slots short over the week
    over_slots: int

    @property
    def under_hours(self) -> float:
        return self.under_slots / 2

    @property
    def over_hours(self) -> float:
        return self.over_slots / 2


def coverage_chart(
    *,
    code: str,
    name: str,
    days: list[dt.date],
    zone: ZoneInfo,
    slots: range,
    required: list[int],
    scheduled: Mapping[int, int],
) -> CoverageChart:
    """Days across, local times down; each cell ``scheduled/required``, marked under or over.

    A repeated hour at a daylight-saving change shows once (its first half-hours).
    """
    names = weekday_names()
    by_time: dict[tuple[dt.date, dt.time], tuple[int, int, int]] = {}
    for index, slot in enumerate(slots):
        start = local_start(slot, zone)
        by_time.setdefault((start.date(), start.time()), (slot, required[index], scheduled.get(slot, 0)))
    times = [dt.time(hour, minute) for hour in range(24) for minute in (0, 30)]
    busy = [t for t in times if any((c := by_time.get((d, t))) and (c[1] or c[2]) for d in days)]
    shown = times[times.index(busy[0]) : times.index(busy[-1]) + 1] if busy else times[DEFAULT_ROWS]
    cells: list[ChartCell] = []
    columns: list[ChartColumn] = []
    for column, day in enumerate(days):
        x = LABEL_WIDTH + column * CELL_WIDTH
        day_under = 0
        for row, moment in enumerate(shown):
            found = by_time.get((day, moment))
            if found is None:
                continue
            slot, need, have = found
            day_under += max(0, need - have)
            status = "idle" if not (need or have) else "under" if have < need else "over" if have > need else "met"
            title = _(
                "%(day)s %(time)s: %(required)d needed, %(scheduled)d scheduled",
                day=names[day.weekday()],
                time=moment.strftime("%H:%M"),
                required=need,
                scheduled=have,
            )
            label = f"{have}/{need}" if need or have else ""
            cells.append(ChartCell(x, HEADER_HEIGHT + row * CELL_HEIGHT, slot, status, label, title))
        columns.append(ChartColumn(x, f"{names[day.weekday()]} {day.day}", day_under))
    rows = [
        (HEADER_HEIGHT + row * CELL_HEIGHT, moment.strftime("%H:%M"))
        for row, moment in enumerate(shown)
        if row % HOUR_LABEL_EVERY == 0
    ]
    pairs = [(need, scheduled.get(slot, 0)) for slot, need in zip(slots, required, strict=True)]
    return CoverageChart(
        code=code,
        name=name,
        width=LABEL_WIDTH + len(days) * CELL_WIDTH,
        height=HEADER_HEIGHT + len(shown) * CELL_HEIGHT,
        cell_width=CELL_WIDTH,
        cell_height=CELL_HEIGHT,
        columns=columns,
        rows=rows,
        cells=cells,
        under_slots=sum(max(0, need - have) for need, have in pairs),
        over_slots=sum(max(0, have - need) for need, have in pairs),
    )


# The per-agent schedule ---------------------------------------------------------


@dataclass(frozen=True)
class LineRow:
    """A draft line as the page shows it, with the values its edit form starts from."""

    id: int
    user_id: int
    skill_code: str
    skill_name: str
    when: str
    hours: float
    locked: bool
    source: str
    day: str  # ISO date of the start, in the site's zone
    start: str  # "HH:MM"
    end: str


@dataclass
class AgentSchedule:
    user_id: int
    name: str
    lines: list[LineRow] = field(default_factory=list)

    @property
    def hours(self) -> float:
        return sum(line.hours for line in self.lines)


class LineLike(Protocol):
    """What a draft line offers the layout (``RosterAssignment`` has it)."""

    id: int
    user_id: int
    skill_id: int
    start_slot: int
    end_slot: int
    locked: bool
    source: Any


def line_row(line: LineLike, skills: Mapping[int, tuple[str, str]], zone: ZoneInfo) -> LineRow:
    start, end = local_start(line.start_slot, zone), local_start(line.end_slot, zone)
    code, name = skills.get(line.skill_id, ("?", "?"))
    return LineRow(
        id=line.id,
        user_id=line.user_id,
        skill_code=code,
        skill_name=name,
        when=span_text(line.start_slot, line.end_slot, zone),
        hours=(line.end_slot - line.start_slot) / 2,
        locked=line.locked,
        source=str(getattr(line.source, "value", line.source)),
        day=start.date().isoformat(),
        start=clock(start),
        end=clock(end),
    )


def schedules(
    lines: Iterable[LineLike], names: Mapping[int, str], skills: Mapping[int, tuple[str, str]], zone: ZoneInfo
) -> list[AgentSchedule]:
    """The draft per agent (by name), each agent's lines in time order."""
    by_agent: dict[int, AgentSchedule] = {}
    for line in sorted(lines, key=lambda x: (x.start_slot, x.id)):
        agent = by_agent.setdefault(line.user_id, AgentSchedule(line.user_id, names.get(line.user_id, "?")))
        agent.lines.append(line_row(line, skills, zone))
    return sorted(by_agent.values(), key=lambda a: (a.name.casefold(), a.user_id))


def schedules_of_day(
    lines: Iterable[LineLike],
    names: Mapping[int, str],
    skills: Mapping[int, tuple[str, str]],
    zone: ZoneInfo,
    day: str | None,
) -> list[AgentSchedule]:
    """``schedules`` of the lines starting on local ``day`` (an ISO date), or of the whole week for None."""
    if day is None:
        return schedules(lines, names, skills, zone)
    return schedules(
        [x for x in lines if local_start(x.start_slot, zone).date().isoformat() == day], names, skills, zone
    )


def hours_by_agent(lines: Iterable[LineLike]) -> dict[int, float]:
    """Each agent's hours in the whole draft week, shown beside one day's lines."""
    hours: dict[int, float] = {}
    for line in lines:
        hours[line.user_id] = hours.get(line.user_id, 0.0) + (line.end_slot - line.start_slot) / 2
    return hours


def day_tab(day: dt.date) -> str:
    """A day as a tab names it: "Mon 14"."""
    return f"{weekday_names()[day.weekday()]} {day.day}"


# Fairness -----------------------------------------------------------------------


@dataclass(frozen=True)
class UnusedRow:
    when: str
    reason: str


@dataclass(frozen=True)
class FairnessRow:
    user_id: int
    name: str
    offered_hours: float
    given_hours: float
    target_hours: float | None  # the fair share from the last solve; None before any
    unused: list[UnusedRow]

    @property
    def shortfall_hours(self) -> float:
        return max(0.0, (self.target_hours or 0.0) - self.given_hours)

    @property
    def served(self) -> float:
        return self.given_hours / self.offered_hours if self.offered_hours else 1.0


def fairness_rows(
    *,
    names: Mapping[int, str],
    offered: Mapping[int, int],
    given: Mapping[int, int],
    report: Mapping[str, Any] | None,
    zone: ZoneInfo,
) -> list[FairnessRow]:
    """Hours given (the draft as it is now) against offered and the fair share, least served first.

    Least served: furthest below the share target, then the smallest part of
    what they offered; the unused-slot reasons are the last solve's.
    """
    texts = reason_texts()
    agents_report: Mapping[str, Any] = (report or {}).get("agents", {}) or {}
    rows = []
    for user_id in sorted(set(offered) | set(given)):
        if not offered.get(user_id) and not given.get(user_id):
            continue
        entry = agents_report.get(str(user_id)) or {}
        unused = [
            UnusedRow(span_text(int(start), int(end), zone), texts.get(str(code), str(code)))
            for start, end, code in entry.get("unused", [])
        ]
        target = entry.get("target")
        rows.append(
            FairnessRow(
                user_id=user_id,
                name=names.get(user_id, "?"),
                offered_hours=offered.get(user_id, 0) / 2,
                given_hours=given.get(user_id, 0) / 2,
                target_hours=None if target is None else int(target) / 2,
                unused=unused,
            )
        )
    return sorted(rows, key=lambda r: (-r.shortfall_hours, r.served, r.name.casefold(), r.user_id))


def given_slots(lines: Iterable[LineLike]) -> dict[int, int]:
    given: dict[int, int] = defaultdict(int)
    for line in lines:
        given[line.user_id] += line.end_slot - line.start_slot
    return dict(given)


# A solve's state ----------------------------------------------------------------


@dataclass(frozen=True)
class RunView:
    id: int
    status: str
    active: bool
    cancel_requested: bool
    elapsed_seconds: float
    time_limit_seconds: float
    stage: str
    under_hours: float | None
    lower_bound_hours: float | None
    gap_hours: float | None
    solution_status: str
    wall_seconds: float | None
    first_feasible_seconds: float | None
    error: str

    @property
    def percent(self) -> int:
        if not self.time_limit_seconds:
            return 0
        return min(100, round(100 * self.elapsed_seconds / self.time_limit_seconds))


def run_view(run: SolveRun) -> RunView:
    report = run.report or {}
    under, bound = run.under_coverage_slots, run.lower_bound_slots
    gap = report.get("gap_slots")
    if gap is None and under is not None and bound is not None:
        gap = under - bound
    return RunView(
        id=run.id,
        status=run.status.value,
        active=run.status in (SolveStatus.queued, SolveStatus.running),
        cancel_requested=run.cancel_requested,
        elapsed_seconds=run.elapsed_seconds or 0.0,
        time_limit_seconds=run.time_limit_seconds,
        stage=stage_names().get(run.stage or "", run.stage),
        under_hours=hours_of(under),
        lower_bound_hours=hours_of(bound),
        gap_hours=hours_of(gap),
        solution_status=str(report.get("status", "")),
        wall_seconds=report.get("wall_seconds", run.elapsed_seconds),
        first_feasible_seconds=report.get("first_feasible_seconds"),
        error=run.error or "",
    )


# Published versions -------------------------------------------------------------


@dataclass(frozen=True)
class ChangeRow:
    user_id: int
    name: str
    added: list[str]
    removed: list[str]


class LineValues(Protocol):
    """A published line (``service.Line``)."""

    user_id: int
    skill_id: int
    start_slot: int
    end_slot: int


def change_rows(
    changes: Iterable[Any], names: Mapping[int, str], skills: Mapping[int, tuple[str, str]], zone: ZoneInfo
) -> list[ChangeRow]:
    """What each agent is told changed between two versions, in local times, agents by name."""

    def text(line: LineValues) -> str:
        return f"{span_text(line.start_slot, line.end_slot, zone)} · {skills.get(line.skill_id, ('?', '?'))[1]}"

    rows = [
        ChangeRow(
            user_id=change.user_id,
            name=names.get(change.user_id, "?"),
            added=[text(line) for line in change.added],
            removed=[text(line) for line in change.removed],
        )
        for change in changes
    ]
    return sorted(rows, key=lambda r: (r.name.casefold(), r.user_id))
