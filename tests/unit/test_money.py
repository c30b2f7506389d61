"""The one rounding rule (nearest minor unit, halves away from zero) and amounts as text."""
# ruff: noqa: RUF001 -- people type full-width digits, points and commas, and so do these tests

from __future__ import annotations

from fractions import Fraction

import pytest
from babel.numbers import get_decimal_symbol, get_group_symbol
from hypothesis import given
from hypothesis import strategies as st

from backend.core.errors import DomainError
from backend.core.i18n import LOCALES
from backend.core.money import DECIMAL_POINT, THOUSANDS_SEPARATOR, decimal_text, parse_amount, round_minor

fractions = st.fractions(max_denominator=10_000).filter(lambda value: abs(value) < 10**12)


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        (Fraction(1, 2), 1),
        (Fraction(-1, 2), -1),
        (Fraction(3, 2), 2),
        (Fraction(-3, 2), -2),
        (Fraction(5, 2), 3),  # not banker's rounding
        (Fraction(-5, 2), -3),
        (Fraction(49, 100), 0),
        (Fraction(-49, 100), 0),
        (Fraction(51, 100), 1),
        (Fraction(-51, 100), -1),
        (Fraction(18004_5, 10), 18005),
        (0, 0),
        (7, 7),
        (-7, -7),
    ],
)
def test_round_minor_worked_values(value: Fraction, rounded: int) -> None:
    assert round_minor(value) == rounded


@given(fractions)
def test_round_minor_is_within_half_a_unit(value: Fraction) -> None:
    assert abs(round_minor(value) - value) <= Fraction(1, 2)


@given(fractions)
def test_round_minor_is_symmetric(value: Fraction) -> None:
    assert round_minor(-value) == -round_minor(value)


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_round_minor_keeps_whole_units_and_sends_halves_away_from_zero(whole: int) -> None:
    assert round_minor(Fraction(whole)) == whole
    half = Fraction(1, 2) if whole >= 0 else Fraction(-1, 2)
    assert round_minor(whole + half) == whole + (1 if whole >= 0 else -1)


@given(fractions, fractions)
def test_round_minor_is_monotonic(a: Fraction, b: Fraction) -> None:
    low, high = sorted((a, b))
    assert round_minor(low) <= round_minor(high)


@pytest.mark.parametrize(("minor", "text"), [(1234, "12.34"), (-5, "-0.05"), (0, "0.00"), (100, "1.00")])
def test_decimal_text(minor: int, text: str) -> None:
    assert decimal_text(minor) == text


@given(st.integers(min_value=-(10**9), max_value=10**9))
def test_decimal_text_parses_back(minor: int) -> None:
    assert parse_amount(decimal_text(minor), field="amount", allow_negative=True) == minor


@pytest.mark.parametrize("text", ["", "abc", "1.234", "-3", "1e3"])
def test_parse_amount_refuses_naming_the_field(text: str) -> None:
    with pytest.raises(DomainError) as refused:
        parse_amount(text, field="amount")
    assert refused.value.field == "amount"


# Money typed by people: one strict rule (issue 15, item 9) ------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "minor"),
    [
        ("12", 1200),
        (" 12 ", 1200),  # spaces around are trimmed
        ("\u300012\u3000", 1200),  # so is the ideographic space of a Chinese keyboard
        ("１２０", 12000),  # full-width digits read as digits
        ("１２．５", 1250),  # and the full-width point as a point
        ("1.20", 120),
        ("1.2", 120),
        ("0.05", 5),
        ("1,200.50", 120050),  # a comma between groups of three is a thousands separator
        ("1,200", 120000),
        ("12,345,678.90", 1234567890),
        ("１，２００", 120000),
    ],
)
def test_an_amount_as_people_type_it(typed: str, minor: int) -> None:
    assert parse_amount(typed, field="amount") == minor


@pytest.mark.parametrize(
    ("typed", "words"),
    [
        ("1,20", "Use a point for decimals"),  # never 120.00
        ("1.200,50", "Use a point for decimals"),  # a comma for decimals, whatever came before
        ("1,2", "Use a point for decimals"),
        ("12,3456", "Use a point for decimals"),
        ("1,20.00", "Use a point for decimals"),
        (",5", "Use a point for decimals"),
        ("12.345", "two decimals"),  # a thousands point is read as three decimals: refused
        ("1.234", "two decimals"),
        ("1.2.3", "Enter an amount such as 20.00."),
        ("1 200", "Enter an amount such as 20.00."),
        ("12.", "Enter an amount such as 20.00."),
        (".5", "Enter an amount such as 20.00."),
        ("1e3", "Enter an amount such as 20.00."),
        ("+5", "Enter an amount such as 20.00."),
        ("", "Enter an amount such as 20.00."),
        ("abc", "Enter an amount such as 20.00."),
        ("1234567890", "Enter an amount such as 20.00."),
        ("12。5", "Enter an amount such as 20.00."),  # the ideographic full stop is not a decimal point
        ("-3", "zero or more"),
    ],
)
def test_an_ambiguous_or_malformed_amount_is_refused_naming_the_field(typed: str, words: str) -> None:
    with pytest.raises(DomainError) as refused:
        parse_amount(typed, field="pieces[2].rate")
    assert refused.value.field == "pieces[2].rate"
    assert words in refused.value.message


@pytest.mark.parametrize(("typed", "minor"), [("-3", -300), ("-1,200.50", -120050), ("－５", -500)])
def test_a_negative_amount_only_where_the_field_takes_one(typed: str, minor: int) -> None:
    assert parse_amount(typed, field="amount", allow_negative=True) == minor
    with pytest.raises(DomainError):
        parse_amount(typed, field="amount")


@pytest.mark.parametrize("locale", LOCALES)
def test_every_language_we_speak_writes_amounts_as_the_parser_reads_them(locale: str) -> None:
    """The parser's point and comma are those of every supported locale; a language that writes 1,20 for
    one yuan twenty must not be added without teaching the parser (and its messages) first."""
    babel_locale = locale.replace("-", "_")
    assert get_decimal_symbol(babel_locale) == DECIMAL_POINT
    assert get_group_symbol(babel_locale) == THOUSANDS_SEPARATOR
