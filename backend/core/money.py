"""Money: integer minor units with an ISO currency code, and the one rounding rule.

Amounts are never floats. Rates are whole minor units (a call pays 50 = 0.50
CNY); what is not whole (half-hours times an hourly base, a percentage bonus,
withholding) is computed exactly as a ``Fraction`` and rounded once, on the
settlement line it lands on, by ``round_minor``: to the nearest minor unit,
halves away from zero (0.5 fen → 1 fen, -0.5 → -1). Totals are sums of
rounded lines, so a statement always adds up to the cent.
"""

from __future__ import annotations

import re
from fractions import Fraction

from backend.core.errors import DomainError
from backend.core.i18n import gettext as _

MINOR_PER_MAJOR = 100  # the currencies Weft pays in (CNY, USD, EUR, ...) have two decimals
AMOUNT = re.compile(r"^-?\d{1,9}(\.\d{1,2})?$")


def round_minor(amount: Fraction | int) -> int:
    """The rounding rule: nearest minor unit, halves away from zero."""
    value = Fraction(amount)
    magnitude = abs(value)
    whole = int(magnitude)
    if magnitude - whole >= Fraction(1, 2):
        whole += 1
    return whole if value >= 0 else -whole


def decimal_text(minor: int) -> str:
    """Minor units as a fixed two-decimal string ("1234" → "12.34", "-5" → "-0.05"): exports and APIs."""
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(minor), MINOR_PER_MAJOR)
    return f"{sign}{whole}.{cents:02d}"


def format_money(minor: int | None, currency: str) -> str:
    """An amount for people: ``CNY 1,234.50`` from the integer, never through a float; "—" for no amount."""
    if minor is None:
        return "—"
    text = decimal_text(minor)
    sign = "-" if text.startswith("-") else ""
    whole, _dot, cents = text.lstrip("-").partition(".")
    return f"{currency} {sign}{int(whole):,}.{cents}"


def parse_amount(text: str, *, field: str, allow_negative: bool = False) -> int:
    """An amount as typed ("20", "20.5", "-3.10") in minor units; two decimal places at most."""
    cleaned = text.strip().replace(",", "")
    if not AMOUNT.match(cleaned) or (cleaned.startswith("-") and not allow_negative):
        raise DomainError(_("Enter an amount such as 20.00."), field=field)
    negative = cleaned.startswith("-")
    whole, _dot, cents = cleaned.lstrip("-").partition(".")
    minor = int(whole) * MINOR_PER_MAJOR + int((cents + "00")[:2])
    return -minor if negative else minor
