"""A page's form text becomes the typed struct a service takes, and a field that does not convert is refused in
its own words, naming it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec
import pytest

from backend.core.errors import DomainError
from backend.core.web import RefuseWith, parse_fields

Whole = Annotated[int, RefuseWith(lambda _: _("Enter a whole number."))]


class Values(msgspec.Struct, kw_only=True):
    day: Annotated[
        dt.date, RefuseWith(lambda _: _("Choose a day from the list."), missing=lambda _: _("Choose a day."))
    ]
    seats: Annotated[Whole, msgspec.Meta(ge=0)] = 0
    agent: Whole | None = None


class Unworded(msgspec.Struct, kw_only=True):
    seats: int = 0


def test_text_becomes_the_typed_values() -> None:
    assert parse_fields(Values, {"day": "2026-03-02", "seats": " 3 ", "agent": "7"}) == Values(
        day=dt.date(2026, 3, 2), seats=3, agent=7
    )


def test_a_blank_field_takes_its_default() -> None:
    assert parse_fields(Values, {"day": "2026-03-02", "seats": "", "agent": "  "}) == Values(day=dt.date(2026, 3, 2))


@pytest.mark.parametrize(
    ("texts", "field", "message"),
    [
        ({"day": "next week"}, "day", "Choose a day from the list."),
        ({"day": ""}, "day", "Choose a day."),
        ({"day": "2026-03-02", "seats": "two"}, "seats", "Enter a whole number."),
        ({"day": "2026-03-02", "seats": "-1"}, "seats", "Enter a whole number."),
        ({"day": "2026-03-02", "agent": "x"}, "agent", "Enter a whole number."),
    ],
)
def test_a_field_that_does_not_convert_is_refused_naming_it(texts: dict[str, str], field: str, message: str) -> None:
    with pytest.raises(DomainError) as refused:
        parse_fields(Values, texts)
    assert (refused.value.status_code, refused.value.field, refused.value.message) == (422, field, message)


def test_a_form_struct_is_read_by_its_field_names() -> None:
    class Form(msgspec.Struct, kw_only=True):
        day: str
        seats: str = "1"
        csrf_token: str = ""

    assert parse_fields(Values, Form(day="2026-03-02")) == Values(day=dt.date(2026, 3, 2), seats=1)


def test_a_field_without_its_words_is_a_programming_error() -> None:
    with pytest.raises(TypeError, match="seats"):
        parse_fields(Unworded, {"seats": "1"})
