"""What crosses the edge for rosters: the week page's forms and the JSON API's answers."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from backend.accounts.schemas import Form
from backend.core.bounds import Id

WeekText = Annotated[str, msgspec.Meta(max_length=8)]
Clock = Annotated[str, msgspec.Meta(max_length=5)]


class WeekForm(Form):
    week: WeekText = ""


class LineForm(Form):
    """A manual add or move: agent, skill, and a local day with wall-clock start and end."""

    week: WeekText
    agent: Id
    skill: Annotated[str, msgspec.Meta(max_length=40)]
    day: Annotated[str, msgspec.Meta(max_length=10)]
    start: Clock
    end: Clock
    locked: Annotated[str, msgspec.Meta(max_length=2)] = ""


class LockForm(Form):
    week: WeekText
    locked: Annotated[str, msgspec.Meta(max_length=2)] = ""


class LineOut(msgspec.Struct):
    id: int
    agent_id: int
    skill: str
    start: dt.datetime
    end: dt.datetime
    locked: bool
    source: str


class RunOut(msgspec.Struct):
    id: int
    status: str
    elapsed_seconds: float
    time_limit_seconds: float
    stage: str
    under_coverage_slots: int | None
    lower_bound_slots: int | None
    cancel_requested: bool
    error: str


class RosterOut(msgspec.Struct):
    week: str
    published_version: int
    lines: list[LineOut]
    run: RunOut | None
