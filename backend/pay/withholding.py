"""Withholding: what a site keeps back from an agent's gross pay for the tax authority. Pure functions.

A site chooses one policy (``SiteSettings.withholding_policy``):

``none``
    Nothing is withheld; the agent settles their own tax.

``cn_labour`` — China, individual income tax pre-withholding on labour remuneration (劳务报酬所得 预扣预缴)
    Source: State Taxation Administration announcement 2018 No. 61 (《个人所得税扣缴申报管理办法(试行)》,
    article 8) and its schedule 2 (个人所得税预扣率表二), read with the Individual Income Tax Law implementing
    regulations, article 14 (劳务报酬所得 "属于同一项目连续性收入的, 以一个月内取得的收入为一次").

    For one payment P (CNY): taxable income is P - 800 when P ≤ 4,000, else P x 80%; the tax is
    taxable x rate - quick deduction, with 20% / 0 for taxable income up to 20,000, 30% / 2,000 up to
    50,000 and 40% / 7,000 above; never below 0. Continuous income from one payer within a calendar month
    counts as one payment: a weekly period withholds the tax on the month's running total (this period's
    gross plus what the month already paid) minus what the month already withheld, never below 0.
    Worked examples: 3,000 → 440.00; 4,000 → 640.00; 5,000 → 800.00; 30,000 → 5,200.00; 70,000 → 15,400.00;
    four weekly periods of 1,500 → 140.00, 300.00, 280.00, 240.00 (960.00 = the tax on 6,000).

``us_backup`` — United States backup withholding
    Source: 26 U.S.C. § 3406(a)(1) (a payee who has not furnished a TIN) at the fourth-lowest rate of
    § 1(c), 24% since 2018 (IRS Publication 1281, Form W-9 instructions). 24% of gross when no taxpayer id is
    on file for the agent, else nothing.

    Reporting, not withholding: payments for services of at least the year's threshold go on a Form 1099-NEC
    (26 U.S.C. § 6041(a)): USD 600 for payments through 2025; USD 2,000 for payments from 2026 (Public Law
    119-21, 2025, § 70433, amending § 6041(a)). ``us_1099_threshold_minor`` gives it per year.

Amounts are integer minor units; everything in between is an exact ``Fraction``, rounded once at the end
by ``core.money.round_minor`` (nearest fen or cent, halves away from zero).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Literal

from backend.core.money import MINOR_PER_MAJOR, round_minor

Policy = Literal["none", "cn_labour", "us_backup"]
POLICIES: tuple[Policy, ...] = ("none", "cn_labour", "us_backup")

# China, labour remuneration (CNY, in minor units): the expense deduction and the pre-withholding rate table.
CN_LOW_INCOME_LIMIT = 4_000 * MINOR_PER_MAJOR  # at most this: deduct a flat 800; above it: deduct 20%
CN_FLAT_DEDUCTION = 800 * MINOR_PER_MAJOR
CN_SHARE_TAXED_ABOVE_LIMIT = Fraction(80, 100)
# (taxable income up to, rate, quick deduction); the last band has no upper limit.
CN_BANDS: tuple[tuple[int | None, Fraction, int], ...] = (
    (20_000 * MINOR_PER_MAJOR, Fraction(20, 100), 0),
    (50_000 * MINOR_PER_MAJOR, Fraction(30, 100), 2_000 * MINOR_PER_MAJOR),
    (None, Fraction(40, 100), 7_000 * MINOR_PER_MAJOR),
)

US_BACKUP_RATE = Fraction(24, 100)
US_1099_THRESHOLD_THROUGH_2025 = 600 * MINOR_PER_MAJOR
US_1099_THRESHOLD_FROM_2026 = 2_000 * MINOR_PER_MAJOR


def cn_labour_tax(payment_minor: int) -> Fraction:
    """The exact (unrounded) pre-withholding tax on one labour-remuneration payment, in minor units."""
    if payment_minor <= 0:
        return Fraction(0)
    if payment_minor <= CN_LOW_INCOME_LIMIT:
        taxable = Fraction(max(payment_minor - CN_FLAT_DEDUCTION, 0))
    else:
        taxable = payment_minor * CN_SHARE_TAXED_ABOVE_LIMIT
    for up_to, rate, quick_deduction in CN_BANDS:
        if up_to is None or taxable <= up_to:
            return max(taxable * rate - quick_deduction, Fraction(0))
    raise AssertionError("the last band has no upper limit")  # pragma: no cover


def withhold(
    policy: str,
    *,
    gross_minor: int,
    month_gross_before_minor: int,
    month_withheld_before_minor: int,
    taxpayer_id_on_file: bool,
) -> int:
    """The amount to withhold from this period's gross (never negative).

    ``month_gross_before_minor`` and ``month_withheld_before_minor`` are what earlier settled periods of the
    same calendar month paid and withheld (only ``cn_labour`` reads them); ``taxpayer_id_on_file`` only
    ``us_backup`` reads.
    """
    if policy == "none":
        return 0
    if policy == "cn_labour":
        month_total = month_gross_before_minor + gross_minor
        return max(round_minor(cn_labour_tax(month_total) - month_withheld_before_minor), 0)
    if policy == "us_backup":
        if taxpayer_id_on_file or gross_minor <= 0:
            return 0
        return round_minor(gross_minor * US_BACKUP_RATE)
    raise ValueError(f"unknown withholding policy: {policy!r}")


def us_1099_threshold_minor(year: int) -> int:
    """The Form 1099-NEC reporting threshold for payments made in ``year``, in US cents."""
    return US_1099_THRESHOLD_THROUGH_2025 if year <= 2025 else US_1099_THRESHOLD_FROM_2026


def us_1099_reportable(*, year: int, paid_in_year_minor: int) -> bool:
    """Whether an agent's payments for services in ``year`` reach the 1099-NEC reporting threshold."""
    return paid_in_year_minor >= us_1099_threshold_minor(year)
