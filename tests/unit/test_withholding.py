"""Withholding worked examples: none, China's labour-remuneration pre-withholding, US backup withholding, 1099-NEC."""

from __future__ import annotations

from fractions import Fraction

import pytest

from backend.core.money import round_minor
from backend.pay.withholding import cn_labour_tax, us_1099_reportable, us_1099_threshold_minor, withhold


def yuan(amount: str) -> int:
    whole, _dot, cents = amount.replace(",", "").partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


def one_payment(policy: str, gross: int, *, on_file: bool = False) -> int:
    return withhold(
        policy,
        gross_minor=gross,
        month_gross_before_minor=0,
        month_withheld_before_minor=0,
        taxpayer_id_on_file=on_file,
    )


@pytest.mark.parametrize("gross", [0, 1, yuan("3,000"), yuan("1,000,000")])
def test_none_withholds_nothing(gross: int) -> None:
    assert one_payment("none", gross) == 0
    assert one_payment("none", gross, on_file=True) == 0


@pytest.mark.parametrize(
    ("payment", "tax"),
    [
        ("3,000", "440.00"),  # (3000 - 800) x 20%
        ("4,000", "640.00"),  # (4000 - 800) x 20%: at most 4,000 still deducts 800
        ("5,000", "800.00"),  # 5000 x 80% x 20%
        ("30,000", "5,200.00"),  # 24000 x 30% - 2000
        ("70,000", "15,400.00"),  # 56000 x 40% - 7000
        ("800", "0.00"),  # nothing taxable
        ("500", "0.00"),  # never below 0
        ("25,000", "4,000.00"),  # taxable 20,000: the top of the 20% band
        ("62,500", "13,000.00"),  # taxable 50,000: the top of the 30% band (15,000 - 2,000)
    ],
)
def test_china_labour_remuneration_single_payments(payment: str, tax: str) -> None:
    assert one_payment("cn_labour", yuan(payment)) == yuan(tax)


def test_china_a_month_of_weekly_periods_is_one_payment() -> None:
    """Four weekly periods of 1,500 in one month: each withholds the tax on the running total minus what the
    month already withheld, so the month withholds exactly the tax on 6,000."""
    withheld: list[int] = []
    paid = 0
    for _week in range(4):
        amount = withhold(
            "cn_labour",
            gross_minor=yuan("1,500"),
            month_gross_before_minor=paid,
            month_withheld_before_minor=sum(withheld),
            taxpayer_id_on_file=False,
        )
        withheld.append(amount)
        paid += yuan("1,500")
    assert withheld == [yuan("140"), yuan("300"), yuan("280"), yuan("240")]
    assert sum(withheld) == yuan("960") == one_payment("cn_labour", yuan("6,000"))


def test_china_month_crossing_into_a_higher_band() -> None:
    """Two periods of 15,000 (the second pushes the month into the 30% band) withhold the tax on 30,000."""
    first = withhold(
        "cn_labour",
        gross_minor=yuan("15,000"),
        month_gross_before_minor=0,
        month_withheld_before_minor=0,
        taxpayer_id_on_file=False,
    )
    assert first == yuan("2,400")  # 15000 x 80% x 20%
    second = withhold(
        "cn_labour",
        gross_minor=yuan("15,000"),
        month_gross_before_minor=yuan("15,000"),
        month_withheld_before_minor=first,
        taxpayer_id_on_file=False,
    )
    assert second == yuan("2,800")
    assert first + second == yuan("5,200")


def test_china_never_gives_back_what_was_withheld() -> None:
    """A negative period (a correction) lowers the running total, but withholding never goes below 0."""
    assert (
        withhold(
            "cn_labour",
            gross_minor=-yuan("500"),
            month_gross_before_minor=yuan("3,000"),
            month_withheld_before_minor=yuan("440"),
            taxpayer_id_on_file=False,
        )
        == 0
    )


def test_china_is_rounded_once_to_the_nearest_fen() -> None:
    # 4,000.01 x 80% x 20% = 640.0016 -> 640.00; 4,000.04 -> 640.0064 -> 640.01; 3,000.03 -> 440.006 -> 440.01
    assert one_payment("cn_labour", 400_001) == 64_000
    assert one_payment("cn_labour", 400_004) == 64_001
    assert one_payment("cn_labour", 300_003) == 44_001
    # 30% band: 30,000.01 x 80% x 30% - 2,000 = 5,200.0024 -> 5,200.00; 30,000.03 -> 5,200.0072 -> 5,200.01
    assert one_payment("cn_labour", 3_000_001) == 520_000
    assert one_payment("cn_labour", 3_000_003) == 520_001


def test_us_backup_withholding_only_without_a_taxpayer_id() -> None:
    assert one_payment("us_backup", yuan("1,000")) == yuan("240")
    assert one_payment("us_backup", yuan("1,000"), on_file=True) == 0
    assert one_payment("us_backup", 0) == 0
    assert one_payment("us_backup", -yuan("10")) == 0
    # It reads neither the month's running total nor what was withheld before.
    assert withhold(
        "us_backup",
        gross_minor=yuan("100"),
        month_gross_before_minor=yuan("5,000"),
        month_withheld_before_minor=yuan("1,200"),
        taxpayer_id_on_file=False,
    ) == yuan("24")


def test_us_backup_is_rounded_to_the_nearest_cent() -> None:
    # 24% of 0.02 = 0.0048 -> 0.00; of 0.23 = 0.0552 -> 0.06; of 123.45 = 29.628 -> 29.63; of 10.01 = 2.4024 -> 2.40
    assert one_payment("us_backup", 2) == 0
    assert one_payment("us_backup", 23) == 6
    assert one_payment("us_backup", 12_345) == 2_963
    assert one_payment("us_backup", 1_001) == 240


def test_a_half_fen_rounds_away_from_zero_and_these_rates_never_make_one_twice() -> None:
    """The one rounding rule takes an exact half fen up. 20%, 24%, 30%, 40% of whole fen (and 80% of them) never
    land exactly on a half, so withholding is the exact tax rounded once: checked over every amount up to 100."""
    assert round_minor(Fraction(44_001, 1) - Fraction(1, 2)) == 44_001  # 44,000.5 fen -> 44,001
    assert round_minor(Fraction(-1, 2)) == -1
    for gross in range(0, 10_001):
        exact_cn = cn_labour_tax(gross + yuan("5,000"))
        assert exact_cn - int(exact_cn) != Fraction(1, 2)
        assert one_payment("cn_labour", gross + yuan("5,000")) == round_minor(exact_cn)
        assert one_payment("us_backup", gross) == round_minor(gross * Fraction(24, 100))


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown withholding policy"):
        one_payment("flat_tax", 100)


def test_1099_nec_threshold_by_year() -> None:
    assert us_1099_threshold_minor(2024) == 60_000
    assert us_1099_threshold_minor(2025) == 60_000
    assert us_1099_threshold_minor(2026) == 200_000
    assert us_1099_threshold_minor(2030) == 200_000
    assert us_1099_reportable(year=2025, paid_in_year_minor=60_000)
    assert not us_1099_reportable(year=2025, paid_in_year_minor=59_999)
    assert not us_1099_reportable(year=2026, paid_in_year_minor=150_000)
    assert us_1099_reportable(year=2026, paid_in_year_minor=200_000)
