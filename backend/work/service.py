"""Work records in: checked, resolved to our agents, and stored once however often they arrive.

Intake is all or nothing: every record of a batch is checked (each problem
named by its record and field) before anything is written. A record is stored
with ``INSERT ... ON CONFLICT DO NOTHING`` on its (site, source, external id),
so a replayed batch — even two copies submitted at the same moment — is
counted once: the first copy is stored, later copies come back as
duplicates. A replay whose content differs from the stored copy is still
skipped (the stored copy stands; corrections are pay adjustments, not edits
to the evidence) and is reported as a conflict naming the fields that differ.

An agent is named by our user id or by the source's own agent id, mapped once
per site and source (``ExternalAgent``). The mapping is read when a record
arrives: moving a mapping later does not move records already stored.

Records are stored whatever pay period they are dated in: one dated in a
period already locked is paid late, in the next open one (``pay.gather``).
Every way in passes ``hold_intake``, so a pay lock never settles while a
record of its site is half-stored: each record is either seen by the lock or
comes after it.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from backend.accounts.models import Role, Site, Skill, User, localized_skill_name
from backend.accounts.service import list_skills
from backend.core.errors import DomainError, NotFound
from backend.core.i18n import gettext as _
from backend.core.i18n import ngettext
from backend.demand.history import MAX_PROBLEMS_SHOWN, Problem
from backend.work.models import ExternalAgent, WorkKind, WorkRecord
from backend.work.schemas import MAX_COUNT, MAX_HANDLED_SECONDS, SOURCE_PATTERN, RecordIn

FUTURE_TOLERANCE = dt.timedelta(minutes=5)
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
INSERT_CHUNK_ROWS = 5_000
LOOKUP_CHUNK = 5_000
RECENT_LIMIT = 50
INTAKE_GATE = 0x5745_4654  # the PostgreSQL advisory lock class of a site's work intake ("WEFT")
COMPARED_FIELDS = ("user_id", "occurred_at", "kind", "count", "handled_seconds", "csat", "resolved", "skill_id")
KEY_COLUMNS = ("site_id", "source", "external_id")
_SOURCE = re.compile(SOURCE_PATTERN)
_KINDS = frozenset(kind.value for kind in WorkKind)


@dataclass(frozen=True)
class WorkProblem(Problem):
    """A problem with one record: ``row`` is the record's index (API) or CSV row; ``field`` names the field."""

    field: str | None = None


class WorkRejected(DomainError):
    """The records had problems; nothing was written. Carries the first problems and the total count."""

    def __init__(self, message: str, *, problems: list[WorkProblem], problem_count: int) -> None:
        super().__init__(message, field=problems[0].field if problems else None)
        self.problems = problems
        self.problem_count = problem_count


@dataclass(frozen=True)
class Conflict:
    """A replay that differs from the stored record (skipped): where it was and the fields that differ."""

    row: int
    source: str
    external_id: str
    fields: tuple[str, ...]


@dataclass
class IngestResult:
    received: int = 0
    created: int = 0
    duplicates: int = 0
    conflict_count: int = 0
    conflicts: list[Conflict] | None = None

    def add(self, other: IngestResult) -> None:
        self.received += other.received
        self.created += other.created
        self.duplicates += other.duplicates
        self.conflict_count += other.conflict_count
        shown = self.conflicts if self.conflicts is not None else []
        shown.extend((other.conflicts or [])[: MAX_PROBLEMS_SHOWN - len(shown)])
        self.conflicts = shown


@dataclass(frozen=True)
class Incoming:
    """A record on its way in: where it came from (index or CSV row) and which source sent it."""

    row: int
    source: str
    record: RecordIn


def rejected(problems: list[WorkProblem], problem_count: int) -> WorkRejected:
    message = ngettext(
        "%(num)d problem: nothing was imported.", "%(num)d problems: nothing was imported.", problem_count
    )
    return WorkRejected(message, problems=problems[:MAX_PROBLEMS_SHOWN], problem_count=problem_count)


