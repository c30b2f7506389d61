"""What crosses the edge for demand and staffing: JSON answers and form bodies."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from backend.accounts.schemas import Form
from backend.core.bounds import Bounded, SlotNumber
from backend.core.web import RefuseWith
from backend.demand.actuals import MAX_ACTUAL_ROWS, Actual, ActualsResult
from backend.demand.erlang import Staffing
from backend.demand.history import MAX_AHT_SECONDS, MAX_CONTACTS_PER_SLOT, HistoryRejected, ImportResult
from backend.demand.service import MAX_SLOT_CONTACTS, WeekPlan

SkillCode = Annotated[str, msgspec.Meta(min_length=1, max_length=40)]
SlotContacts = Annotated[
    float, RefuseWith(lambda _: _("contacts must be a number from 0 to %(max)d.", max=int(MAX_SLOT_CONTACTS)))
]
Contacts = Annotated[float, RefuseWith(lambda _: _("%(field)s must be a number.", field="contacts"))]
AhtSeconds = Annotated[float, RefuseWith(lambda _: _("%(field)s must be a number.", field="aht"))]


class ErlangCOut(msgspec.Struct, kw_only=True):
    """``agents`` includes shrinkage; the other figures describe the agents on the phones, before shrinkage."""

    agents: int
    service_level: float
    asa_seconds: float
    occupancy: float

    @classmethod
    def of(cls, staffing: Staffing) -> ErlangCOut:
        return cls(
            agents=staffing.agents,
            service_level=staffing.service_level,
            asa_seconds=staffing.asa_seconds,
            occupancy=staffing.occupancy,
        )


class ErlangAOut(ErlangCOut, kw_only=True):
    abandon_rate: float

    @classmethod
    def of(cls, staffing: Staffing) -> ErlangAOut:
        return cls(
            agents=staffing.agents,
            service_level=staffing.service_level,
            asa_seconds=staffing.asa_seconds,
            occupancy=staffing.occupancy,
            abandon_rate=staffing.abandon_rate,
        )


class ActualRowIn(Bounded, kw_only=True, forbid_unknown_fields=True):
    """One half-hour of one skill's queue: the history import's columns, ``interval_start`` with its offset."""

    interval_start: dt.datetime
    skill: SkillCode
    offered: Annotated[int, msgspec.Meta(ge=0, le=MAX_CONTACTS_PER_SLOT)]
    handled: Annotated[int, msgspec.Meta(ge=0, le=MAX_CONTACTS_PER_SLOT)]
    aht_seconds: Annotated[float, msgspec.Meta(ge=0, le=MAX_AHT_SECONDS)]
    abandoned: Annotated[int, msgspec.Meta(ge=0, le=MAX_CONTACTS_PER_SLOT)] | None = None

    def as_actual(self) -> Actual:
        return Actual(self.interval_start, self.skill, self.offered, self.handled, self.aht_seconds, self.abandoned)


class ActualsIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    rows: Annotated[list[ActualRowIn], msgspec.Meta(min_length=1, max_length=MAX_ACTUAL_ROWS)]


class ActualsOut(msgspec.Struct, kw_only=True):
    """``stored``: rows written; ``replaced``: of them, intervals that were already stored (a re-post)."""

    stored: int
    replaced: int

    @classmethod
    def of(cls, result: ActualsResult) -> ActualsOut:
        return cls(stored=result.stored, replaced=result.replaced)


class ActualProblemOut(msgspec.Struct, kw_only=True):
    field: str
    message: str


class ActualsProblemsOut(msgspec.Struct, kw_only=True):
    """A refused batch: every problem by row and field (``rows[3].handled``); nothing was stored."""

    message: str
    field: str | None
    problems: list[ActualProblemOut]
    problem_count: int
    request_id: str


class HistoryImportOut(msgspec.Struct, kw_only=True):
    rows: int
    replaced: int

    @classmethod
    def of(cls, result: ImportResult) -> HistoryImportOut:
        return cls(rows=result.rows, replaced=result.replaced)


class ProblemOut(msgspec.Struct, kw_only=True):
    row: int
    message: str


class HistoryProblemsOut(msgspec.Struct, kw_only=True):
    """A refused import: the first problems (row 0 is the header) and how many there were in all."""

    message: str
    field: None = None
    problems: list[ProblemOut]
    problem_count: int
    request_id: str

    @classmethod
    def of(cls, error: HistoryRejected, request_id: str) -> HistoryProblemsOut:
        return cls(
            message=error.message,
            problems=[ProblemOut(row=p.row, message=p.message) for p in error.problems],
            problem_count=error.problem_count,
            request_id=request_id,
        )


class ForecastSlotOut(msgspec.Struct, kw_only=True):
    slot: int
    start: dt.datetime
    contacts: float
    aht_seconds: float
    agents: int
    overridden: bool
    day_factor: float
    holiday: bool


class ForecastOut(msgspec.Struct, kw_only=True):
    skill: str
    week: str
    model: Literal["erlang_c", "erlang_a"]
    slots: list[ForecastSlotOut]

    @classmethod
    def of(cls, plan: WeekPlan) -> ForecastOut:
        return cls(
            skill=plan.skill.code,
            week=str(plan.week),
            model=plan.model,  # type: ignore[arg-type]
            slots=[
                ForecastSlotOut(
                    slot=s.slot,
                    start=s.start,
                    contacts=round(s.contacts, 3),
                    aht_seconds=round(s.aht_seconds, 1),
                    agents=s.agents,
                    overridden=s.overridden,
                    day_factor=s.day_factor,
                    holiday=s.holiday,
                )
                for s in plan.slots
            ],
        )


class OverrideForm(Form):
    """A slot's contacts fixed by hand; empty ``contacts`` removes the override."""

    skill: SkillCode
    week: Annotated[str, msgspec.Meta(max_length=10)]
    slot: SlotNumber
    contacts: Annotated[str, msgspec.Meta(max_length=20)] = ""


class OverrideValues(msgspec.Struct, kw_only=True):
    """``OverrideForm.contacts`` as the service takes it (it checks the range); blank is None."""

    contacts: SlotContacts | None = None


class DayScaleForm(Form, Bounded):
    skill: SkillCode
    week: Annotated[str, msgspec.Meta(max_length=10)]
    day: dt.date
    factor: Annotated[float, msgspec.Meta(gt=0, le=10)]


class StaffingValues(msgspec.Struct, kw_only=True):
    """The staffing calculator's load, as typed into its GET form."""

    contacts: Contacts
    aht: AhtSeconds


class StaffingLoad(msgspec.Struct, kw_only=True):
    """The staffing API's load and the targets a caller gives; a target left out (None) is the site's."""

    contacts: float | None = None
    aht: float | None = None
    interval: float = 1800
    service_level: float | None = None
    answer_within: float | None = None
    shrinkage: float | None = None
    max_occupancy: float | None = None
