"""What crosses the edge for work records: the intake batch, its answer, external agent ids and page forms.

The constraints here refuse a malformed body before any code of ours runs and
name the field (``records[3].csat``); the service checks the same ranges again
for records that arrive another way (CSV rows, the demo).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from backend.accounts.schemas import Form
from backend.core.bounds import ID_MAX, Bounded, Id
from backend.core.web import RefuseWith
from backend.work.models import WorkKind

MAX_BATCH_RECORDS = 5_000
MAX_COUNT = 100_000
MAX_HANDLED_SECONDS = 24 * 3600
SOURCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$"

Source = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=SOURCE_PATTERN)]
ExternalId = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
AgentId = Id
SkillCode = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
ListedAgent = Annotated[int, msgspec.Meta(le=ID_MAX), RefuseWith(lambda _: _("Choose an agent from the list."))]
RecordsDay = Annotated[dt.date, RefuseWith(lambda _: _("Give the day like 2026-12-01."))]


class RecordIn(Bounded, kw_only=True, forbid_unknown_fields=True):
    """One piece of work; the agent is named by exactly one of ``agent_id`` (ours) or ``external_agent_id``."""

    external_id: ExternalId
    agent_id: AgentId | None = None
    external_agent_id: ExternalId | None = None
    occurred_at: Annotated[dt.datetime, msgspec.Meta(tz=True)]
    kind: WorkKind
    count: Annotated[int, msgspec.Meta(ge=0, le=MAX_COUNT)] = 1
    handled_seconds: Annotated[int, msgspec.Meta(ge=0, le=MAX_HANDLED_SECONDS)] | None = None
    csat: Annotated[int, msgspec.Meta(ge=1, le=5)] | None = None
    resolved: bool | None = None
    skill: SkillCode | None = None


class WorkBatchIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    source: Source
    records: Annotated[list[RecordIn], msgspec.Meta(min_length=1, max_length=MAX_BATCH_RECORDS)]


class ConflictOut(msgspec.Struct, kw_only=True):
    """A replayed record whose stored copy differs: it was skipped, the stored copy stands."""

    index: int
    external_id: str
    fields: list[str]


class WorkBatchOut(msgspec.Struct, kw_only=True):
    received: int
    created: int
    duplicates: int
    conflicts: list[ConflictOut]


class ProblemOut(msgspec.Struct, kw_only=True):
    field: str
    message: str


class WorkProblemsOut(msgspec.Struct, kw_only=True):
    """A refused batch: every problem, by record index and field (``records[3].csat``); nothing was written."""

    message: str
    field: str | None
    problems: list[ProblemOut]
    problem_count: int
    request_id: str


class ExternalAgentIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    external_agent_id: ExternalId
    agent_id: AgentId


class ExternalAgentsIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Map a source's agent ids to our agents; a mapping already there is moved to the agent given."""

    source: Source
    agents: Annotated[list[ExternalAgentIn], msgspec.Meta(min_length=1, max_length=MAX_BATCH_RECORDS)]


class ExternalAgentOut(msgspec.Struct, kw_only=True):
    source: str
    external_agent_id: str
    agent_id: int


class ExternalAgentsOut(msgspec.Struct, kw_only=True):
    agents: list[ExternalAgentOut]


class ExternalAgentForm(Form):
    source: Annotated[str, msgspec.Meta(max_length=40)] = ""
    external_agent_id: Annotated[str, msgspec.Meta(max_length=100)] = ""
    agent_id: Annotated[str, msgspec.Meta(max_length=20)] = ""


class ExternalAgentValues(msgspec.Struct, kw_only=True):
    """``ExternalAgentForm.agent_id`` as the service takes it: one of our agents, chosen from the list."""

    agent_id: Annotated[ListedAgent, msgspec.Meta(ge=1)]


class RecordsQuery(Bounded, kw_only=True):
    """The record list's filter; blank is every day, every agent."""

    day: RecordsDay | None = None
    agent: Annotated[ListedAgent, msgspec.Meta(ge=0)] | None = None