class RecordChecker:
    """Checks records of one site and turns the good ones into rows; agent lookups are cached across batches."""

    def __init__(self, session: AsyncSession, *, site_id: int, skills: dict[str, int], now: dt.datetime) -> None:
        self.session = session
        self.site_id = site_id
        self.skills = skills
        self.now = now
        self.latest = now + FUTURE_TOLERANCE
        self._agents: dict[int, bool] = {}
        self._external: dict[tuple[str, str], int | None] = {}

    @classmethod
    async def for_site(cls, session: AsyncSession, *, site_id: int, now: dt.datetime) -> RecordChecker:
        skills = {skill.code: skill.id for skill in await list_skills(session, site_id=site_id)}
        return cls(session, site_id=site_id, skills=skills, now=now)

    def field_problems(self, source: str, record: RecordIn) -> list[tuple[str, str]]:
        """What is wrong with one record on its own (the agent lookups come after, for the whole batch)."""
        problems: list[tuple[str, str]] = []
        if not _SOURCE.match(source) or len(source) > 40:
            problems.append(("source", _("source must be letters, digits, . _ : or -, up to 40 characters")))
        if not record.external_id or len(record.external_id) > 100:
            problems.append(("external_id", _("external_id must be 1 to 100 characters")))
        if (record.agent_id is None) == (record.external_agent_id is None):
            problems.append(("agent_id", _("give exactly one of agent_id and external_agent_id")))
        occurred = record.occurred_at
        if occurred.tzinfo is None or occurred.utcoffset() is None:
            problems.append(("occurred_at", _("occurred_at has no UTC offset (add +08:00 or Z)")))
        elif occurred > self.latest:
            problems.append(("occurred_at", _("occurred_at is in the future")))
        elif occurred < EARLIEST:
            problems.append(("occurred_at", _("occurred_at is before 2000")))
        if record.kind not in _KINDS:
            kinds = ", ".join(kind.value for kind in WorkKind)
            problems.append(("kind", _("kind must be one of %(kinds)s", kinds=kinds)))
        if not 0 <= record.count <= MAX_COUNT:
            problems.append(("count", _("count must be from 0 to %(max)d", max=MAX_COUNT)))
        if record.handled_seconds is not None and not 0 <= record.handled_seconds <= MAX_HANDLED_SECONDS:
            problems.append(
                ("handled_seconds", _("handled_seconds must be from 0 to %(max)d", max=MAX_HANDLED_SECONDS))
            )
        if record.csat is not None and not 1 <= record.csat <= 5:
            problems.append(("csat", _("csat must be from 1 to 5")))
        if record.skill is not None and record.skill not in self.skills:
            problems.append(("skill", _("unknown skill %(code)r", code=record.skill)))
        return problems

    async def _load_agents(self, ids: set[int]) -> None:
        missing = sorted(ids - self._agents.keys())
        for start in range(0, len(missing), LOOKUP_CHUNK):
            chunk = missing[start : start + LOOKUP_CHUNK]
            found = set(
                await self.session.scalars(
                    select(User.id).where(User.id.in_(chunk), User.site_id == self.site_id, User.role == Role.agent)
                )
            )
            self._agents.update({agent_id: agent_id in found for agent_id in chunk})

    async def _load_external(self, keys: set[tuple[str, str]]) -> None:
        by_source: dict[str, list[str]] = {}
        for source, external_agent_id in keys - self._external.keys():
            by_source.setdefault(source, []).append(external_agent_id)
        for source, names in by_source.items():
            for start in range(0, len(names), LOOKUP_CHUNK):
                chunk = names[start : start + LOOKUP_CHUNK]
                query = select(ExternalAgent.external_agent_id, ExternalAgent.user_id).where(
                    ExternalAgent.site_id == self.site_id,
                    ExternalAgent.source == source,
                    ExternalAgent.external_agent_id.in_(chunk),
                )
                found = {name: user_id for name, user_id in await self.session.execute(query)}
                self._external.update({(source, name): found.get(name) for name in chunk})

    async def check(self, batch: Sequence[Incoming]) -> tuple[list[tuple[int, dict[str, Any]]], list[WorkProblem]]:
        """(row, insertable row) for the good records and the problems of the bad ones, as (row, field, message)."""
        problems: list[WorkProblem] = []
        local: list[tuple[Incoming, bool]] = []
        for item in batch:
            found = self.field_problems(item.source, item.record)
            problems.extend(WorkProblem(item.row, message, field) for field, message in found)
            local.append((item, not found))
        await self._load_agents({i.record.agent_id for i in batch if i.record.agent_id is not None})
        await self._load_external(
            {(i.source, i.record.external_agent_id) for i in batch if i.record.external_agent_id is not None}
        )
        rows: list[tuple[int, dict[str, Any]]] = []
        for item, clean in local:
            record = item.record
            user_id: int | None = None
            if record.agent_id is not None and record.external_agent_id is None:
                if self._agents.get(record.agent_id):
                    user_id = record.agent_id
                else:
                    message = _("no agent with id %(id)d at this site", id=record.agent_id)
                    problems.append(WorkProblem(item.row, message, "agent_id"))
            elif record.external_agent_id is not None and record.agent_id is None:
                user_id = self._external.get((item.source, record.external_agent_id))
                if user_id is None:
                    message = _(
                        "external agent %(id)r is not mapped for source %(source)s",
                        id=record.external_agent_id,
                        source=item.source,
                    )
                    problems.append(WorkProblem(item.row, message, "external_agent_id"))
            if clean and user_id is not None:
                rows.append((item.row, self._row(item, user_id)))
        problems.sort(key=lambda problem: problem.row)
        return rows, problems

    def _row(self, item: Incoming, user_id: int) -> dict[str, Any]:
        record = item.record
        return {
            "site_id": self.site_id,
            "user_id": user_id,
            "source": item.source,
            "external_id": record.external_id,
            "occurred_at": record.occurred_at.astimezone(dt.UTC),
            "kind": WorkKind(record.kind),
            "count": record.count,
            "handled_seconds": record.handled_seconds,
            "csat": record.csat,
            "resolved": record.resolved,
            "skill_id": self.skills[record.skill] if record.skill is not None else None,
            "received_at": self.now,
        }


