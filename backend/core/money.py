"""Money: integer minor units with an ISO currency code, and the one rounding rule.

Amounts are never floats. Rates are whole minor units (a call pays 50 = 0.50
CNY); what is not whole (half-hours times an hourly base, a percentage bonus,
withholding) is computed exactly as a ``Fraction`` and rounded once, on the
settlement line it lands on, by ``round_minor``: to the nearest minor unit,
halves away from zero (0.5 fen → 1 fen, -0.5 → -1). Totals are sums of
rounded lines, so a statement always adds up to the cent.

Amounts typed by people (adjustments, rate cards, site pay settings) are read by ``parse_amount`` and nothing
else, under one strict rule: a misread amount is refused, never guessed. Both languages Weft speaks (en,
zh-Hans) write a point for decimals and a comma between thousands, so "1,20" is refused (it is 1.20 to
half the world and 120 to the other half) rather than booked as 120.00.
"""

from __future__ import annotations

import re
import unicodedata
from fractions import Fraction

from backend.core.errors import DomainError
from backend.core.i18n import gettext as _

MINOR_PER_MAJOR = 100  # the currencies Weft pays in (CNY, USD, EUR, ...) have two decimals
DECIMAL_POINT = "."  # as every supported locale writes it (a unit test checks them against CLDR)
THOUSANDS_SEPARATOR = ","
MAX_WHOLE_DIGITS = 9
# ASCII digits only (``\d`` would take any script's digits): "1200", or "1,200" in exact groups of three.
AMOUNT = re.compile(r"^(?P<sign>-?)(?P<whole>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.(?P<cents>[0-9]+))?$")


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
    """An amount as a person typed it, in minor units; refused (422 naming ``field``) unless it can mean one
    thing only.

    The rule: full-width digits, point and minus read as their ASCII selves (NFKC) and spaces around are
    trimmed; then digits with an optional point and at most two decimals ("20", "20.5", "1,200.50"). A comma
    is taken only between exact groups of three before the point; any other comma ("1,20", "1.200,50") is
    refused and asks for a point. A minus only where the field takes one (``allow_negative``).
    """
    cleaned = unicodedata.normalize("NFKC", text).strip()
    found = AMOUNT.match(cleaned)
    if found is None:
        if THOUSANDS_SEPARATOR in cleaned:
            message = _("Use a point for decimals (1.20) and commas only between thousands (1,200.50).")
            raise DomainError(message, field=field)
        raise DomainError(_("Enter an amount such as 20.00."), field=field)
    whole = found["whole"].replace(THOUSANDS_SEPARATOR, "")
    cents = found["cents"]
    if cents is not None and len(cents) > 2:
        raise DomainError(_("Enter at most two decimals, such as 12.34."), field=field)
    if len(whole) > MAX_WHOLE_DIGITS:
        raise DomainError(_("Enter an amount such as 20.00."), field=field)
    if found["sign"] and not allow_negative:
        raise DomainError(_("Enter an amount of zero or more, such as 20.00."), field=field)
    minor = int(whole) * MINOR_PER_MAJOR + int(((cents or "") + "00")[:2])
    return -minor if found["sign"] else minor
