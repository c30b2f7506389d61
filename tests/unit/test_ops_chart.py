"""The ops chart: an accessible SVG whose numbers match the table beside it."""

from __future__ import annotations

from backend.core.charts import Chart, Series, number_text, render_chart


def _chart() -> Chart:
    return Chart(
        title="Agents <call>",
        labels=["09:00", "09:30", "10:00"],
        series=[
            Series(name="Required", values=[4, 8, None], style="bar", css="required"),
            Series(name="Reforecast", values=[None, 6.5, 7], style="line", css="reforecast"),
        ],
        unit="agents",
    )


def test_svg_is_titled_escaped_and_draws_one_bar_per_value() -> None:
    svg = render_chart(_chart())
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
    assert 'role="img"' in svg
    assert "<title>Agents &lt;call&gt;</title>" in svg
    assert "<call>" not in svg
    assert svg.count("<rect x=") - 2 == 2  # two bars (the third value is missing) plus two legend keys
    assert "09:30 Required: 8</title>" in svg
    assert svg.count("<polyline") == 1  # the line starts where the reforecast starts


def test_bar_heights_follow_the_axis_scale() -> None:
    svg = render_chart(_chart(), width=720, height=220)
    # peak 8 -> axis top 8 with step 2; plot height 220 - 20 - 38 = 162, so the 4-agent bar is 81 high
    assert 'height="81"><title>09:00 Required: 4</title>' in svg
    assert 'height="162"><title>09:30 Required: 8</title>' in svg


def test_same_data_draws_the_same_bytes() -> None:
    assert render_chart(_chart()) == render_chart(_chart())


def test_table_rows_carry_the_same_numbers() -> None:
    assert _chart().rows() == [("09:00", ["4", "\u2013"]), ("09:30", ["8", "6.5"]), ("10:00", ["\u2013", "7"])]
    assert number_text(1.256) == "1.26"


def test_empty_chart_still_draws() -> None:
    svg = render_chart(Chart(title="Nothing", labels=[], series=[]))
    assert "<title>Nothing</title>" in svg
