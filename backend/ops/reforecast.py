"""The intraday reforecast: the rest of today's forecast scaled by how the day has run so far. Pure.

The standard ratio method: over the half-hours of today that have actual volumes, ratio = Σ actual / Σ forecast.
One busy half-hour should not swing the whole afternoon, so the ratio is damped towards 1,
``r' = 1 + damping · (ratio - 1)``, and bounded to ``[low, high]``; the rest of the day's forecast is multiplied
by ``r'``. With fewer than ``min_slots`` actual half-hours, or a forecast of nothing for them, the day is not
reforecast (factor 1, ``applied`` False). ``formula`` says all this with the day's numbers, for the board.
"""

from __future__ import annotations

import msgspec

from backend.core.i18n import gettext as _
from backend.core.i18n import ngettext


class Reforecast(msgspec.Struct, frozen=True, kw_only=True):
    """The ratio so far, as damped and bounded, and the factor applied to the rest of the day."""

    slots_used: int
    actual_total: float
    forecast_total: float
    ratio: float | None  # None: nothing to compare yet
    damped: float | None
    factor: float  # what the rest of the day's forecast is multiplied by (1.0 when not applied)
    applied: bool
    formula: str

    def scale(self, forecast: float) -> float:
        return forecast * self.factor


def _number(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def reforecast(
    forecast: list[float],
    actual: list[float | None],
    *,
    damping: float,
    low: float,
    high: float,
    min_slots: int = 1,
) -> Reforecast:
    """Compare the half-hours that have actuals (``actual[i]`` not None) with their forecast, slot by slot."""
    pairs = [(f, a) for f, a in zip(forecast, actual, strict=False) if a is not None]
    used = len(pairs)
    actual_total = sum(a for _f, a in pairs)
    forecast_total = sum(f for f, _a in pairs)
    so_far = ngettext(
        "%(num)d half-hour: %(actual)s actual / %(forecast)s forecast",
        "%(num)d half-hours: %(actual)s actual / %(forecast)s forecast",
        used,
        actual=_number(actual_total),
        forecast=_number(forecast_total),
    )
    if used < min_slots:
        formula = _("%(so_far)s; at least %(least)d needed before reforecasting.", so_far=so_far, least=min_slots)
        return Reforecast(
            slots_used=used,
            actual_total=actual_total,
            forecast_total=forecast_total,
            ratio=None,
            damped=None,
            factor=1.0,
            applied=False,
            formula=formula,
        )
    if forecast_total <= 0:
        formula = _("%(so_far)s; nothing was forecast, so there is no ratio.", so_far=so_far)
        return Reforecast(
            slots_used=used,
            actual_total=actual_total,
            forecast_total=forecast_total,
            ratio=None,
            damped=None,
            factor=1.0,
            applied=False,
            formula=formula,
        )
    ratio = actual_total / forecast_total
    damped = 1 + damping * (ratio - 1)
    factor = min(high, max(low, damped))
    formula = _(
        "%(so_far)s = %(ratio)s; damped %(damping)s → %(damped)s; bounded %(low)s–%(high)s → %(factor)s",  # noqa: RUF001
        so_far=so_far,
        ratio=f"{ratio:.2f}",
        damping=f"{damping:g}",
        damped=f"{damped:.2f}",
        low=f"{low:.1f}",
        high=f"{high:.1f}",
        factor=f"{factor:.2f}",
    )
    return Reforecast(
        slots_used=used,
        actual_total=actual_total,
        forecast_total=forecast_total,
        ratio=ratio,
        damped=damped,
        factor=factor,
        applied=True,
        formula=formula,
    )
