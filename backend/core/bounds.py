"""The span of dates Weft accepts from outside, and the one check that holds every body and form to it.

A contact centre plans weeks ahead and looks back a few years; a date in 1900 or 9999 is a typing
mistake or a probe, never business. Refused at the edge, such a date can never reach week, time-zone
or pay-period arithmetic, which overflows near the ends of what ``datetime`` can hold (a shift on
9999-12-31 has no next Monday and no local time east of UTC). Domains add their own, tighter rules
(a site's planning horizon) on top.

A schema whose fields take dates derives from ``Bounded``: every date or datetime field is checked
when the struct is made, whether msgspec decodes a body into it or ``core.web.parse_fields`` reads a
form into it, and a refusal is a 422 naming the field.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar.params import Parameter

from backend.core.errors import DomainError
from backend.core.i18n import gettext as _
from backend.core.slots import EARLIEST, LATEST, Slot, slot_of

# The first slot after ``LATEST`` (UTC): reads that scan stored shifts stop here, so a row no edge ever
# checked (a direct insert) is left out instead of crashing the page that meets it.
LATEST_SLOT: Slot = slot_of(dt.datetime.combine(LATEST + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC))


def within_bounds(value: Any, *, field: str) -> None:
    """Refuse (422 naming ``field``) a date or datetime outside ``EARLIEST``..``LATEST``; other values pass."""
    day = value.date() if isinstance(value, dt.datetime) else value
    if isinstance(day, dt.date) and not EARLIEST <= day <= LATEST:
        raise DomainError(
            _("Give a date between %(first)s and %(last)s.", first=EARLIEST.isoformat(), last=LATEST.isoformat()),
            field=field,
        )


class Bounded(msgspec.Struct, kw_only=True):
    """A body or form whose every date and datetime field falls within the bounds (checked when it is made)."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            within_bounds(getattr(self, name), field=name)


ID_MAX = 2**63 - 1
"""The largest id a table can hold (``core.db.BigId``: BIGINT on PostgreSQL, INTEGER on SQLite, both 64-bit)."""
NUMBER_MAX = 2**31 - 1
"""The largest value of an INTEGER column (a lesson's or a scenario's number within its course)."""

Id = Annotated[int, msgspec.Meta(ge=1, le=ID_MAX)]
"""An id in a body: one the database could hold, so a larger one is a 422 naming the field, never an
overflow (a 500) in the driver."""
PathId = Annotated[int, Parameter(ge=1, le=ID_MAX, schema_extra={"minimum": 1, "maximum": ID_MAX})]
"""An id in a path or a query: the same bounds (Litestar checks ``Parameter``, msgspec's ``Meta`` is not
seen there). ``schema_extra`` keeps the documented bounds exact integers (Litestar writes them as floats,
and 2**63 - 1 as a float is 2**63, one more than a table holds)."""
PathNumber = Annotated[int, Parameter(ge=1, le=NUMBER_MAX, schema_extra={"minimum": 1, "maximum": NUMBER_MAX})]
"""A position in a path (a lesson's number): counted from 1, within an INTEGER column."""
QueryId = Annotated[int | None, Parameter(ge=1, le=ID_MAX, schema_extra={"minimum": 1, "maximum": ID_MAX})]
"""An optional id in a query (``?shift=12``). The bounds sit outside the ``| None``: inside, Litestar skips them."""
QueryNumber = Annotated[int | None, Parameter(ge=1, le=NUMBER_MAX, schema_extra={"minimum": 1, "maximum": NUMBER_MAX})]
"""An optional number in a query (a course's version)."""
Page = Annotated[int, Parameter(ge=1, le=NUMBER_MAX, schema_extra={"minimum": 1, "maximum": NUMBER_MAX})]
"""A page of a long list, counted from 1: its offset stays within what a query can skip."""
QueryWeekday = Annotated[int | None, Parameter(ge=0, le=6, schema_extra={"minimum": 0, "maximum": 6})]
"""An optional day of the week in a query, 0 = Monday."""
QuerySlot = Annotated[int, Parameter(ge=0, le=LATEST_SLOT, schema_extra={"minimum": 0, "maximum": LATEST_SLOT})]
"""A half-hour slot in a query: one that starts before ``LATEST`` ends, so its day can be worked out."""

ID_BOUNDS = msgspec.Meta(ge=1, le=ID_MAX)
"""``Id``'s bounds for a form field that carries its own refusal: ``Annotated[int, ID_BOUNDS, RefuseWith(...)]``."""
Count = Annotated[int, msgspec.Meta(ge=0, le=NUMBER_MAX)]
"""A whole number a person types (minutes, days, a threshold): never negative, within an INTEGER column; the
domain's own rule (a range that makes sense) comes on top."""
SlotNumber = Annotated[int, msgspec.Meta(ge=0, le=LATEST_SLOT)]
"""A half-hour slot in a body or form (``QuerySlot``'s bounds)."""
SettingNumber = Annotated[int, msgspec.Meta(ge=-NUMBER_MAX, le=NUMBER_MAX)]
"""A whole number on a settings form: within an INTEGER column; the range that makes sense for the setting is the
domain's rule, which refuses beside the field (so a negative number reaches it instead of a generic refusal)."""
