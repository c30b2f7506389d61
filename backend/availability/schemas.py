"""What crosses the edge for availability: the week as JSON (one shape for GET and PUT) and the grid's form."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from backend.accounts.schemas import Form
from backend.core.bounds import Bounded, SlotNumber

WeekText = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-W\d{2}$", examples=["2026-W49"])]
AwareTime = Annotated[dt.datetime, msgspec.Meta(tz=True, examples=["2026-12-01T18:00:00+08:00"])]
PreferenceName = Literal["preferred", "if_needed"]
MAX_BLOCKS = 336  # a week of single half-hours


class BlockBody(Bounded, kw_only=True, forbid_unknown_fields=True):
    """Offered time ``[start, end)``: ISO 8601 with an offset, on :00 or :30."""

    start: AwareTime
    end: AwareTime
    preference: PreferenceName


class WeekBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An agent's week: what GET answers is what PUT takes, so a client can read, change and write back.

    ``max_hours`` is the most the agent wants rostered (null: no cap of their own); it may be less than
    what the blocks offer.
    """

    week: WeekText
    max_hours: float | None = None
    blocks: Annotated[list[BlockBody], msgspec.Meta(max_length=MAX_BLOCKS)] = msgspec.field(default_factory=list)


GridAction = Literal["tap", "paint", "preset", "copy", "template-save", "template-apply", "cap"]


class GridForm(Form):
    """One edit on the grid, with the grid's view state (week, day, mode, brush, anchor) carried along."""

    action: GridAction
    week: WeekText
    day: Annotated[int, msgspec.Meta(ge=0, le=6)] = 0
    mode: Literal["tap", "paint"] = "tap"
    brush: Literal["preferred", "if_needed", "off"] = "preferred"
    anchor: Annotated[str, msgspec.Meta(max_length=20)] = ""
    slot: SlotNumber | None = None
    preset: Annotated[str, msgspec.Meta(max_length=20)] = ""
    max_hours: Annotated[str, msgspec.Meta(max_length=10)] = ""
    # The week's version the page showed (``WeekAnswer.version``): an edit based on an older one is refused.
    version: Annotated[str, msgspec.Meta(max_length=32)] = ""