async def hold_intake(session: AsyncSession, *, site_id: int, exclusive: bool = False) -> None:
    """Hold the site's intake gate until the transaction ends: shared to store records, exclusive to settle them.

    A pay lock takes it exclusively, so it waits for records being stored to commit and records arriving after
    it wait for it: every record's id is either among those the lock saw or above them all. On PostgreSQL it is
    a transaction-level advisory lock (keyed by the site; two sites sharing a key only wait for each other);
    SQLite writes one transaction at a time already.
    """
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        return
    take = func.pg_advisory_xact_lock if exclusive else func.pg_advisory_xact_lock_shared
    await session.execute(select(take(INTAKE_GATE, site_id % 2**31)))


def _insert_ignoring_replays(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT (site_id, source, external_id) DO NOTHING`` in the database's own dialect."""
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return insert(WorkRecord.__table__).on_conflict_do_nothing(index_elements=list(KEY_COLUMNS))


def _differences(stored: Any, row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(name for name in COMPARED_FIELDS if getattr(stored, name) != row[name])


async def store_rows(session: AsyncSession, rows: list[tuple[int, dict[str, Any]]]) -> IngestResult:
    """Insert checked rows, skipping those already stored; replays that differ are reported as conflicts.

    A record given twice in the same call is stored once: the first copy wins, the second is a duplicate.
    """
    result = IngestResult(received=len(rows), conflicts=[])
    first: dict[tuple[str, str], dict[str, Any]] = {}
    fresh: list[dict[str, Any]] = []
    repeats: list[tuple[int, dict[str, Any]]] = []
    for row_number, row in rows:
        key = (row["source"], row["external_id"])
        if key in first:
            repeats.append((row_number, row))
        else:
            first[key] = row
            fresh.append(row)
    if rows:
        await hold_intake(session, site_id=rows[0][1]["site_id"])
    connection = await session.connection()
    table = WorkRecord.__table__
    created: set[tuple[str, str]] = set()
    if fresh:
        statement = _insert_ignoring_replays(connection.dialect.name).returning(table.c.source, table.c.external_id)
        created = {(source, external_id) for source, external_id in await connection.execute(statement, fresh)}
    result.created = len(created)
    replays = [(n, row) for n, row in rows if (row["source"], row["external_id"]) not in created]
    replays += [(n, row) for n, row in repeats if (row["source"], row["external_id"]) in created]
    result.duplicates = len(rows) - result.created
    if replays:
        await _find_conflicts(session, rows[0][1]["site_id"], replays, result)
    return result


async def _find_conflicts(
    session: AsyncSession, site_id: int, replays: list[tuple[int, dict[str, Any]]], result: IngestResult
) -> None:
    by_source: dict[str, list[str]] = {}
    for _row, row in replays:
        by_source.setdefault(row["source"], []).append(row["external_id"])
    stored: dict[tuple[str, str], Any] = {}
    columns = [WorkRecord.source, WorkRecord.external_id, *(getattr(WorkRecord, name) for name in COMPARED_FIELDS)]
    for source, external_ids in by_source.items():
        unique_ids = sorted(set(external_ids))
        for start in range(0, len(unique_ids), LOOKUP_CHUNK):
            query = select(*columns).where(
                WorkRecord.site_id == site_id,
                WorkRecord.source == source,
                WorkRecord.external_id.in_(unique_ids[start : start + LOOKUP_CHUNK]),
            )
            for found in await session.execute(query):
                stored[(found.source, found.external_id)] = found
    for row_number, row in sorted(replays, key=lambda pair: pair[0]):
        previous = stored.get((row["source"], row["external_id"]))
        fields = _differences(previous, row) if previous is not None else ()
        if fields:
            result.conflict_count += 1
            if result.conflicts is not None and len(result.conflicts) < MAX_PROBLEMS_SHOWN:
                result.conflicts.append(Conflict(row_number, row["source"], row["external_id"], fields))


async def ingest(
    session: AsyncSession, *, site: Site, source: str, records: list[RecordIn], now: dt.datetime
) -> IngestResult:
    """Take a batch of one source's records, all or nothing; raises ``WorkRejected`` naming ``records[i].field``.

    Used by the API and the demo; the CSV import checks and stores the same way, batch by batch.
    """
    checker = await RecordChecker.for_site(session, site_id=site.id, now=now)
    rows, problems = await checker.check([Incoming(index, source, record) for index, record in enumerate(records)])
    if problems:
        named = [WorkProblem(p.row, p.message, f"records[{p.row}].{p.field}") for p in problems]
        raise rejected(named, len(named))
    return await store_rows(session, rows) if rows else IngestResult(received=0, conflicts=[])


async def bulk_ingest_rows(
    session: AsyncSession, *, site_id: int, rows: Iterable[dict[str, Any]], now: dt.datetime
) -> int:
    """The fast path for trusted producers (the demo, the settlement bench): no checks, only the replay rule.

    ``rows`` are dicts with ``user_id, source, external_id, occurred_at`` (aware), ``kind`` and optionally
    ``count, handled_seconds, csat, resolved, skill_id``; they are inserted in chunks of 5,000 with
    ``ON CONFLICT DO NOTHING`` (SQLAlchemy splits each chunk into statements within the driver's parameter
    limit). Returns how many were new. About 2,000,000 rows stream through in constant memory.
    """
    await hold_intake(session, site_id=site_id)
    connection = await session.connection()
    statement = _insert_ignoring_replays(connection.dialect.name).returning(WorkRecord.__table__.c.id)
    created = 0
    chunk: list[dict[str, Any]] = []
    defaults = {"site_id": site_id, "count": 1, "handled_seconds": None, "csat": None, "resolved": None}
    defaults |= {"skill_id": None, "received_at": now}
    for row in rows:
        chunk.append({**defaults, **row})
        if len(chunk) >= INSERT_CHUNK_ROWS:
            created += len((await connection.execute(statement, chunk)).all())
            chunk = []
    if chunk:
        created += len((await connection.execute(statement, chunk)).all())
    return created


# Reading --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordLine:
    record: WorkRecord
    agent_name: str
    skill_code: str | None
    skill_name: str = ""  # in the reader's language


async def recent_records(
    session: AsyncSession,
    *,
    site_id: int,
    user_id: int | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    limit: int = RECENT_LIMIT,
) -> list[RecordLine]:
    """The site's latest records by when the work happened, optionally one agent's and within [start, end)."""
    query: Select[Any] = (
        select(WorkRecord, User.display_name, Skill.code, Skill.name, Skill.name_zh)
        .join(User, User.id == WorkRecord.user_id)
        .outerjoin(Skill, Skill.id == WorkRecord.skill_id)
        .where(WorkRecord.site_id == site_id)
    )
    if user_id is not None:
        query = query.where(WorkRecord.user_id == user_id)
    if start is not None:
        query = query.where(WorkRecord.occurred_at >= start)
    if end is not None:
        query = query.where(WorkRecord.occurred_at < end)
    query = query.order_by(WorkRecord.occurred_at.desc(), WorkRecord.id.desc()).limit(limit)
    return [
        RecordLine(record, name, code, localized_skill_name(skill or "", skill_zh or ""))
        for record, name, code, skill, skill_zh in await session.execute(query)
    ]


async def site_agents(session: AsyncSession, *, site_id: int) -> list[User]:
    return list(
        await session.scalars(
            select(User).where(User.site_id == site_id, User.role == Role.agent).order_by(User.display_name, User.id)
        )
    )


# External agent ids -------------------------------------------------------------------------------------


async def external_agents(session: AsyncSession, *, site_id: int) -> list[tuple[ExternalAgent, str]]:
    query = (
        select(ExternalAgent, User.display_name)
        .join(User, User.id == ExternalAgent.user_id)
        .where(ExternalAgent.site_id == site_id)
        .order_by(ExternalAgent.source, ExternalAgent.external_agent_id)
    )
    return [(mapping, name) for mapping, name in await session.execute(query)]


async def map_external_agents(
    session: AsyncSession, *, site_id: int, source: str, pairs: list[tuple[str, int]], field_prefix: str = "agents"
) -> list[ExternalAgent]:
    """Point each (source, external agent id) at one of the site's agents, all or nothing.

    A mapping already there is moved (records already stored keep their agent). Problems are named
    ``agents[i].field`` (``field_prefix`` changes the prefix; empty names the bare field, for a form).
    """

    def name(index: int, field: str) -> str:
        return f"{field_prefix}[{index}].{field}" if field_prefix else field

    problems: list[WorkProblem] = []
    if not _SOURCE.match(source.strip()) or len(source.strip()) > 40:
        message = _("source must be letters, digits, . _ : or -, up to 40 characters")
        problems.append(WorkProblem(0, message, "source"))
    agent_ids = {agent_id for _name, agent_id in pairs}
    agents = set(
        await session.scalars(
            select(User.id).where(User.id.in_(agent_ids), User.site_id == site_id, User.role == Role.agent)
        )
    )
    seen: set[str] = set()
    for index, (external_agent_id, agent_id) in enumerate(pairs):
        external_agent_id = external_agent_id.strip()
        if not external_agent_id or len(external_agent_id) > 100:
            message = _("external_agent_id must be 1 to 100 characters")
            problems.append(WorkProblem(index, message, name(index, "external_agent_id")))
        elif external_agent_id in seen:
            message = _("external agent %(id)r is given twice", id=external_agent_id)
            problems.append(WorkProblem(index, message, name(index, "external_agent_id")))
        seen.add(external_agent_id)
        if agent_id not in agents:
            message = _("no agent with id %(id)d at this site", id=agent_id)
            problems.append(WorkProblem(index, message, name(index, "agent_id")))
    if problems:
        raise rejected(problems, len(problems))
    source = source.strip()
    wanted = {external_agent_id.strip(): agent_id for external_agent_id, agent_id in pairs}
    existing = {
        mapping.external_agent_id: mapping
        for mapping in await session.scalars(
            select(ExternalAgent).where(
                ExternalAgent.site_id == site_id,
                ExternalAgent.source == source,
                ExternalAgent.external_agent_id.in_(list(wanted)),
            )
        )
    }
    mappings = []
    for external_agent_id, agent_id in wanted.items():
        mapping = existing.get(external_agent_id)
        if mapping is None:
            mapping = ExternalAgent(
                site_id=site_id, source=source, external_agent_id=external_agent_id, user_id=agent_id
            )
            session.add(mapping)
        else:
            mapping.user_id = agent_id
        mappings.append(mapping)
    await session.flush()
    return mappings


async def unmap_external_agent(session: AsyncSession, *, site_id: int, mapping_id: int) -> None:
    mapping = await session.get(ExternalAgent, mapping_id)
    if mapping is None or mapping.site_id != site_id:
        raise NotFound("external agent")
    await session.delete(mapping)
    await session.flush()


async def rated_records(
    session: AsyncSession, *, user_id: int, since: dt.datetime, until: dt.datetime
) -> list[tuple[dt.datetime, int | None, bool | None]]:
    """When, CSAT and resolved for the agent's records in ``[since, until)`` that carry either (growth's quality)."""
    rows = await session.execute(
        select(WorkRecord.occurred_at, WorkRecord.csat, WorkRecord.resolved)
        .where(WorkRecord.user_id == user_id, WorkRecord.occurred_at >= since, WorkRecord.occurred_at < until)
        .where((WorkRecord.csat.is_not(None)) | (WorkRecord.resolved.is_not(None)))
    )
    return [(occurred_at, csat, resolved) for occurred_at, csat, resolved in rows]
