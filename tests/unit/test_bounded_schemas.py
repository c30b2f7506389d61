"""Every schema that takes a date or a datetime from outside holds it to Weft's span (``core.bounds.Bounded``).

A date in 9999 reaching week, time-zone or pay-period arithmetic overflows into a 500; ``Bounded`` refuses
it at the edge with a 422 naming the field. This walks every ``backend/*/schemas.py`` so a new body, form or
query with a date is caught the day it is written. Answers (``...Out``, ``...Answer``) only carry stored
values out, so a far stored row must still render, and are left out.
"""

from __future__ import annotations

import datetime as dt
import importlib
import typing
from pathlib import Path

import msgspec
from msgspec import inspect

from backend.core.bounds import Bounded

BACKEND = Path(__file__).resolve().parents[2] / "backend"
ANSWERS = ("Out", "Answer")


def takes_a_date(annotation: object) -> bool:
    if annotation in (dt.date, dt.datetime):
        return True
    return any(takes_a_date(argument) for argument in typing.get_args(annotation))


def dated_inputs() -> list[type[msgspec.Struct]]:
    """Every Struct defined in a domain's schemas.py with a date or datetime field, answers aside."""
    found = []
    for path in sorted(BACKEND.glob("*/schemas.py")):
        module = importlib.import_module(f"backend.{path.parent.name}.schemas")
        for value in vars(module).values():
            if (
                not (isinstance(value, type) and issubclass(value, msgspec.Struct))
                or value.__module__ != module.__name__
            ):
                continue
            if value.__name__.endswith(ANSWERS):
                continue
            hints = typing.get_type_hints(value, include_extras=True)
            if any(takes_a_date(hints[name]) for name in value.__struct_fields__):
                found.append(value)
    return found


def test_every_schema_that_takes_a_date_is_bounded() -> None:
    inputs = dated_inputs()
    assert len(inputs) >= 10, "the walk finds the domains' bodies, forms and queries"
    assert [f"{struct.__module__}.{struct.__name__}" for struct in inputs if not issubclass(struct, Bounded)] == []


def input_structs() -> list[type[msgspec.Struct]]:
    """Every Struct a domain's ``*schemas.py`` defines for what comes in (bodies, forms, queries)."""
    found = []
    for path in sorted(BACKEND.glob("*/*schemas.py")):
        module = importlib.import_module(f"backend.{path.parent.name}.{path.stem}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, msgspec.Struct)
                and value.__module__ == module.__name__
                and not value.__name__.endswith(ANSWERS)
            ):
                found.append(value)
    return found


def unbounded_whole_numbers(struct: type[msgspec.Struct]) -> list[str]:
    """The struct's int fields missing a lower or an upper bound (nested structs and lists included)."""
    missing = []
    for field in inspect.type_info(struct).fields:
        for kind in whole_number_types(field.type):
            if (kind.ge is None and kind.gt is None) or (kind.le is None and kind.lt is None):
                missing.append(f"{struct.__module__}.{struct.__name__}.{field.name}")
    return missing


def whole_number_types(kind: inspect.Type) -> list[inspect.IntType]:
    if isinstance(kind, inspect.IntType):
        return [kind]
    if isinstance(kind, inspect.UnionType):
        return [found for member in kind.types for found in whole_number_types(member)]
    if isinstance(kind, (inspect.ListType, inspect.SetType, inspect.FrozenSetType, inspect.VarTupleType)):
        return whole_number_types(kind.item_type)
    return []


def test_every_whole_number_that_comes_in_is_bounded() -> None:
    """An id of 2**63 or a count of 10**30 typed into a form or sent in a body is a 422 naming the field, never
    an overflow in the database driver (a 500): every int a body, form or query takes has both bounds."""
    inputs = input_structs()
    assert len(inputs) >= 40, "the walk finds the domains' bodies, forms and queries"
    assert [name for struct in inputs for name in unbounded_whole_numbers(struct)] == []
