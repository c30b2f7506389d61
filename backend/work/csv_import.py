"""Work records from a CSV file: streamed row by row, checked like API records, written all or nothing.

The file is read as it arrives (``core.csv_text.csv_rows``: strict UTF-8,
any line ending, bounded lines), never held whole; a row it cannot read is a
problem at that row like any other, and reading stops there. Rows are checked
and stored in batches of 5,000 inside a savepoint:
once any row is bad, nothing more is written but every row is still checked,
and the savepoint is rolled back, so the answer lists the first 50 problems
(row 1 is the first line after the header) with their column, and the total.
Rows already stored (same source and external id) are skipped and counted as
duplicates, exactly as a replayed API batch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterable

from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Site
from backend.core.bounds import within_bounds
from backend.core.csv_text import UnreadableCsv, csv_rows
from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.demand.history import BATCH_ROWS, MAX_PROBLEMS_SHOWN
from backend.work.models import WorkKind
from backend.work.schemas import RecordIn
from backend.work.service import (
    Incoming,
    IngestResult,
    RecordChecker,
    WorkProblem,
    WorkRejected,
    rejected,
    store_rows,
)

COLUMNS = (
    "source",
    "external_id",
    "agent_id",
    "external_agent_id",
    "occurred_at",
    "kind",
    "count",
    "handled_seconds",
    "csat",
    "resolved",
    "skill",
)
REQUIRED_COLUMNS = ("source", "external_id", "occurred_at", "kind")
TRUE_WORDS = frozenset({"true", "yes", "1", "y"})
FALSE_WORDS = frozenset({"false", "no", "0", "n"})

SAMPLE_CSV = (
    ",".join(COLUMNS)
    + "\n"
    + "genesys,c-1001,17,,2026-12-01T18:05:00+08:00,call,1,240,5,true,billing\n"
    + "genesys,c-1002,,A-55,2026-12-01T18:12:30+08:00,call,1,315,,,\n"
    + "zendesk,t-88,17,,2026-12-01T19:40:00+08:00,ticket,3,,4,yes,billing\n"
)


class WorkRowReader:
    """Turns one CSV row into an incoming record, or says what is wrong with each of its columns."""

    def __init__(self, header: list[str]) -> None:
        names = [name.strip().lower() for name in header]
        self.columns = {name: index for index, name in enumerate(names)}
        self.width = len(names)
        self._duplicated = len(self.columns) < self.width

    def header_problems(self) -> list[str]:
        missing = [name for name in REQUIRED_COLUMNS if name not in self.columns]
        problems = [_("missing column %(name)s", name=name) for name in missing]
        if "agent_id" not in self.columns and "external_agent_id" not in self.columns:
            problems.append(_("missing column %(name)s", name="agent_id / external_agent_id"))
        problems += [_("unknown column %(name)s", name=name) for name in self.columns if name and name not in COLUMNS]
        if self._duplicated:
            problems.append(_("a column is named twice"))
        if problems:
            problems.append(_("expected the columns %(columns)s", columns=",".join(COLUMNS)))
        return problems

    def _text(self, fields: list[str], name: str) -> str:
        index = self.columns.get(name)
        return fields[index].strip() if index is not None else ""

    def _whole(self, fields: list[str], name: str, problems: list[tuple[str, str]]) -> int | None:
        text = self._text(fields, name)
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            problems.append((name, _("%(name)s %(value)r is not a whole number", name=name, value=text)))
            return None

    def read(self, row: int, fields: list[str]) -> tuple[Incoming | None, list[tuple[str | None, str]]]:
        if len(fields) != self.width:
            message = _("expected %(expected)d fields, found %(found)d", expected=self.width, found=len(fields))
            return None, [(None, message)]
        problems: list[tuple[str, str]] = []
        source = self._text(fields, "source")
        if not source:
            problems.append(("source", _("source is empty")))
        external_id = self._text(fields, "external_id")
        if not external_id:
            problems.append(("external_id", _("external_id is empty")))
        agent_id = self._whole(fields, "agent_id", problems)
        when_text = self._text(fields, "occurred_at")
        occurred_at: dt.datetime | None = None
        try:
            occurred_at = dt.datetime.fromisoformat(when_text)
            within_bounds(occurred_at, field="occurred_at")  # as ``RecordIn`` will, but named on its row
        except ValueError:
            problems.append(("occurred_at", _("occurred_at %(value)r is not an ISO 8601 time", value=when_text)))
        except DomainError as error:
            occurred_at = None
            problems.append(("occurred_at", error.message))
        kind_text = self._text(fields, "kind").lower()
        kind: WorkKind | None = None
        try:
            kind = WorkKind(kind_text)
        except ValueError:
            kinds = ", ".join(member.value for member in WorkKind)
            problems.append(("kind", _("kind must be one of %(kinds)s", kinds=kinds)))
        count = self._whole(fields, "count", problems)
        handled_seconds = self._whole(fields, "handled_seconds", problems)
        csat = self._whole(fields, "csat", problems)
        resolved_text = self._text(fields, "resolved").lower()
        resolved: bool | None = None
        if resolved_text in TRUE_WORDS or resolved_text in FALSE_WORDS:
            resolved = resolved_text in TRUE_WORDS
        elif resolved_text:
            problems.append(("resolved", _("resolved %(value)r is not yes or no", value=resolved_text)))
        if problems or occurred_at is None or kind is None:
            return None, list(problems)
        record = RecordIn(
            external_id=external_id,
            agent_id=agent_id,
            external_agent_id=self._text(fields, "external_agent_id") or None,
            occurred_at=occurred_at,
            kind=kind,
            count=1 if count is None else count,
            handled_seconds=handled_seconds,
            csat=csat,
            resolved=resolved,
            skill=self._text(fields, "skill") or None,
        )
        return Incoming(row, source, record), []


class _Import:
    def __init__(self, session: AsyncSession, checker: RecordChecker) -> None:
        self.session = session
        self.checker = checker
        self.result = IngestResult(conflicts=[])
        self.problems: list[WorkProblem] = []
        self.problem_count = 0
        self.batch: list[Incoming] = []
        self.batch_problems: list[WorkProblem] = []

    async def flush(self) -> None:
        rows, found = await self.checker.check(self.batch)
        found = sorted([*self.batch_problems, *found], key=lambda problem: problem.row)
        self.problem_count += len(found)
        self.problems.extend(found[: max(0, MAX_PROBLEMS_SHOWN - len(self.problems))])
        if not self.problem_count and rows:
            self.result.add(await store_rows(self.session, rows))
        self.batch, self.batch_problems = [], []


async def import_work_csv(
    session: AsyncSession, *, site: Site, chunks: AsyncIterable[bytes], now: dt.datetime
) -> IngestResult:
    """Import a work-records CSV for a site, all or nothing; raises ``WorkRejected`` listing the problems."""
    rows = csv_rows(chunks)
    try:
        header = await anext(rows, None)
    except UnreadableCsv as unreadable:
        raise rejected([WorkProblem(unreadable.row, unreadable.message, None)], 1) from None
    if header is None:
        raise _no_rows()
    reader = WorkRowReader(header[1])
    if header_problems := reader.header_problems():
        problems = [WorkProblem(0, message, None) for message in header_problems]
        raise WorkRejected(
            _("The header is not right: nothing was imported."), problems=problems, problem_count=len(problems)
        )
    checker = await RecordChecker.for_site(session, site_id=site.id, now=now)
    async with session.begin_nested():
        work = _Import(session, checker)
        seen_rows = 0
        try:
            async for number, fields in rows:
                seen_rows += 1
                incoming, found = reader.read(number, fields)
                work.batch_problems.extend(WorkProblem(number, message, field) for field, message in found)
                if incoming is not None:
                    work.batch.append(incoming)
                if len(work.batch) + len(work.batch_problems) >= BATCH_ROWS:
                    await work.flush()
        except UnreadableCsv as unreadable:
            work.batch_problems.append(WorkProblem(unreadable.row, unreadable.message, None))
        await work.flush()
        if work.problem_count:
            raise rejected(work.problems, work.problem_count)
        if not seen_rows:
            raise _no_rows()
    return work.result


def _no_rows() -> WorkRejected:
    message = _("no rows: the file is empty or has only a header.")
    return WorkRejected(message, problems=[WorkProblem(0, message, None)], problem_count=1)
