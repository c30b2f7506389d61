"""The one rounding rule (nearest minor unit, halves away from zero) and amounts as text."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.core.errors import DomainError
from backend.core.money import decimal_text, parse_amount, round_minor

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
