"""Contact history import: a CSV streamed row by row, validated, and written all or nothing.

The body is never held whole: ``core.csv_text.csv_rows`` decodes it strictly
and splits it into lines as it arrives (a row it cannot read is this import's
problem at that row, and reading stops there), each row is checked, and good
rows are written in batches. The
batches go inside a savepoint, so a file with any bad row leaves no trace
whatever the caller does with its unit of work; the answer then lists the
first problems with their row numbers (row 1 is the first line after the
header, row 0 the header itself) and counts the rest. Re-importing an
interval replaces it: each batch deletes the rows it is about to insert.

Duplicates within a file are caught with a bitmap per skill (one bit per
slot, in 8 KiB pages of 65,536 slots), so a million-row file costs kilobytes
to check, not a set of a million keys.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.service import list_skills
from backend.core.csv_text import UnreadableCsv, csv_rows
from backend.core.db import utcnow
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.i18n import ngettext
from backend.core.slots import SLOT_SECONDS, slot_of
from backend.demand.models import ContactInterval, HistoryImport

REQUIRED_COLUMNS = ("interval_start", "skill", "offered", "handled", "aht_seconds")
OPTIONAL_COLUMNS = ("abandoned",)
MAX_PROBLEMS_SHOWN = 50
BATCH_ROWS = 5_000
MAX_CONTACTS_PER_SLOT = 1_000_000
MAX_AHT_SECONDS = 24 * 3600
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
PAGE_BITS = 16  # a duplicate-check page covers 2**16 slots (about 3.7 years) in 8 KiB


@dataclass(frozen=True)
class Problem:
    row: int
    message: str


class HistoryRejected(DomainError):
    """The file had problems; nothing was written. Carries the first problems and the total count."""

    def __init__(self, message: str, *, problems: list[Problem], problem_count: int) -> None:
        super().__init__(message)
        self.problems = problems
        self.problem_count = problem_count


@dataclass(frozen=True)
class ImportResult:
    rows: int
    replaced: int


@dataclass
class _Outcome:
    rows: int = 0
    replaced: int = 0
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)
    first_slot: int | None = None
    last_slot: int | None = None

    def report(self, row: int, message: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS_SHOWN:
            self.problems.append(Problem(row, message))


class SeenSlots:
    """Which (skill, slot) pairs a file has already given, one bit each."""

    def __init__(self) -> None:
        self._pages: dict[tuple[int, int], bytearray] = {}

    def add(self, skill_id: int, slot: int) -> bool:
        """Record the pair; False if it was already there."""
        key = (skill_id, slot >> PAGE_BITS)
        page = self._pages.get(key)
        if page is None:
            page = self._pages[key] = bytearray(1 << (PAGE_BITS - 3))
        offset = slot & ((1 << PAGE_BITS) - 1)
        index, mask = offset >> 3, 1 << (offset & 7)
        if page[index] & mask:
            return False
        page[index] |= mask
        return True


class RowReader:
    """Turns one CSV row into a history row, or reports what is wrong with it."""

    def __init__(self, header: list[str], skills: dict[str, int], now: dt.datetime) -> None:
        names = [name.strip().lower() for name in header]
        self.columns = {name: index for index, name in enumerate(names)}
        self.width = len(names)
        self.skills = skills
        self.latest_slot = slot_of(now)
        self.seen = SeenSlots()
        self._last_time: tuple[str, int | str] = ("", "")
        self._at = [self.columns.get(name) for name in (*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS)]

    def header_problems(self) -> list[str]:
        known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
        missing = [name for name in REQUIRED_COLUMNS if name not in self.columns]
        unknown = [name for name in self.columns if name not in known]
        problems = [_("missing column %(name)s", name=name) for name in missing]
        problems += [_("unknown column %(name)s", name=name) for name in unknown if name]
        if len(self.columns) < self.width:
            problems.append(_("a column is named twice"))
        if problems:
            expected = ", ".join(REQUIRED_COLUMNS) + " [, abandoned]"
            problems.append(_("expected the columns %(columns)s", columns=expected))
        return problems

    def _slot(self, text: str) -> int | str:
        """The slot starting at ``text``, or the problem with it (cached: a file repeats each time per skill)."""
        if text == self._last_time[0]:
            return self._last_time[1]
        result: int | str
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            result = _("interval_start %(value)r is not an ISO 8601 time", value=text)
        else:
            if moment.tzinfo is None:
                result = _("interval_start %(value)s has no UTC offset (add +08:00 or Z)", value=text)
            elif moment.timestamp() % SLOT_SECONDS:
                result = _("interval_start %(value)s is not on a :00 or :30 boundary", value=text)
            elif moment < EARLIEST:
                result = _("interval_start %(value)s is before 2000", value=text)
            elif slot_of(moment) > self.latest_slot:
                result = _("interval_start %(value)s is in the future", value=text)
            else:
                result = slot_of(moment)
        self._last_time = (text, result)
        return result

    def _count(self, name: str, fields: list[str], problems: list[str], optional: bool = False) -> int | None:
        index = self.columns.get(name)
        text = fields[index].strip() if index is not None else ""
        if not text and optional:
            return None
        try:
            value = int(text)
        except ValueError:
            problems.append(_("%(name)s %(value)r is not a whole number", name=name, value=text))
            return None
        if not 0 <= value <= MAX_CONTACTS_PER_SLOT:
            problems.append(_("%(name)s (%(value)d) is negative or too large", name=name, value=value))
            return None
        return value

    def _aht(self, fields: list[str], problems: list[str]) -> float | None:
        text = fields[self.columns["aht_seconds"]].strip()
        try:
            value = float(text)
        except ValueError:
            problems.append(_("aht_seconds %(value)r is not a number", value=text))
            return None
        if not math.isfinite(value) or not 0 <= value <= MAX_AHT_SECONDS:
            problems.append(_("aht_seconds (%(value)s) must be between 0 and 86400", value=text))
            return None
        return value

    def read(self, fields: list[str]) -> tuple[dict[str, Any] | None, list[str]]:
        """The row to insert, or the problems found; every field is checked so one pass shows them all.

        A good row takes the fast path; any doubt falls through to the careful one that words the problems.
        """
        try:
            record = self._good_row(fields)
        except (ValueError, KeyError, IndexError):
            record = None
        return (record, []) if record is not None else self._explain(fields)

    def _good_row(self, fields: list[str]) -> dict[str, Any] | None:
        if len(fields) != self.width:
            return None
        at_time, at_skill, at_offered, at_handled, at_aht, at_abandoned = self._at
        slot = self._slot(fields[at_time].strip())  # type: ignore[index]
        skill_id = self.skills[fields[at_skill].strip()]  # type: ignore[index]
        offered, handled = int(fields[at_offered]), int(fields[at_handled])  # type: ignore[index]
        aht = float(fields[at_aht])  # type: ignore[index]
        text = fields[at_abandoned] if at_abandoned is not None else ""
        abandoned = int(text) if text.strip() else None
        if isinstance(slot, str) or not 0 <= handled <= offered <= MAX_CONTACTS_PER_SLOT:
            return None
        if abandoned is not None and not 0 <= abandoned <= offered - handled:
            return None
        if not 0 <= aht <= MAX_AHT_SECONDS or (aht == 0 and handled) or not self.seen.add(skill_id, slot):
            return None
        return {
            "skill_id": skill_id,
            "slot": slot,
            "offered": offered,
            "handled": handled,
            "aht_seconds": aht,
            "abandoned": abandoned,
        }

    def _explain(self, fields: list[str]) -> tuple[dict[str, Any] | None, list[str]]:
        if len(fields) != self.width:
            return None, [_("expected %(expected)d fields, found %(found)d", expected=self.width, found=len(fields))]
        problems: list[str] = []
        slot = self._slot(fields[self.columns["interval_start"]].strip())
        if isinstance(slot, str):
            problems.append(slot)
        code = fields[self.columns["skill"]].strip()
        skill_id = self.skills.get(code)
        if skill_id is None:
            problems.append(_("unknown skill %(code)r", code=code))
        offered = self._count("offered", fields, problems)
        handled = self._count("handled", fields, problems)
        abandoned = self._count("abandoned", fields, problems, optional=True)
        aht = self._aht(fields, problems)
        self._check_totals(offered, handled, abandoned, aht, problems)
        if problems or skill_id is None or isinstance(slot, str):
            return None, problems
        if not self.seen.add(skill_id, slot):
            return None, [_("a second row for %(skill)s at this interval", skill=code)]
        return {
            "skill_id": skill_id,
            "slot": slot,
            "offered": offered,
            "handled": handled,
            "aht_seconds": aht,
            "abandoned": abandoned,
        }, []

    @staticmethod
    def _check_totals(
        offered: int | None, handled: int | None, abandoned: int | None, aht: float | None, problems: list[str]
    ) -> None:
        if offered is None or handled is None:
            return
        if handled > offered:
            problems.append(_("handled (%(handled)d) exceeds offered (%(offered)d)", handled=handled, offered=offered))
        elif abandoned is not None and abandoned > offered - handled:
            problems.append(
                _(
                    "abandoned (%(abandoned)d) exceeds offered minus handled (%(rest)d)",
                    abandoned=abandoned,
                    rest=offered - handled,
                )
            )
        if aht is not None and handled > 0 and aht == 0:
            problems.append(_("aht_seconds is 0 but %(handled)d contacts were handled", handled=handled))


async def _write_batch(session: AsyncSession, site_id: int, batch: list[dict[str, Any]]) -> int:
    """Replace the batch's intervals: delete what is there, insert the new rows; returns how many were replaced.

    Plain Core statements on the session's connection: a bulk write skips the ORM's per-object work (the
    import itself is audited once, by its ``HistoryImport`` row).
    """
    by_skill: dict[int, list[int]] = {}
    for row in batch:
        row["site_id"] = site_id
        by_skill.setdefault(row["skill_id"], []).append(row["slot"])
    table = ContactInterval.__table__
    connection = await session.connection()
    replaced = 0
    for skill_id, slots in by_skill.items():
        same_skill = (table.c.site_id == site_id, table.c.skill_id == skill_id)
        span = (table.c.slot >= min(slots), table.c.slot <= max(slots))
        if await connection.scalar(select(table.c.id).where(*same_skill, *span).limit(1)) is None:
            continue  # nothing stored in this stretch: new history, the usual case, needs no delete
        result = await connection.execute(table.delete().where(*same_skill, table.c.slot.in_(slots)))
        replaced += result.rowcount or 0
    await connection.execute(table.insert(), batch)
    return replaced


async def _import_rows(
    session: AsyncSession, rows: AsyncIterator[tuple[int, list[str]]], reader: RowReader, site_id: int
) -> _Outcome:
    outcome = _Outcome()
    batch: list[dict[str, Any]] = []
    try:
        async for number, fields in rows:
            record, problems = reader.read(fields)
            for message in problems:
                outcome.report(number, message)
            if record is None or outcome.problem_count:
                batch.clear()  # once anything is wrong, keep checking but stop writing
                continue
            outcome.rows += 1
            outcome.first_slot = min(outcome.first_slot or record["slot"], record["slot"])
            outcome.last_slot = max(outcome.last_slot or record["slot"], record["slot"])
            batch.append(record)
            if len(batch) >= BATCH_ROWS:
                outcome.replaced += await _write_batch(session, site_id, batch)
                batch = []
    except UnreadableCsv as unreadable:
        outcome.report(unreadable.row, unreadable.message)
    if batch and not outcome.problem_count:
        outcome.replaced += await _write_batch(session, site_id, batch)
    return outcome


def _rejected(outcome: _Outcome) -> HistoryRejected:
    message = ngettext(
        "%(num)d problem: nothing was imported.", "%(num)d problems: nothing was imported.", outcome.problem_count
    )
    return HistoryRejected(message, problems=outcome.problems, problem_count=outcome.problem_count)


def _no_rows() -> HistoryRejected:
    message = _("no rows: the file is empty or has only a header.")
    return HistoryRejected(message, problems=[Problem(0, message)], problem_count=1)


async def import_history(
    session: AsyncSession,
    *,
    site_id: int,
    chunks: AsyncIterable[bytes],
    imported_by_id: int | None,
    now: dt.datetime | None = None,
) -> ImportResult:
    """Import a history CSV for a site, all or nothing; raises ``HistoryRejected`` listing the problems."""
    skills = {skill.code: skill.id for skill in await list_skills(session, site_id=site_id)}
    rows = csv_rows(chunks)
    try:
        header = await anext(rows, None)
    except UnreadableCsv as unreadable:
        outcome = _Outcome()
        outcome.report(unreadable.row, unreadable.message)
        raise _rejected(outcome) from None
    if header is None:
        raise _no_rows()
    reader = RowReader(header[1], skills, now or utcnow())
    if header_problems := reader.header_problems():
        problems = [Problem(0, message) for message in header_problems]
        raise HistoryRejected(
            _("The header is not right: nothing was imported."), problems=problems, problem_count=len(problems)
        )
    async with session.begin_nested():
        outcome = await _import_rows(session, rows, reader, site_id)
        if outcome.problem_count:
            raise _rejected(outcome)
        if not outcome.rows:
            raise _no_rows()
        session.add(
            HistoryImport(
                site_id=site_id,
                imported_by_id=imported_by_id,
                rows=outcome.rows,
                replaced=outcome.replaced,
                first_slot=outcome.first_slot,
                last_slot=outcome.last_slot,
            )
        )
        await session.flush()
    return ImportResult(rows=outcome.rows, replaced=outcome.replaced)


async def chunks_of(lines: Iterable[str], chunk_bytes: int = 64 * 1024) -> AsyncIterator[bytes]:
    """Text lines as an async stream of byte chunks: the shape ``request.stream()`` has (tests, demo, bench)."""
    buffer: list[bytes] = []
    size = 0
    for line in lines:
        encoded = line.encode()
        buffer.append(encoded)
        size += len(encoded)
        if size >= chunk_bytes:
            yield b"".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield b"".join(buffer)
