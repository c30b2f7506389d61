"""Actual volumes as the day runs: the contact-centre system posts each half-hour's counts per skill.

The rows are the history import's rows (``interval_start``, ``skill``, ``offered``, ``handled``,
``aht_seconds``, ``abandoned``), checked by the same rules with the same words, and go into the same table
by the same write (``history._write_batch``): a row for an interval already stored REPLACES it, because the
system re-posts the half-hour under way as its counts grow. A batch is all or nothing; every problem names
its row and field (``rows[2].handled``). An interval that has not begun yet is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.service import list_skills
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.i18n import ngettext
from backend.core.slots import SLOT_SECONDS, slot_of
from backend.demand.history import EARLIEST, MAX_PROBLEMS_SHOWN, SeenSlots, _write_batch

MAX_ACTUAL_ROWS = 5_000


class Actual(NamedTuple):
    """One half-hour of one skill's queue, as posted."""

    interval_start: dt.datetime
    skill: str
    offered: int
    handled: int
    aht_seconds: float
    abandoned: int | None = None


@dataclass(frozen=True)
class ActualProblem:
    row: int
    field: str
    message: str


class ActualsRejected(DomainError):
    """The batch had problems; nothing was written. Carries the first problems and how many there were."""

    def __init__(self, message: str, *, problems: list[ActualProblem], problem_count: int) -> None:
        super().__init__(message, field=problems[0].field if problems else None)
        self.problems = problems
        self.problem_count = problem_count


@dataclass(frozen=True)
class ActualsResult:
    stored: int
    replaced: int


def _interval_problem(moment: dt.datetime, latest_slot: int) -> str | None:
    text = moment.isoformat()
    if moment.tzinfo is None:
        return _("interval_start %(value)s has no UTC offset (add +08:00 or Z)", value=text)
    if moment.timestamp() % SLOT_SECONDS:
        return _("interval_start %(value)s is not on a :00 or :30 boundary", value=text)
    if moment < EARLIEST:
        return _("interval_start %(value)s is before 2000", value=text)
    if slot_of(moment) > latest_slot:
        return _("interval_start %(value)s is in the future", value=text)
    return None


def _count_problems(row: Actual) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if row.handled > row.offered:
        found.append(
            (
                "handled",
                _("handled (%(handled)d) exceeds offered (%(offered)d)", handled=row.handled, offered=row.offered),
            )
        )
    elif row.abandoned is not None and row.abandoned > row.offered - row.handled:
        rest = row.offered - row.handled
        message = _(
            "abandoned (%(abandoned)d) exceeds offered minus handled (%(rest)d)", abandoned=row.abandoned, rest=rest
        )
        found.append(("abandoned", message))
    if row.handled > 0 and row.aht_seconds == 0:
        found.append(("aht_seconds", _("aht_seconds is 0 but %(handled)d contacts were handled", handled=row.handled)))
    return found


async def record_actuals(
    session: AsyncSession, *, site_id: int, rows: Sequence[Actual], now: dt.datetime
) -> ActualsResult:
    """Store a batch of actual half-hours for the site, all or nothing; raises ``ActualsRejected`` naming each
    problem (``rows[i].field``). A stored interval is replaced by the new counts."""
    skills = {skill.code: skill.id for skill in await list_skills(session, site_id=site_id)}
    latest = slot_of(now)
    seen = SeenSlots()
    problems: list[ActualProblem] = []
    count = 0
    records: list[dict[str, Any]] = []

    def refuse(index: int, field: str, message: str) -> None:
        nonlocal count
        count += 1
        if len(problems) < MAX_PROBLEMS_SHOWN:
            problems.append(ActualProblem(index, f"rows[{index}].{field}", message))

    for index, row in enumerate(rows):
        before = count
        code = row.skill.strip().lower()
        skill_id = skills.get(code)
        if skill_id is None:
            refuse(index, "skill", _("unknown skill %(code)r", code=row.skill))
        if (problem := _interval_problem(row.interval_start, latest)) is not None:
            refuse(index, "interval_start", problem)
        for field, message in _count_problems(row):
            refuse(index, field, message)
        if count > before or skill_id is None:
            continue
        slot = slot_of(row.interval_start)
        if not seen.add(skill_id, slot):
            refuse(index, "interval_start", _("a second row for %(skill)s at this interval", skill=code))
            continue
        records.append(
            {
                "skill_id": skill_id,
                "slot": slot,
                "offered": row.offered,
                "handled": row.handled,
                "aht_seconds": float(row.aht_seconds),
                "abandoned": row.abandoned,
            }
        )
    if count:
        message = ngettext("%(num)d problem: nothing was stored.", "%(num)d problems: nothing was stored.", count)
        raise ActualsRejected(message, problems=problems, problem_count=count)
    if not records:
        return ActualsResult(stored=0, replaced=0)
    async with session.begin_nested():
        replaced = await _write_batch(session, site_id, records)
    return ActualsResult(stored=len(records), replaced=replaced)
