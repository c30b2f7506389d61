"""Server-drawn SVG charts for the staff dashboards (ops, requests), each paired with a table of the same numbers.

A chart is plain data (`Chart` of `Series`); `render_chart` draws it without any JavaScript, so it works under
the CSP and on a slow tablet, and draws the same bytes for the same data (the board's fragments compare them).
Colours come from CSS classes (`chart-<css>`) with a fallback palette as presentation attributes, so a chart is
readable even before the stylesheet loads. The template partial `ops/_chart.html` shows the SVG and a `<table>`
with the same numbers beside it, which is what a screen reader reads (the SVG itself carries a title and a
one-line description).
"""

from __future__ import annotations

import math
import re
from typing import Literal

import msgspec
from markupsafe import Markup, escape

from backend.core.i18n import gettext as _

_PALETTE = ("#0f5c4d", "#7a9a01", "#c26a00", "#3b5ba5", "#a4161a", "#6b4c9a")
_CSS_SAFE = re.compile(r"[^a-z0-9-]")
_LEFT = 44  # room for the y-axis numbers
_RIGHT = 8
_TOP = 20  # room for the unit above the y-axis
_BOTTOM = 38  # room for the x-axis labels and the legend
_LABEL_EVERY_PX = 44  # at most one x-axis label per this many pixels


class Series(msgspec.Struct, frozen=True):
    name: str
    values: list[float | None]
    style: Literal["bar", "line", "step"]
    css: str


class Chart(msgspec.Struct, frozen=True):
    title: str
    labels: list[str]
    series: list[Series]
    unit: str = ""

    def svg(self) -> Markup:
        """The chart drawn at its default size (templates call `chart.svg()`)."""
        return render_chart(self)

    def rows(self) -> list[tuple[str, list[str]]]:
        """The table beside the chart: one row per label, one cell per series."""
        return [
            (label, [number_text(s.values[i] if i < len(s.values) else None) for s in self.series])
            for i, label in enumerate(self.labels)
        ]


def number_text(value: float | None) -> str:
    """How a chart value reads in its table and tooltips: whole numbers bare, others to two places, none as a dash."""
    if value is None:
        return "\u2013"  # an en dash
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _nice_top(peak: float) -> tuple[float, float]:
    """The axis top and tick step: 1, 2 or 5 times a power of ten, about four ticks."""
    if peak <= 0:
        return 1.0, 1.0
    raw = peak / 4
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if step < 1 and peak >= 1:
        step = 1.0
    return step * math.ceil(peak / step), step


def _fmt(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def _css(series: Series) -> str:
    return _CSS_SAFE.sub("-", series.css.lower()) or "series"


def render_chart(chart: Chart, *, width: int = 720, height: int = 220) -> Markup:
    """An accessible SVG: bars side by side per label, lines and steps over them, gaps where a value is None."""
    count = len(chart.labels)
    values = [v for s in chart.series for v in s.values if v is not None]
    top, step = _nice_top(max(values, default=0.0))
    plot_w = width - _LEFT - _RIGHT
    plot_h = height - _TOP - _BOTTOM
    band = plot_w / count if count else plot_w

    def y_of(v: float) -> float:
        return _TOP + plot_h - (max(v, 0.0) / top) * plot_h

    title = escape(chart.title)
    names = ", ".join(s.name for s in chart.series)
    desc = escape(
        _("%(names)s over %(count)s periods; the table beside the chart has every value.", names=names, count=count)
    )
    out: list[str] = [
        f'<svg class="ops-chart-svg" viewBox="0 0 {width} {height}" role="img" aria-label="{title}" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">',
        f"<title>{title}</title><desc>{desc}</desc>",
    ]
    tick = 0.0
    while tick <= top + 1e-9:
        y = _fmt(y_of(tick))
        out.append(f'<line class="chart-grid" x1="{_LEFT}" x2="{width - _RIGHT}" y1="{y}" y2="{y}" stroke="#d5d9d6"/>')
        out.append(
            f'<text class="chart-axis" x="{_LEFT - 6}" y="{y}" dy="4" text-anchor="end">{number_text(tick)}</text>'
        )
        tick += step
    if chart.unit:
        out.append(f'<text class="chart-axis" x="4" y="12">{escape(chart.unit)}</text>')
    every = max(1, math.ceil(count / max(1, plot_w // _LABEL_EVERY_PX)))
    for i, label in enumerate(chart.labels):
        if i % every == 0:
            x = _fmt(_LEFT + band * (i + 0.5))
            y = height - _BOTTOM + 15
            out.append(f'<text class="chart-axis" x="{x}" y="{y}" text-anchor="middle">{escape(label)}</text>')

    bars = [s for s in chart.series if s.style == "bar"]
    bar_w = band * 0.8 / len(bars) if bars else 0.0
    for index, series in enumerate(chart.series):
        colour = _PALETTE[index % len(_PALETTE)]
        css = _css(series)
        name = escape(series.name)
        if series.style == "bar":
            out.append(f'<g class="chart-bar chart-{css}" fill="{colour}">')
            offset = bars.index(series)
            for i, v in enumerate(series.values[:count]):
                if v is None or v <= 0:
                    continue
                x = _LEFT + band * i + band * 0.1 + bar_w * offset
                y = y_of(v)
                out.append(
                    f'<rect x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt(max(bar_w - 1, 1))}" '
                    f'height="{_fmt(_TOP + plot_h - y)}"><title>{escape(chart.labels[i])} {name}: '
                    f"{number_text(v)}</title></rect>"
                )
            out.append("</g>")
            continue
        runs: list[list[str]] = [[]]
        for i, v in enumerate(series.values[:count]):
            if v is None:
                if runs[-1]:
                    runs.append([])
                continue
            y = _fmt(y_of(v))
            if series.style == "step":
                runs[-1].append(f"{_fmt(_LEFT + band * i)},{y}")
                runs[-1].append(f"{_fmt(_LEFT + band * (i + 1))},{y}")
            else:
                runs[-1].append(f"{_fmt(_LEFT + band * (i + 0.5))},{y}")
        out.append(f'<g class="chart-{series.style} chart-{css}" fill="none" stroke="{colour}" stroke-width="2">')
        out.append(f"<title>{name}</title>")
        for run in runs:
            if len(run) == 1:
                x, y = run[0].split(",")
                out.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>')
            elif run:
                out.append(f'<polyline points="{" ".join(run)}" stroke-linejoin="round"/>')
        out.append("</g>")

    legend_x = _LEFT
    for index, series in enumerate(chart.series):
        colour = _PALETTE[index % len(_PALETTE)]
        out.append(
            f'<g class="chart-legend chart-{_css(series)}" fill="{colour}" stroke="{colour}">'
            f'<rect x="{legend_x}" y="{height - 10}" width="10" height="8" stroke="none"/>'
            f'<text x="{legend_x + 14}" y="{height - 2}" stroke="none" fill="#1b1f23">{escape(series.name)}</text></g>'
        )
        legend_x += 24 + sum(7 if ord(c) < 0x2E80 else 13 for c in series.name)
    out.append("</svg>")
    return Markup("".join(out))  # every piece of text above went through escape()
