"""The intraday reforecast, on hand-computed numbers."""

from __future__ import annotations

import pytest

from backend.ops.reforecast import reforecast


def test_three_actual_half_hours_scale_the_rest_of_the_day() -> None:
    # forecast 100, 150, 200 for the first three half-hours; 120 + 180 + 240 = 540 came in against 450 expected
    forecast = [100.0, 150.0, 200.0, 200.0, 100.0]
    actual: list[float | None] = [120.0, 180.0, 240.0, None, None]
    result = reforecast(forecast, actual, damping=0.5, low=0.5, high=2.0, min_slots=2)
    assert result.applied
    assert result.slots_used == 3
    assert (result.actual_total, result.forecast_total) == (540.0, 450.0)
    assert result.ratio == pytest.approx(1.2)  # 540 / 450
    assert result.damped == pytest.approx(1.1)  # 1 + 0.5 * 0.2
    assert result.factor == pytest.approx(1.1)  # inside 0.5..2.0
    assert result.scale(200.0) == pytest.approx(220.0)
    assert result.formula == (
        "3 half-hours: 540 actual / 450 forecast = 1.20; damped 0.5 → 1.10; bounded 0.5–2.0 → 1.10"  # noqa: RUF001
    )


def test_the_damped_ratio_is_bounded() -> None:
    # 500 actual against 100 forecast: ratio 5, damped 1 + 0.5 * 4 = 3, bounded to 2
    result = reforecast([50.0, 50.0], [250.0, 250.0], damping=0.5, low=0.5, high=2.0)
    assert result.ratio == pytest.approx(5.0)
    assert result.damped == pytest.approx(3.0)
    assert result.factor == 2.0
    # a quiet day: 10 against 100, ratio 0.1, fully trusted (damping 1) then bounded up to 0.5
    quiet = reforecast([50.0, 50.0], [5.0, 5.0], damping=1.0, low=0.5, high=2.0)
    assert quiet.factor == 0.5


def test_too_few_actual_half_hours_leave_the_forecast_alone() -> None:
    result = reforecast([100.0, 100.0, 100.0], [130.0, None, None], damping=0.5, low=0.5, high=2.0, min_slots=2)
    assert not result.applied
    assert result.factor == 1.0
    assert result.ratio is None
    assert result.formula == "1 half-hour: 130 actual / 100 forecast; at least 2 needed before reforecasting."


def test_nothing_forecast_means_no_ratio() -> None:
    result = reforecast([0.0, 0.0], [4.0, 6.0], damping=0.5, low=0.5, high=2.0)
    assert not result.applied
    assert result.factor == 1.0
    assert "nothing was forecast" in result.formula
